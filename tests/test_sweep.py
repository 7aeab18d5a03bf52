"""`python -m core sweep`: the local engine trains a grid one by one; the ray engine runs the same grid
as a real Ray Tune grid search (a local Ray on 2 CPUs), and every trial lands in the shared cache that
the Runs page reads."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import cache, cli, sweep

REPO = Path(__file__).resolve().parent.parent
TINY = ["--layers", "1", "--epochs", "1", "--batch-size", "512"]


def test_local_sweep_trains_each_combination_once(cache_dir, capsys, count_trainings):
    argv = ["sweep", *TINY, "--grid", "units=4,6 seed=1,2", "--json", "--quiet"]
    assert cli.main(argv) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(rows) == 4 and len({r["key"] for r in rows}) == 4
    assert [r["cached"] for r in rows] == [False] * 4
    assert sorted(count_trainings) == sorted(r["key"] for r in rows)
    assert sorted(run.key for run in cache.list_runs()) == sorted(r["key"] for r in rows)

    assert cli.main(argv) == 0  # a second, overlapping sweep loads instead of training
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["cached"] for r in again] == [True] * 4
    assert len(count_trainings) == 4


def test_local_sweep_prints_a_table(cache_dir, capsys):
    assert cli.main(["sweep", *TINY, "--units", "3", "--grid", "seed=9", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "test acc" in out and "MLP 3" in out


def test_the_ray_engine_without_ray_says_how_to_install_it(cache_dir, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert cli.main(["sweep", *TINY, "--grid", "seed=1,2", "--engine", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install -r requirements-ray.txt" in err
    assert cache.list_runs() == []


def test_address_needs_the_ray_engine(cache_dir, capsys):
    assert cli.main(["sweep", *TINY, "--grid", "seed=1", "--address", "auto"]) == 2
    assert "--engine ray" in capsys.readouterr().err


def ray_available() -> bool:
    if importlib.util.find_spec("ray") is not None:
        return True
    if os.environ.get("CI"):
        pytest.fail("Ray is not installed in CI: pip install -r requirements-ray.txt")
    pytest.skip("Ray is not installed (pip install -r requirements-ray.txt); the ray engine test needs it")


@pytest.mark.slow
def test_ray_sweep_of_four_tiny_mlps_lands_in_the_shared_cache(cache_dir):
    ray_available()
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir), RAY_USAGE_STATS_ENABLED="0")
    command = [sys.executable, "-m", "core", "sweep", *TINY, "--grid", "units=4,8 seed=3,4", "--engine", "ray", "--cpus-per-trial", "1", "--json"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=540)
    assert process.returncode == 0, err[-4000:]
    rows = json.loads(out.strip().splitlines()[-1])
    assert len(rows) == 4 and len({r["key"] for r in rows}) == 4
    assert all(r["cached"] is False and 0.0 <= r["test_accuracy"] <= 1.0 for r in rows)
    # The trials ran in Ray workers, not in the CLI process.
    assert process.pid not in {r["worker_pid"] for r in rows}
    progress = re.findall(r"^\[[1-4]/4\] [0-9a-f]{16} trained in", err, flags=re.M)
    assert len(progress) == 4, err[-3000:]  # one progress line per finished trial

    # Every trial is a valid entry of the shared cache, as the Runs page lists it ...
    assert sorted(run.key for run in cache.list_runs()) == sorted(r["key"] for r in rows)
    for row in rows:
        run = cache.load(row["key"])
        assert run is not None and run.meta["test_accuracy"] == row["test_accuracy"]
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_file(str(REPO / "dashboard" / "app_pages" / "runs.py"), default_timeout=120).run()
    assert not page.exception
    shown = page.dataframe[0].value
    assert sorted(shown["key"]) == sorted(r["key"] for r in rows)
    # ... and an overlapping local sweep of the same grid loads them instead of training again.
    configs = cli.grid_configs(cli.preset("base").replace(layers=1, epochs=1, batch_size=512), cli.parse_grid("units=4,8 seed=3,4"))
    assert [r["cached"] for r in sweep.run_local(configs)] == [True] * 4
