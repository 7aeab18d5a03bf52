"""The cache: one training per combination, atomic entries, corrupt entries retrained, LRU cap."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import core.cache as cache
from core.config import SCHEMA_VERSION
from core.training import StopTraining, TrainingEvent


def test_a_hit_does_not_train_again(cache_dir, tiny_mlp, count_trainings):
    first = cache.get_or_train(tiny_mlp)
    second = cache.get_or_train(tiny_mlp)
    assert count_trainings == [tiny_mlp.key()]
    assert not first.cached and second.cached
    assert second.meta["test_accuracy"] == first.meta["test_accuracy"]
    names = {p.name for p in (cache_dir / tiny_mlp.key()).iterdir()}
    assert set(cache.ENTRY_FILES) <= names <= set(cache.ENTRY_FILES) | {"arrays.npz"}  # arrays: per-epoch recordings
    images = np.zeros((2, 28, 28), np.float32)
    np.testing.assert_allclose(second.model.predict_on_batch(images), first.model.predict_on_batch(images), rtol=1e-5)


def test_another_combination_trains(cache_dir, tiny_mlp, count_trainings):
    cache.get_or_train(tiny_mlp)
    cache.get_or_train(tiny_mlp.replace(units=8))
    assert len(count_trainings) == 2


def test_entry_metadata(cache_dir, tiny_mlp):
    run = cache.get_or_train(tiny_mlp)
    meta = json.loads((run.path / "meta.json").read_text())
    for name in ("test_accuracy", "val_accuracy", "train_seconds", "epochs_run", "created", "versions", "data_source", "params"):
        assert name in meta
    assert meta["schema"] == SCHEMA_VERSION and meta["epochs_run"] == 2 and 0.0 <= meta["test_accuracy"] <= 1.0
    history = json.loads((run.path / "history.json").read_text())
    assert len(history["loss"]) == len(history["val_accuracy"]) == 2


def _truncate_model(folder):
    path = folder / "model.keras"
    path.write_bytes(path.read_bytes()[:500])


CORRUPTIONS = {
    "truncated model": _truncate_model,
    "garbled model": lambda f: (f / "model.keras").write_bytes(os.urandom(2000)),
    "bad meta json": lambda f: (f / "meta.json").write_text("{not json"),
    "bad history json": lambda f: (f / "history.json").write_text("[1, 2"),
    "history not a mapping": lambda f: (f / "history.json").write_text("[1, 2]"),
    "missing model": lambda f: (f / "model.keras").unlink(),
    "missing config": lambda f: (f / "config.json").unlink(),
    "missing meta": lambda f: (f / "meta.json").unlink(),
    "wrong schema": lambda f: (f / "meta.json").write_text(json.dumps({"schema": SCHEMA_VERSION + 99})),
    "config of another key": lambda f: (f / "config.json").write_text(json.dumps({"layers": 3})),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_corrupt_entry_warns_and_retrains(cache_dir, tiny_mlp, count_trainings, corruption, caplog):
    cache.get_or_train(tiny_mlp)
    CORRUPTIONS[corruption](cache_dir / tiny_mlp.key())
    run = cache.get_or_train(tiny_mlp)
    assert len(count_trainings) == 2 and not run.cached
    assert run.notes and "corrupt" in run.notes[0]
    assert "corrupt" in caplog.text
    assert cache.load(tiny_mlp) is not None, "the retrained entry is valid"
    assert any((cache_dir / ".corrupt").iterdir()), "the bad entry is kept aside, not silently overwritten"


def test_listing_skips_half_written_entries(cache_dir, tiny_mlp):
    cache.get_or_train(tiny_mlp)
    (cache_dir / ".tmp-0123456789abcdef-deadbeef").mkdir()  # what a kill -9 mid-save leaves
    partial = cache_dir / "0123456789abcdef"
    partial.mkdir()
    (partial / "model.keras").write_bytes(b"half")
    assert [run.key for run in cache.list_runs()] == [tiny_mlp.key()]


def test_list_runs_gives_typed_summaries_newest_first(cache_dir, tiny_mlp):
    older = cache.get_or_train(tiny_mlp)
    meta_file = cache_dir / tiny_mlp.key() / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta["created"] = "2000-01-01T00:00:00+00:00"  # written long ago
    meta_file.write_text(json.dumps(meta))
    newer_config = tiny_mlp.replace(units=8)
    cache.get_or_train(newer_config)

    summaries = cache.list_runs()
    assert [s.key for s in summaries] == [newer_config.key(), tiny_mlp.key()]
    summary = summaries[1]
    assert isinstance(summary, cache.RunSummary)
    assert summary.config == tiny_mlp and summary.description == tiny_mlp.describe()
    assert summary.test_accuracy == older.meta["test_accuracy"] and 0.0 <= summary.val_accuracy <= 1.0
    assert summary.epochs_run == 2 and summary.params == older.meta["params"] and summary.size_mb > 0
    assert summary.last_used.tzinfo is not None
    with pytest.raises(AttributeError):
        summary.key = "changed"  # frozen
    row = summary.as_row()
    assert row["units"] == 16 and row["key"] == tiny_mlp.key() and row["created"] == "2000-01-01T00:00:00+00:00"


def test_save_is_all_or_nothing(cache_dir, tiny_mlp, monkeypatch):
    run = cache.get_or_train(tiny_mlp.replace(seed=1))

    def failing_dump(data, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "_dump_json", failing_dump)
    run.config = tiny_mlp
    with pytest.raises(OSError):
        cache.save(run)
    assert not (cache_dir / tiny_mlp.key()).exists()
    assert not list(cache_dir.glob(".tmp-*"))


def test_a_stopped_run_is_not_cached(cache_dir, tiny_mlp):
    events: list[TrainingEvent] = []

    def stop_after_first_epoch(event):
        events.append(event)
        if event.kind == "epoch":
            raise StopTraining

    run = cache.get_or_train(tiny_mlp.replace(epochs=5), stop_after_first_epoch)
    assert run.stopped_at == 1 and run.meta["epochs_run"] == 1
    assert not cache.exists(tiny_mlp.replace(epochs=5))
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and "batch" in kinds and kinds[-1] == "end"


def test_listener_sees_epoch_metrics(cache_dir, tiny_mlp):
    epochs = []
    cache.get_or_train(tiny_mlp, lambda e: epochs.append(dict(e.metrics)) if e.kind == "epoch" else None)
    assert len(epochs) == 2
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(epochs[0])


def test_remove_and_list(cache_dir, tiny_mlp):
    cache.get_or_train(tiny_mlp)
    assert len(cache.list_runs()) == 1
    assert cache.remove(tiny_mlp.key())  # for good (eviction); people delete through core.trash
    assert not cache.remove(tiny_mlp.key())
    assert cache.list_runs() == []
    assert not (cache_dir / ".trash").exists()


def test_an_entry_folder_kept_elsewhere_is_checked_before_it_comes_back(cache_dir, tiny_mlp, tmp_path):
    import shutil

    run = cache.get_or_train(tiny_mlp)
    elsewhere = tmp_path / "kept"
    shutil.copytree(run.path, elsewhere)
    assert cache.check_entry_folder(elsewhere, tiny_mlp.key())["config"] == tiny_mlp
    with pytest.raises(cache.CorruptEntry, match="does not hash"):
        cache.check_entry_folder(elsewhere, tiny_mlp.replace(units=8).key())
    (elsewhere / "history.json").unlink()
    with pytest.raises(cache.CorruptEntry, match="missing history.json"):
        cache.check_entry_folder(elsewhere, tiny_mlp.key())


def test_eviction_honours_the_cap_least_recently_used_first(cache_dir, tiny_mlp, monkeypatch):
    configs = [tiny_mlp.replace(seed=s) for s in range(3)]
    for config in configs:
        cache.get_or_train(config)
    size = max(cache._folder_bytes(cache_dir / c.key()) for c in configs)
    old = 1_000_000_000
    for age, config in enumerate(configs):  # seed 0 oldest, seed 2 newest
        os.utime(cache_dir / config.key(), (old + age, old + age))
    cache.load(configs[0])  # a use makes seed 0 the most recently used
    monkeypatch.setenv("NEURAL_LAB_CACHE_MAX_MB", str(2.5 * size / 1024 / 1024))
    cache.get_or_train(tiny_mlp.replace(seed=9))
    remaining = set(cache.entry_keys())
    assert tiny_mlp.replace(seed=9).key() in remaining and configs[0].key() in remaining
    assert configs[1].key() not in remaining
    assert sum(cache._folder_bytes(cache_dir / k) for k in remaining) <= 2.5 * size


def test_artifacts_round_trip(cache_dir, tiny_mlp):
    run = cache.get_or_train(tiny_mlp)
    cache.store_artifact(run.key, "test_predictions", {"probabilities": np.eye(3, dtype=np.float32)})
    loaded = cache.load_artifact(run.key, "test_predictions")
    assert np.array_equal(loaded["probabilities"], np.eye(3))
    assert cache.load_artifact(run.key, "missing") is None
    with pytest.raises(ValueError):
        cache.store_artifact(run.key, "../evil", {})


@pytest.mark.parametrize("key", ["../etc", "ABCDEF0123456789", "0123", "0123456789abcdef/..", ""])
def test_keys_never_become_arbitrary_paths(key):
    with pytest.raises(ValueError):
        cache.entry_path(key)


def test_toy_runs_keep_boundary_snapshots(cache_dir):
    from core.config import RunConfig

    config = RunConfig(task="toy", dataset="xor", layers=1, units=4, epochs=3, batch_size=32)
    run = cache.get_or_train(config)
    assert run.arrays["snapshots"].shape == (3, 100, 100, 2) and list(run.arrays["snapshot_epochs"]) == [1, 2, 3]
    loaded = cache.get_or_train(config)
    assert loaded.cached and np.array_equal(loaded.arrays["snapshots"], run.arrays["snapshots"])
