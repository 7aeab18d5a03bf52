"""Many processes on one cache: a combination is trained once however many ask at the same moment,
different combinations do not interfere, and a reader listing runs never sees a partial entry.

The processes are real (forked from tests/fault_worker.py after one TensorFlow import, each with
its own file locks); one check also goes through two `python -m core train` processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import cache

REPO = Path(__file__).resolve().parent.parent


def run_worker(drill: str, cache_dir: Path, output: Path) -> dict:
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir))
    result = subprocess.run(
        [sys.executable, str(REPO / "tests" / "fault_worker.py"), drill, "--out", str(output)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(output.read_text())


@pytest.fixture(scope="module")
def drill(tmp_path_factory) -> tuple[dict, Path]:
    folder = tmp_path_factory.mktemp("concurrency-cache")
    report = run_worker("concurrency", folder, folder.parent / "concurrency.json")
    return report, folder


def _trainers(race: dict) -> list[dict]:
    return [p for p in race["processes"] if p.get("cached") is False]


@pytest.mark.parametrize("name", ["same_2", "same_4"])
def test_processes_asking_for_the_same_new_combination_train_it_once(drill, name):
    report, folder = drill
    race = report[name]
    processes = race["processes"]
    assert all("error" not in p for p in processes), processes
    assert race["distinct_pids"] == len(processes) == int(name[-1])
    assert len({p["key"] for p in processes}) == 1
    assert len(_trainers(race)) == 1, f"expected exactly one training, got {processes}"
    assert len({p["created"] for p in processes}) == 1  # everyone got the one trained entry
    assert len({p["accuracy"] for p in processes}) == 1
    assert any(p["waited"] for p in processes)  # they really raced: the others were told to wait
    assert (folder / processes[0]["key"]).is_dir()


def test_processes_with_different_combinations_all_train(drill):
    report, folder = drill
    race = report["different_4"]
    processes = race["processes"]
    assert all("error" not in p for p in processes), processes
    assert len({p["key"] for p in processes}) == 4
    assert len(_trainers(race)) == 4
    assert not any(p["waited"] for p in processes)  # different keys never wait for each other
    for process in processes:
        assert (folder / process["key"] / "meta.json").is_file()


def test_a_reader_listing_runs_while_writers_write_never_sees_a_partial_entry(drill):
    report, _ = drill
    lister = report["different_4"]["lister"]
    assert "error" not in lister, lister
    assert lister["listings"] > 5  # it really listed while the writers were busy
    assert lister["partial"] == []
    assert set(lister["final"]) >= {p["key"] for p in report["different_4"]["processes"]}


def test_two_cli_processes_train_a_new_combination_once(cache_dir):
    args = ["--layers", "1", "--units", "6", "--epochs", "1", "--batch-size", "512", "--seed", "77", "--json", "--quiet"]
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir))
    processes = [
        subprocess.Popen([sys.executable, "-m", "core", "train", *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err[-2000:] for _, err in outputs]
    summaries = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sorted(s["cached"] for s in summaries) == [False, True]
    assert summaries[0]["key"] == summaries[1]["key"] and summaries[0]["created"] == summaries[1]["created"]
    assert [run.key for run in cache.list_runs()] == [summaries[0]["key"]]
