"""core.jobs: background trainings in worker processes, one job per key, records on disk, cancel, bounds.

Real trainings (tiny MLPs on the embedded data), real worker processes. One warmed runner with one
worker serves the whole module (a cold worker spends seconds importing TensorFlow); every test
gets a fresh cache folder, which the runner picks up at submit time from NEURAL_LAB_CACHE_DIR.
Waits are generous and nothing asserts a duration: the machine is shared and noisy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict

import numpy as np
import pytest

from core import cache, jobs
from core.cli import main
from core.config import RunConfig
from core.jobs import Job, JobRunner, QueueFull
from tests.helpers import REPO, wait_for

TINY = RunConfig(arch="mlp", layers=1, units=16, epochs=2, batch_size=256)
# Long enough to still be running when a test acts on it (the tests cancel or kill it well before its end).
LONG = RunConfig(arch="mlp", layers=1, units=16, epochs=200, batch_size=32)
WAIT = 240.0


@pytest.fixture(scope="module")
def runner():
    job_runner = JobRunner(workers=1)
    assert job_runner.warm(timeout=WAIT), "the worker did not finish importing TensorFlow"
    yield job_runner
    job_runner.shutdown()


@pytest.fixture
def fresh(cache_dir, runner):
    """A fresh cache; afterwards the shared runner is idle again (nothing leaks into the next test)."""
    yield cache_dir
    for job in jobs.list_jobs(active_only=True):
        runner.cancel(job.key)
    wait_until(lambda: runner.busy() == 0 and runner.queued() == 0, "the runner to become idle")


def wait_until(condition, what: str, timeout: float = WAIT):
    return wait_for(condition, what, timeout)


def wait_for_state(key: str, *states: str) -> Job:
    def reached():
        job = jobs.read_job(key)
        return job if job is not None and job.state in states else None

    return wait_until(reached, f"job {key} to be {' or '.join(states)}")


def wait_until_training(key: str) -> Job:
    """Until the job's worker has trained at least one batch (so a cancel or a kill hits a real training)."""

    def training():
        job = jobs.read_job(key)
        return job if job is not None and job.state == "running" and (job.batch or job.epoch) else None

    return wait_until(training, f"job {key} to train its first batches")


def finished(key: str) -> Job:
    job = jobs.wait(key, timeout=WAIT)
    assert job is not None and not job.active, f"job {key} did not end: {job}"
    return job


def worker_pid(job: Job) -> int:
    host, _, pid = job.worker.rpartition(":")
    assert host == jobs.HOST, job.worker
    return int(pid)


def record_path(key: str):
    return jobs.jobs_dir() / f"{key}.json"


# -- submit, dedup, queue ----------------------------------------------------------------------


def test_submit_returns_queued_and_a_worker_process_trains_it_once(fresh, runner):
    job = runner.submit(TINY)
    assert job.state == "queued" and job.key == TINY.key() and job.description == TINY.describe()
    assert not cache.exists(TINY)

    done = finished(job.key)
    assert done.state == "done", done.message
    assert worker_pid(done) != os.getpid()
    assert done.cached is False and done.epoch == done.epochs == 2 and len(done.history["loss"]) == 2
    assert 0.0 <= done.test_accuracy <= 1.0 and done.fraction == 1.0 and done.position is None
    assert cache.exists(TINY)
    created = cache.read_meta(TINY.key())["created"]

    # Submitting it again is a new job that loads the entry: no second training.
    again = finished(runner.submit(TINY).key)
    assert again.state == "done" and again.cached is True and again.submitted > done.submitted
    assert cache.read_meta(TINY.key())["created"] == created
    assert not (fresh / ".corrupt").exists()


def test_the_same_config_submitted_twice_is_one_job_and_one_training(fresh, runner):
    first = runner.submit(TINY)
    second = runner.submit(TINY)
    assert second.key == first.key and second.submitted == first.submitted and second.active

    done = finished(first.key)
    wait_until(lambda: runner.busy() == 0 and runner.queued() == 0, "the runner to become idle")
    last = jobs.read_job(first.key)
    # A duplicate would have run after it and rewritten the record (a load from the cache).
    assert last.state == "done" and last.submitted == first.submitted and last.cached is False
    assert done.cached is False and cache.exists(TINY) and not (fresh / ".corrupt").exists()


