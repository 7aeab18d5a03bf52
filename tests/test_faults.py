"""Faults the cache must survive: kill -9 mid-training and mid-save, corrupt or unreadable entries,
a disk that fills up. After each: no half-visible entry, every visible entry loads, and the next
request for the combination trains (or loads) and succeeds.

The kill drill runs in tests/fault_worker.py, which imports TensorFlow once and forks a fresh child
per victim, so 20 real SIGKILLs fit in the test budget.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core import cache
from core.config import RunConfig

REPO = Path(__file__).resolve().parent.parent
KILL_TRIALS = 20
LANES = 2


# -- kill -9 ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(1500)  # ~1 min on an idle 2-core machine; generous for a shared one
def test_kill_minus_9_at_random_moments_never_leaves_a_half_visible_entry(cache_dir, tmp_path, output_dir):
    """20 SIGKILLs in two lanes running at once on one cache (so readers also meet the other lane's writes)."""
    seed = int.from_bytes(os.urandom(2), "little")
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir))
    lanes = [
        subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "fault_worker.py"), "kill", "--trials", str(KILL_TRIALS // LANES),
             "--seed", str(seed), "--lane", str(lane), "--out", str(tmp_path / f"kill-{lane}.json")],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for lane in range(LANES)
    ]
    for lane in lanes:
        _, err = lane.communicate(timeout=900)
        assert lane.returncode == 0, err[-3000:]
    trials = [t for lane in range(LANES) for t in json.loads((tmp_path / f"kill-{lane}.json").read_text())["trials"]]
    (output_dir / "kill-drill.json").write_text(json.dumps(trials, indent=1))
    assert len(trials) == KILL_TRIALS
    for trial in trials:
        name = f"lane {trial['lane']} trial {trial['trial']} ({trial['moment']}, seed {seed}; see test-output/kill-drill.json)"
        assert "error" not in trial and "error" not in trial["phases_seen"], f"{name}: {trial.get('error')}"
        assert trial["incomplete"] == [], f"{name}: half-visible entries {trial['incomplete']}"
        assert trial["unloadable"] == [], f"{name}: entries that do not load {trial['unloadable']}"
        assert trial["listing_consistent"], f"{name}: the listing showed something that is not a complete entry"
        assert trial["lock_free"], f"{name}: the killed process's lock was not released"
        assert trial["next_accuracy"] is not None and 0.0 <= trial["next_accuracy"] <= 1.0, name
        assert trial["next_loads_again"] and trial["next_notes"] == [], name
        # Killed before the save began -> the next request trains; after the entry moved into place -> it loads.
        # (A kill between the rename and its report may go either way: the rename is the commit point.)
        if "save" not in trial["phases_seen"]:
            assert trial["next_cached"] is False, name
        if "replaced" in trial["phases_seen"]:
            assert trial["next_cached"] is True, name
    # The drill must really have killed processes mid-training and mid-save, not only finished ones.
    killed = [t for t in trials if t["killed_by_signal"] and not t["finished_before_kill"]]
    during_save = [t for t in killed if "save" in t["phases_seen"] and "replaced" not in t["phases_seen"]]
    during_training = [t for t in killed if "start" in t["phases_seen"] and "save" not in t["phases_seen"]]
    assert len(killed) >= KILL_TRIALS // 2, f"seed {seed}"
    assert during_save, f"no kill landed inside the save (seed {seed})"
    assert during_training, f"no kill landed inside the training (seed {seed})"
    assert any("wrote meta.json" in t["phases_seen"] for t in during_save), f"no kill between the last write and the rename (seed {seed})"
    # Every combination ends up cached exactly once.
    final = sorted(p.name for p in cache_dir.iterdir() if cache.KEY_PATTERN.match(p.name))
    assert final == sorted({t["key"] for t in trials})


# -- unreadable folders (simulated: tests run as root, whom chmod 000 does not stop) ----------


class Unreadable:
    """Makes one entry folder behave like `chmod 000` does for a non-root user.

    Reading a file inside raises PermissionError; with `like_non_root_rename`, moving the folder to
    another parent raises PermissionError too (rename(2) needs write access to a directory to
    update its `..`), and rmtree cannot list it. The folder is recognised by inode, so a fresh
    entry written later at the same path is readable.
    """

    def __init__(self, folder: Path, monkeypatch, like_non_root_rename: bool = False):
        self.inode = folder.stat().st_ino
        real_json, real_replace, real_rmtree = cache._json, os.replace, shutil.rmtree

        def is_it(path) -> bool:
            try:
                return Path(path).stat().st_ino == self.inode
            except OSError:
                return False

        def json_reader(path):
            if is_it(Path(path).parent):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_json(path)

        def replace(src, dst):
            if is_it(src) and Path(dst).parent.resolve() != Path(src).parent.resolve():
                raise PermissionError(errno.EACCES, "Permission denied", str(src))
            return real_replace(src, dst)

        def rmtree(path, ignore_errors=False, **kwargs):
            if is_it(path):
                if ignore_errors:
                    return None
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_rmtree(path, ignore_errors=ignore_errors, **kwargs)

        monkeypatch.setattr(cache, "_json", json_reader)
        if like_non_root_rename:
            monkeypatch.setattr(os, "replace", replace)
            monkeypatch.setattr(shutil, "rmtree", rmtree)


