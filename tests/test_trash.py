"""core/trash.py: deleting is a move to the cache's trash, restorable, atomic, expiring."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from core import cache, trash, user_digits
from core.config import SCHEMA_VERSION, RunConfig
from tests.helpers import REPO


def fake_entry(units: int) -> str:
    """A cache entry that lists and validates like a real one (no model is loaded from it)."""
    config = RunConfig(arch="mlp", layers=1, units=units, epochs=1)
    folder = cache.entry_path(config.key())
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    (folder / "history.json").write_text(json.dumps({"loss": [1.0]}))
    (folder / "model.keras").write_bytes(os.urandom(4096))
    (folder / "meta.json").write_text(json.dumps({"schema": SCHEMA_VERSION, "description": f"fake {units}", "created": "2026-01-01T00:00:00"}))
    return config.key()


def test_a_deleted_run_is_in_the_trash_and_restores_and_loads(cache_dir, tiny_mlp):
    first = cache.get_or_train(tiny_mlp)
    key = tiny_mlp.key()
    item = trash.move_run(key)
    assert item is not None and item.kind == "run" and item.ident == key
    assert not cache.exists(key) and cache.list_runs() == []
    assert [i.name for i in trash.list_trash()] == [item.name]
    assert item.description == first.meta["description"]
    outcome = trash.restore(item.name)
    assert outcome.restored, outcome.message
    assert trash.list_trash() == []
    again = cache.load(key)
    assert again is not None and again.history == first.history
    images = np.zeros((2, 28, 28), np.float32)
    np.testing.assert_allclose(again.model.predict_on_batch(images), first.model.predict_on_batch(images), rtol=1e-5)


def test_moving_nothing_and_bad_names(cache_dir):
    assert trash.move_run("0" * 16) is None
    with pytest.raises(ValueError):
        trash.move_run("../etc")
    with pytest.raises(ValueError):
        trash.restore("../../etc")
    assert not trash.restore("run--" + "0" * 16 + "--1700000000000").restored


def test_restore_of_a_key_retrained_meanwhile_keeps_the_newer_one(cache_dir):
    key = fake_entry(8)
    item = trash.move_run(key)
    newer = fake_entry(8)  # the same configuration trained again
    (cache.entry_path(newer) / "meta.json").write_text(
        json.dumps({"schema": SCHEMA_VERSION, "description": "the newer one", "created": "2026-02-01T00:00:00"}))
    outcome = trash.restore(item.name)
    assert not outcome.restored and "newer one is kept" in outcome.message
    assert cache.read_meta(key)["description"] == "the newer one"
    assert [i.name for i in trash.list_trash()] == [item.name]  # the old copy waits until it expires


def test_restore_of_a_corrupt_trashed_run_warns_and_moves_it_to_corrupt(cache_dir):
    key = fake_entry(9)
    item = trash.move_run(key)
    (trash.trash_root() / item.name / "meta.json").write_text("{not json")
    outcome = trash.restore(item.name)
    assert not outcome.restored and ".corrupt/" in outcome.message
    assert not cache.exists(key) and trash.list_trash() == []
    assert (cache_dir / ".corrupt" / item.name).is_dir()


def test_a_full_disk_while_moving_deletes_nothing(cache_dir, monkeypatch):
    key = fake_entry(10)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(trash.os, "replace", full)
    with pytest.raises(trash.TrashError, match="nothing was deleted"):
        trash.move_run(key)
    assert cache.read_meta(key)["description"] == "fake 10"


def test_expiry_removes_only_what_is_older_than_the_limit(cache_dir, monkeypatch):
    old, recent = fake_entry(11), fake_entry(12)
    monkeypatch.setattr(trash.time, "time", lambda: 1_000_000.0)
    old_item = trash.move_run(old)
    monkeypatch.setattr(trash.time, "time", lambda: 1_000_000.0 + 20 * 3600)
    recent_item = trash.move_run(recent)
    now = 1_000_000.0 + 25 * 3600  # the first is 25 h old, the second 5 h
    assert trash.expire(now=now) == [old_item.name]
    assert [i.name for i in trash.list_trash()] == [recent_item.name]
    monkeypatch.setenv("NEURAL_LAB_TRASH_HOURS", "2")
    assert trash.expire(now=now) == [recent_item.name]


def test_the_keep_time_is_configurable_and_bad_values_fall_back(monkeypatch):
    assert trash.keep_seconds() == 24 * 3600
    monkeypatch.setenv("NEURAL_LAB_TRASH_HOURS", "0.5")
    assert trash.keep_seconds() == 1800
    for bad in ("soon", "-3", "nan"):
        monkeypatch.setenv("NEURAL_LAB_TRASH_HOURS", bad)
        assert trash.keep_seconds() == 24 * 3600


MOVER = """
import sys
from core import trash
keys = sys.argv[1:]
print("ready", flush=True)
while True:
    for key in keys:
        item = trash.move_run(key)
        trash.restore(item.name)