def test_queue_positions_grow_with_each_submission_and_count_down(fresh, runner):
    blocker = runner.submit(LONG)
    wait_for_state(blocker.key, "running")
    behind = LONG.replace(units=8)
    second = runner.submit(behind)
    third = runner.submit(TINY)
    assert (second.state, second.position) == ("queued", 1)
    assert (third.state, third.position) == ("queued", 2)
    assert [job.key for job in jobs.list_jobs(active_only=True)] == [blocker.key, second.key, third.key]
    assert runner.queued() == 2 and runner.busy() == 1

    runner.cancel(blocker.key)
    wait_for_state(second.key, "running")
    wait_until(lambda: jobs.read_job(third.key).position == 1, "the last job to move up to position 1")
    assert jobs.read_job(third.key).state == "queued"

    runner.cancel(second.key)
    assert finished(blocker.key).state == "cancelled"
    assert finished(second.key).state == "cancelled"
    assert finished(third.key).state == "done"
    assert cache.exists(TINY) and not cache.exists(LONG) and not cache.exists(behind)


# -- cancel ------------------------------------------------------------------------------------


def test_cancel_a_running_job_stops_it_and_caches_nothing(fresh, runner):
    job = runner.submit(LONG)
    wait_until_training(job.key)
    assert runner.cancel(job.key).key == job.key

    cancelled = finished(job.key)
    assert cancelled.state == "cancelled" and "not cached" in cancelled.message
    assert cancelled.epoch < LONG.epochs and cancelled.finished is not None
    assert not cache.exists(LONG)
    assert not (jobs.jobs_dir() / f"{job.key}.cancel").exists()
    # Cancelling an ended job changes nothing.
    assert runner.cancel(job.key).state == "cancelled"


def test_cancel_a_queued_job_ends_it_before_it_starts(fresh, runner):
    blocker = runner.submit(LONG)
    wait_for_state(blocker.key, "running")
    queued = runner.submit(TINY)
    assert queued.state == "queued"

    cancelled = runner.cancel(queued.key)
    assert cancelled.state == "cancelled" and "before it started" in cancelled.message
    assert jobs.read_job(queued.key).state == "cancelled"
    assert runner.queued() == 0

    runner.cancel(blocker.key)
    finished(blocker.key)
    wait_until(lambda: runner.busy() == 0, "the runner to become idle")
    record = jobs.read_job(queued.key)
    assert record.state == "cancelled" and record.started is None and record.worker == ""
    assert not cache.exists(TINY)


def test_cancel_of_an_ended_unknown_or_malformed_key_through_the_module_api(fresh, runner, monkeypatch):
    monkeypatch.setattr(jobs, "_RUNNER", runner)
    assert jobs.runner() is runner
    done = finished(jobs.submit(TINY).key)
    assert done.state == "done"

    unchanged = jobs.cancel(done.key)
    assert unchanged.state == "done" and unchanged.finished == done.finished
    assert jobs.read_job(done.key).state == "done"
    assert not (jobs.jobs_dir() / f"{done.key}.cancel").exists()
    assert jobs.cancel("0123456789abcdef") is None
    for bad in ("../../etc/passwd", "0123456789ABCDEF", "abc", ""):
        with pytest.raises(ValueError):
            jobs.cancel(bad)


# -- failures and restarts ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_worker_fails_its_job_and_is_replaced(fresh, runner, monkeypatch):
    job = runner.submit(LONG)
    running = wait_until_training(job.key)
    killed = worker_pid(running)
    os.kill(killed, signal.SIGKILL)

    finished(job.key)
    # For a moment after the worker is reaped its record reads "interrupted" (dead pid), until the
    # runner writes why it ended.
    failed = wait_until(lambda: (record := jobs.read_job(job.key)).state == "failed" and record, "the job to read failed", timeout=60)
    assert "worker process died" in failed.message and "killed" in failed.message
    assert not cache.exists(LONG)

    # The replacement worker is cold (it imports TensorFlow first): the job handed to it meanwhile
    # must keep reading as queued, not as interrupted. A short staleness bound makes that visible.
    monkeypatch.setattr(jobs, "STALE_SECONDS", 8.0)
    retry = runner.submit(TINY)
    done = finished(retry.key)
    assert done.state == "done", done.message
    assert worker_pid(done) not in (killed, os.getpid())
    assert cache.exists(TINY)


def test_a_record_left_running_by_a_dead_server_reads_interrupted(fresh, runner):
    old = time.time() - 3600
    stale = Job(
        key=TINY.key(), state="running", description=TINY.describe(), config=TINY.to_dict(), submitted=old, started=old,
        updated=old, epoch=1, epochs=2, owner="elsewhere:1", worker="elsewhere:2",
    )
    jobs.write_job(stale)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    other = TINY.replace(units=8)
    orphan = Job(
        key=other.key(), state="running", description=other.describe(), config=other.to_dict(), submitted=time.time(),
        updated=time.time(), epochs=2, owner=f"{jobs.HOST}:{dead.pid}", worker=f"{jobs.HOST}:{dead.pid}",
    )
    jobs.write_job(orphan)

    for key in (stale.key, orphan.key):
        record = jobs.read_job(key)
        assert record.state == "interrupted" and "interrupted" in record.message and "Train" in record.message
    assert jobs.list_jobs(active_only=True) == []
    assert {job.key for job in jobs.list_jobs()} == {stale.key, orphan.key}

    job = runner.submit(TINY)
    assert job.state == "queued" and job.submitted > old
    done = finished(job.key)
    assert done.state == "done" and done.cached is False and cache.exists(TINY)