@pytest.mark.parametrize("like_non_root_rename", [False, True], ids=["folder-unreadable", "folder-unreadable-and-unmovable"])
def test_an_unreadable_entry_warns_and_retrains(cache_dir, tiny_mlp, monkeypatch, like_non_root_rename):
    config = tiny_mlp.replace(epochs=1)
    first = cache.get_or_train(config)
    Unreadable(first.path, monkeypatch, like_non_root_rename)
    assert cache.list_runs() == []  # unreadable: not listed, and listing does not crash

    run = cache.get_or_train(config)

    assert not run.cached
    assert len(run.notes) == 1 and "corrupt" in run.notes[0] and "trained again" in run.notes[0]
    again = cache.load(config)
    assert again is not None and again.notes == []
    assert [run.key for run in cache.list_runs()] == [config.key()]


# -- a failing write (simulated ENOSPC) -------------------------------------------------------


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["model", "meta", "fsync"])
def test_a_full_disk_gives_a_clear_error_and_no_partial_entry(cache_dir, tiny_mlp, monkeypatch, where):
    keep = cache.get_or_train(tiny_mlp.replace(epochs=1, seed=5))  # an entry that must survive
    config = tiny_mlp.replace(epochs=1, seed=6)
    real_dump = cache._dump_json
    with monkeypatch.context() as patch:
        if where == "model":
            import keras

            patch.setattr(keras.Model, "save", _no_space)
        elif where == "meta":
            patch.setattr(cache, "_dump_json", lambda data, path: _no_space() if Path(path).name == "meta.json" else real_dump(data, path))
        else:
            patch.setattr(cache, "_fsync_tree", _no_space)
        with pytest.raises(cache.CacheWriteError) as raised:
            cache.get_or_train(config)
    message = str(raised.value)
    assert raised.value.errno == errno.ENOSPC
    assert "No space left on device" in message and config.key() in message and "nothing was written" in message
    assert not cache.exists(config) and not (cache_dir / config.key()).exists()
    assert not list(cache_dir.glob(".tmp-*"))
    assert not cache.is_training_elsewhere(config)  # the lock was released
    # The cache is still usable: the old entry loads, the failed combination trains once space is back.
    assert cache.load(keep.config) is not None
    run = cache.get_or_train(config)
    assert not run.cached and cache.load(config) is not None


# -- corruption matrix through the command line -----------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = os.urandom(min(64, len(data) - middle))
    path.write_bytes(bytes(data))


def _wrong_schema(path: Path) -> None:
    meta = json.loads(path.read_text())
    meta["schema"] = 999
    path.write_text(json.dumps(meta))


CORRUPTIONS = {
    "model.keras truncated": ("model.keras", _truncate),
    "model.keras garbled": ("model.keras", _garble),
    "meta.json garbled": ("meta.json", lambda p: p.write_bytes(os.urandom(200))),
    "meta.json wrong schema": ("meta.json", _wrong_schema),
    "config.json emptied": ("config.json", lambda p: p.write_text("")),
    "history.json deleted": ("history.json", Path.unlink),
    "arrays.npz garbled": ("arrays.npz", _garble),
}


def test_corruption_matrix_through_the_cli_warns_and_retrains(cache_dir):
    base = RunConfig(task="toy", dataset="xor", layers=1, units=4, epochs=1, batch_size=64)
    seeds = list(range(1, len(CORRUPTIONS) + 1))
    configs = [base.replace(seed=s) for s in seeds]
    for config in configs:
        assert not cache.get_or_train(config).cached
    for config, (name, (filename, corrupt)) in zip(configs, CORRUPTIONS.items(), strict=True):
        target = cache_dir / config.key() / filename
        assert target.exists(), f"{name}: the entry has no {filename}"
        corrupt(target)

    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir))
    grid = "seed=" + ",".join(map(str, seeds))
    result = subprocess.run(
        [sys.executable, "-m", "core", "sweep", "--task", "toy", "--dataset", "xor", "--layers", "1", "--units", "4",
         "--epochs", "1", "--batch-size", "64", "--grid", grid, "--json", "--quiet"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    for config, row, name in zip(configs, rows, CORRUPTIONS, strict=True):
        assert row["key"] == config.key()
        assert row["cached"] is False, f"{name}: the corrupt entry was used instead of retrained"
        assert any(config.key() in w and "corrupt" in w for w in warnings), f"{name}: no warning line for {config.key()}"
        repaired = cache.load(config)
        assert repaired is not None and repaired.notes == [], f"{name}: the retrained entry does not load cleanly"
    assert len(list((cache_dir / ".corrupt").iterdir())) == len(CORRUPTIONS)  # evidence kept aside, not deleted
