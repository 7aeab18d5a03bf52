"""python -m core: JSON output, cache hits, exit 2 on bad values with nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.cli import main
from tests.helpers import REPO

TINY = ["--layers", "1", "--units", "8", "--epochs", "1", "--batch-size", "256"]


def run_cli(cache, *args):
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_train_json_then_cached(cache_dir):
    first = run_cli(cache_dir, "train", *TINY, "--json")
    assert first.returncode == 0, first.stderr[-2000:]
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert {"key", "cached", "path", "test_accuracy", "val_accuracy", "epochs_run", "train_seconds"} <= set(summary)
    assert summary["cached"] is False and summary["epochs_run"] == 1 and 0 <= summary["test_accuracy"] <= 1
    assert (cache_dir / summary["key"] / "model.keras").is_file()
    again = json.loads(run_cli(cache_dir, "train", *TINY, "--json").stdout.strip().splitlines()[-1])
    assert again["cached"] is True and again["key"] == summary["key"] and again["test_accuracy"] == summary["test_accuracy"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--layers", "9"], "layers=9"),
        (["--dropout", "abc"], "dropout"),
        (["--activation", "swish"], "activation"),
        (["--preset", "nope"], "unknown preset"),
        (["--arch", "cnn", "--layers", "6"], "layers=6"),
        (["--learning-rate", "inf"], "learning_rate"),
    ],
)
def test_bad_values_exit_2_and_write_nothing(cache_dir, capsys, args, fragment):
    assert main(["train", *args]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and fragment in error[0]
    assert not [p for p in cache_dir.iterdir() if not p.name.startswith(".")]


def test_bad_value_in_a_real_process_exits_2(cache_dir):
    result = run_cli(cache_dir, "train", "--epochs", "0")
    assert result.returncode == 2 and "epochs=0" in result.stderr


def test_pretrain_trains_missing_cells_and_skips_hits(cache_dir, capsys):
    grid = ["--grid", "layers=1,2 units=4", *TINY[4:]]
    assert main(["pretrain", "--quiet", *grid]) == 0
    first = capsys.readouterr().out
    assert first.count("False") == 2
    assert main(["pretrain", "--quiet", *grid]) == 0
    assert capsys.readouterr().out.count("True") == 2


def test_pretrain_rejects_a_bad_grid_before_training(cache_dir, capsys):
    assert main(["pretrain", "--grid", "layers=1,9"]) == 2
    assert "layers=9" in capsys.readouterr().err
    assert main(["pretrain", "--grid", "colour=red"]) == 2
    assert not [p for p in cache_dir.iterdir() if not p.name.startswith(".")]


def test_ls_and_rm(cache_dir, capsys):
    assert main(["train", "--quiet", *TINY]) == 0
    capsys.readouterr()
    assert main(["ls", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1
    key = rows[0]["key"]
    assert main(["rm", key]) == 0
    assert main(["rm", key]) == 1
    assert main(["rm", "../../etc"]) == 2
    capsys.readouterr()
    assert main(["ls"]) == 0 and "no cached models" in capsys.readouterr().out


def test_pretrain_reports_a_corrupt_entry_it_retrains(cache_dir, capsys):
    import core.cache as cache

    grid = ["--grid", "layers=1", *TINY[2:]]
    assert main(["pretrain", "--quiet", *grid]) == 0
    [key] = cache.entry_keys()
    (cache.entry_path(key) / "meta.json").write_text("{broken")
    capsys.readouterr()
    assert main(["pretrain", "--quiet", *grid]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "corrupt" in err and "trained in" in err


def test_a_full_disk_is_one_clear_line_exit_1(cache_dir, capsys, monkeypatch):
    import core.cache as cache

    def no_space(*args, **kwargs):
        raise cache.CacheWriteError("could not store the model: No space left on device; nothing was written")

    monkeypatch.setattr(cache, "save", no_space)
    assert main(["train", "--quiet", *TINY]) == 1
    assert capsys.readouterr().err.strip().splitlines() == ["error: could not store the model: No space left on device; nothing was written"]