def test_corrupt_records_read_as_no_job_and_are_replaced_by_a_submit(fresh, runner):
    key = TINY.key()
    valid = json.dumps(asdict(Job(key=key, state="running", updated=time.time(), owner=f"{jobs.HOST}:{os.getpid()}")))
    broken = [
        b"\x00\xff\xfe garbage \x80",
        valid[: len(valid) // 2].encode(),
        b"",
        b"[1, 2, 3]",
        b'{"state": "done"}',
        json.dumps({"key": key, "state": "teleporting"}).encode(),
        json.dumps({"key": "0123456789abcdef", "state": "done"}).encode(),
        json.dumps({"key": key, "state": "running", "updated": "yesterday"}).encode(),
        json.dumps({"key": key, "state": "queued", "updated": time.time(), "position": "first", "submitted": "monday"}).encode(),
        json.dumps({"key": key, "state": "done", "history": [1, 2]}).encode(),
        json.dumps({"key": key, "state": "done", "history": {"seconds": ["a"]}, "epoch": "three"}).encode(),
        json.dumps({"key": key, "state": "done", "notes": "not a list", "description": 5}).encode(),
    ]
    # A stray file with a key-length name that is not a key is skipped by listings too.
    (jobs.jobs_dir() / "zzzzzzzzzzzzzzzz.json").write_text("{}", encoding="utf-8")
    for content in broken:
        record_path(key).write_bytes(content)
        assert jobs.read_job(key) is None, content
        assert jobs.list_jobs() == [], content

    job = runner.submit(TINY)
    assert job.state == "queued"
    done = finished(job.key)
    assert done.state == "done" and cache.exists(TINY)
    assert [listed.key for listed in jobs.list_jobs()] == [key]


# -- bounds ------------------------------------------------------------------------------------


def test_caps_per_session_and_per_queue_refuse_without_starting_anything(fresh, runner, monkeypatch):
    monkeypatch.setattr(runner, "max_per_session", 2)
    monkeypatch.setattr(runner, "max_queued", 2)
    running = runner.submit(LONG, session="alice")
    wait_for_state(running.key, "running")
    waiting = runner.submit(TINY, session="alice")
    assert waiting.state == "queued"

    refused = TINY.replace(units=8)
    with pytest.raises(QueueFull, match="already have 2 trainings") as error:
        runner.submit(refused, session="alice")
    assert "limit per visitor is 2" in str(error.value)
    assert jobs.read_job(refused.key()) is None and runner.queued() == 1
    # Asking again for a job that is already queued is not a new job: never refused.
    assert runner.submit(TINY, session="alice").submitted == waiting.submitted

    other = runner.submit(TINY.replace(units=12), session="bob")
    assert other.state == "queued" and other.position == 2

    too_many = TINY.replace(units=20)
    with pytest.raises(QueueFull, match="2 trainings are waiting and 1 running"):
        runner.submit(too_many, session="carol")
    assert jobs.read_job(too_many.key()) is None and runner.queued() == 2
    assert not (jobs.jobs_dir() / f"{too_many.key()}.json").exists()

    for job in (waiting, other, running):
        runner.cancel(job.key)
    assert {finished(job.key).state for job in (waiting, other, running)} == {"cancelled"}


# -- toy runs ----------------------------------------------------------------------------------


def test_a_toy_job_publishes_its_live_boundary(fresh, runner):
    toy = RunConfig(task="toy", dataset="xor", layers=1, units=4, epochs=5)
    job = runner.submit(toy)
    done = finished(job.key)
    assert done.state == "done", done.message
    assert cache.exists(toy)
    epoch, probabilities = jobs.read_live_grid(job.key)
    assert epoch == toy.epochs
    assert probabilities.shape == (60, 60, 2) and probabilities.dtype == np.float32
    assert np.isfinite(probabilities).all()
    assert np.allclose(probabilities.sum(axis=-1), 1.0, atol=1e-2)
    assert jobs.read_live_grid(TINY.key()) is None


# -- python -m core jobs -----------------------------------------------------------------------


def test_cli_jobs_lists_active_then_recent_jobs(fresh, runner, capsys):
    assert main(["jobs"]) == 0
    assert capsys.readouterr().out.strip() == "no background jobs"
    assert main(["jobs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    done = finished(runner.submit(TINY).key)
    assert done.state == "done"
    now = time.time()
    here = f"{jobs.HOST}:{os.getpid()}"
    running_config, queued_config, old_config = LONG.replace(units=8), LONG.replace(units=12), TINY.replace(units=8)
    # Hand-written records of another (live) server: one training at epoch 3 of 10, one waiting behind it.
    jobs.write_job(Job(
        key=running_config.key(), state="running", description=running_config.describe(), submitted=now - 60, started=now - 30,
        updated=now, epoch=3, epochs=10, batch=5, steps=10, elapsed=30.0, history={"seconds": [10.0, 10.0, 10.0]}, owner=here, worker=here,
    ))
    jobs.write_job(Job(
        key=queued_config.key(), state="queued", description=queued_config.describe(), submitted=now - 20, updated=now,
        position=2, epochs=200, owner=here,
    ))
    jobs.write_job(Job(
        key=old_config.key(), state="failed", description=old_config.describe(), submitted=now - 86400, started=now - 86400,
        finished=now - 86000, updated=now - 86000, epochs=2, message="The training failed: out of memory. Nothing was cached.",
    ))

    assert main(["jobs"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [[running_config.key(), "running"], [queued_config.key(), "queued"], [done.key, "done"]]
    assert "epoch 3/10" in lines[0] and "left" in lines[0] and running_config.describe() in lines[0]
    assert "#2 in queue" in lines[1] and queued_config.describe() in lines[1]
    assert "epoch 2/2" in lines[2] and TINY.describe() in lines[2]

    assert main(["jobs", "--all"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[-1].split()[:2] == [old_config.key(), "failed"] and "out of memory" in lines[-1]

    assert main(["jobs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(row["key"], row["state"]) for row in rows] == [(running_config.key(), "running"), (queued_config.key(), "queued"), (done.key, "done")]
    assert rows[0]["epoch"] == 3 and rows[0]["eta_seconds"] > 0 and rows[2]["test_accuracy"] == done.test_accuracy
    for key in (running_config.key(), queued_config.key()):
        record_path(key).unlink()  # they belong to no runner: nothing to cancel


# -- Ray ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ray_backend_trains_in_a_ray_worker(cache_dir, monkeypatch):
    ray = pytest.importorskip("ray")
    ray_runner = JobRunner(backend="ray", workers=1)
    try:
        assert ray_runner.backend == "ray", ray_runner.notice
        blocker = ray_runner.submit(LONG)
        job = ray_runner.submit(TINY)
        assert job.state == "queued" and job.backend == "ray"
        running = wait_until_training(blocker.key)
        assert worker_pid(running) != os.getpid()
        # The second task waits in Ray for the one CPU: it must keep reading as queued.
        monkeypatch.setattr(jobs, "STALE_SECONDS", 8.0)
        time.sleep(12)
        assert jobs.read_job(job.key).state == "queued"
        ray_runner.cancel(blocker.key)
        assert finished(blocker.key).state == "cancelled"
        done = jobs.wait(job.key, timeout=300)
        assert done.state == "done", done.message
        assert worker_pid(done) != os.getpid() and done.backend == "ray"
        assert cache.exists(TINY) and not cache.exists(LONG)
    finally:
        ray_runner.shutdown()
        ray.shutdown()


FALLBACK_SCRIPT = """
import json, os, sys
from core import jobs
from core.config import RunConfig

runner = jobs.JobRunner(backend="ray", workers=1, ray_address="127.0.0.1:1", ray_timeout=15)
job = runner.submit(RunConfig(arch="mlp", layers=1, units=16, epochs=2, batch_size=256))
done = jobs.wait(job.key, timeout=300)
print(json.dumps({"backend": runner.backend, "notice": runner.notice, "state": done.state, "job_backend": done.backend}))
sys.stdout.flush()
runner.shutdown()
os._exit(0)  # ray.init is still retrying the dead address in an abandoned thread
"""


@pytest.mark.slow
def test_unreachable_ray_falls_back_to_local_workers_with_a_notice(cache_dir):
    pytest.importorskip("ray")
    # In its own process: the abandoned ray.init must not share a process with other Ray tests.
    result = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT], cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["backend"] == "local" and outcome["job_backend"] == "local"
    assert "could not be used" in outcome["notice"] and "training on this machine" in outcome["notice"]
    assert outcome["state"] == "done"
    assert cache.exists(TINY)