"""


def test_kill_9_in_the_middle_leaves_each_run_in_place_or_in_the_trash_never_half(cache_dir):
    keys = [fake_entry(units) for units in range(20, 32)]
    expected = {key: sorted(p.name for p in cache.entry_path(key).iterdir()) for key in keys}
    process = subprocess.Popen([sys.executable, "-c", MOVER, *keys], cwd=REPO, stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir)))
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # many moves and restores have happened by now
        process.kill()  # SIGKILL
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    trashed = {item.ident: item for item in trash.list_trash()}
    for key in keys:
        in_place = cache.entry_path(key).is_dir()
        assert in_place != (key in trashed), f"{key}: in place {in_place}, in the trash {key in trashed}"
        folder = cache.entry_path(key) if in_place else trash.trash_root() / trashed[key].name
        assert sorted(p.name for p in folder.iterdir()) == expected[key]
        cache.check_entry_folder(folder, key)  # whole and valid
    assert len(trashed) <= 1  # one process: at most the key it was handling
    assert len(cache.list_runs()) + len(trashed) == len(keys)


# -- drawings ---------------------------------------------------------------------------------


@pytest.fixture
def digits_folder(tmp_path, monkeypatch):
    folder = tmp_path / "digits"
    monkeypatch.setenv("NEURAL_LAB_USER_DIGITS_DIR", str(folder))
    return folder


def _save_one(owner=None):
    from core.preprocess import prepare
    from tests.test_user_digits import drawing

    raw = drawing("one")
    return user_digits.save_digit(prepare(raw), 1, raw=raw, owner=owner)


def test_a_deleted_drawing_goes_to_the_trash_and_comes_back(cache_dir, digits_folder):
    saved = _save_one(owner="abc")
    assert user_digits.delete_digit(saved.id)
    assert user_digits.list_digits() == []
    (item,) = trash.list_trash()
    assert item.kind == "digit" and item.ident == saved.id and "drawing of a 1" in item.description
    assert trash.restore(item.name).restored
    (back,) = user_digits.list_digits()
    assert back.id == saved.id and back.owner == "abc" and back.label == 1
    assert trash.list_trash() == []


def test_a_full_disk_while_trashing_a_drawing_deletes_nothing(cache_dir, digits_folder, monkeypatch):
    saved = _save_one()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(trash.shutil, "copyfile", full)
    with pytest.raises(trash.TrashError, match="nothing was deleted"):
        user_digits.delete_digit(saved.id)
    assert [d.id for d in user_digits.list_digits()] == [saved.id]
    assert not [p for p in trash.trash_root().iterdir()]


def test_a_corrupt_trashed_drawing_is_not_restored(cache_dir, digits_folder):
    saved = _save_one()
    user_digits.delete_digit(saved.id)
    (item,) = trash.list_trash()
    (trash.trash_root() / item.name / f"{saved.id}.npz").write_bytes(b"truncated")
    outcome = trash.restore(item.name)
    assert not outcome.restored and ".corrupt/" in outcome.message
    assert user_digits.list_digits() == []


def test_the_cli_moves_to_the_trash_lists_and_restores(cache_dir, capsys):
    from core import audit
    from core.cli import main

    key = fake_entry(40)
    assert main(["rm", key]) == 0 and "moved" in capsys.readouterr().out
    assert main(["rm", key]) == 1
    capsys.readouterr()
    assert main(["trash", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["id"] == key and row["kind"] == "run"
    assert main(["restore", row["name"]]) == 0 and cache.exists(key)
    assert main(["restore", "../etc"]) == 2
    assert [line["action"] for line in audit.tail(5)] == ["restore", "delete-runs"]
    assert {line["mode"] for line in audit.tail(5)} == {"cli"}
