"""dashboard.training_ui: a background job on a page (status line, ended messages, the polling panel, Stop).

The pure parts run on hand-made `core.jobs.Job` records. The AppTests drive the Train page against
the process's one JobRunner (`jobs.runner()`, 1 worker here): every test that starts a job waits for
it or cancels it, so the next test finds the worker idle (the `jobs_settle` fixture makes sure).
AppTest renders a `run_every` fragment once per run and never polls by itself: a test waits for the
job with `jobs.wait` (or `wait_for`) and reruns the page, as the fragment would.

Shared with the other page tests (they import from here): `jobs_settle`, `wait_for`, `finish`,
`open_training`, `press_train`, `texts`, `progress_texts`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import cache, jobs
from core.config import RunConfig
from core.jobs import Job
from dashboard import resources, training_ui
from tests import helpers

TRAINING_PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "app_pages" / "training.py")
WAIT = 240.0  # generous: the machine is shared, and the first job waits for the worker's TensorFlow import
TINY = RunConfig(layers=1, units=16, epochs=2, batch_size=256)
TINY_PARAMS = {"layers": "1", "units": "16", "epochs": "2", "batch_size": "256"}
# Trains for minutes: still running whenever a test acts on it (the tests stop it long before its end).
LONG = RunConfig(arch="mlp", layers=1, units=8, epochs=200, batch_size=16)
LONG_PARAMS = {"arch": "mlp", "layers": "1", "units": "8", "epochs": "200", "batch_size": "16"}


# -- shared helpers -------------------------------------------------------------------------------


@pytest.fixture
def jobs_settle(monkeypatch):
    """After the test: cancel what it left queued or running, and wait until the worker is idle.

    It depends on monkeypatch so that it is torn down before the test's cache folder is forgotten
    (cache_dir sets NEURAL_LAB_CACHE_DIR through monkeypatch; cancel flags live in that folder).
    """
    resources.forget_models()
    yield
    resources.forget_models()
    runner = jobs.runner()
    for job in jobs.list_jobs(active_only=True):
        runner.cancel(job.key)
    wait_for(lambda: runner.busy() == 0 and runner.queued() == 0, "the job runner to become idle")


def wait_for(condition, what: str, timeout: float = WAIT):
    return helpers.wait_for(condition, what, timeout)


def finish(key: str) -> Job:
    """Wait for the job of `key` to end; its final record."""
    job = jobs.wait(key, timeout=WAIT)
    assert job is not None and not job.active, f"job {key} did not end in {WAIT:.0f} s: {job}"
    return job


def wait_until_training(key: str) -> Job:
    """Until the job's worker has trained some batches (a Stop then hits a real training, not the queue)."""

    def training():
        job = jobs.read_job(key)
        return job if job is not None and job.state == "running" and (job.batch or job.epoch) else None

    return wait_for(training, f"job {key} to train its first batches")


def open_training(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(TRAINING_PAGE, default_timeout=60)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    return at.run()


def press_train(at: AppTest) -> AppTest:
    """Press the sidebar form's Train / load button (one script run)."""
    return next(b for b in at.button if b.label == "Train / load").click().run()


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def progress_texts(at: AppTest) -> list[str]:
    return [element.proto.text for element in at.get("progress")]


def stop_button(at: AppTest, key: str):
    return next((b for b in at.button if b.key == f"stop-{key}"), None)


def _job(state: str, **fields) -> Job:
    now = time.time()
    return Job(key=TINY.key(), state=state, description=TINY.describe(), config=TINY.to_dict(), submitted=now,
               updated=now, epochs=10, **fields)


# -- status_line --------------------------------------------------------------------------------


def test_a_queued_job_says_how_many_trainings_are_ahead():
    assert training_ui.status_line(_job("queued", position=1)) == "queued: next to start"
    assert training_ui.status_line(_job("queued", position=2)) == "queued: 1 training ahead"
    assert training_ui.status_line(_job("queued", position=4)) == "queued: 3 trainings ahead"
    assert training_ui.status_line(_job("queued", position=None)) == "queued: next to start"


def test_a_running_job_gives_an_eta_only_after_a_timed_epoch():
    assert training_ui.status_line(_job("running")) == "starting (epoch 0/10)"
    first = _job("running", epoch=1, batch=5, steps=10, elapsed=3.2)
    assert training_ui.status_line(first) == "epoch 1/10 · batch 5/10 · 3 s elapsed · time left: measured after epoch 2 (epoch 1 also builds the model)"
    # Epoch 1 (3 s) includes building the model's graph: it is not extrapolated (issue 16: "about 151 s left" for 2 s).
    warmup = _job("running", epoch=1, batch=0, steps=10, elapsed=3.0, history={"loss": [0.5], "seconds": [3.0]})
    assert "left" in training_ui.status_line(warmup) and "about" not in training_ui.status_line(warmup)
    timed = replace(warmup, epoch=2, elapsed=4.0, history={"loss": [0.5, 0.4], "seconds": [3.0, 1.0]})
    # Published at the end of epoch 2 (batch 0): 8 epochs left at 1 s (epoch 2's time) each.
    assert training_ui.status_line(timed) == "epoch 2/10 · 4 s elapsed · about 8 s left"
    # Inside epoch 3 (batch 4 of 10): 2.4 epochs done, 7.6 left at the median of epochs 2.. (1 s).
    later = replace(timed, epoch=3, batch=4, history={"seconds": [3.0, 1.0, 1.2, 0.9]})
    assert training_ui.status_line(later).endswith("batch 4/10 · 4 s elapsed · about 8 s left")


def test_before_its_own_timed_epoch_a_job_borrows_a_similar_cached_runs_clock():
    first = _job("running", epoch=1, batch=5, steps=10, elapsed=3.2)
    line = training_ui.status_line(first, reference_seconds_per_epoch=0.5)
    assert line.endswith("about 5 s left (timed on a similar cached run)")  # 9.5 epochs at 0.5 s


def test_the_similar_run_is_found_in_the_cache(cache_dir, tiny_mlp):
    from core import cache

    assert training_ui.similar_seconds_per_epoch(tiny_mlp) is None  # empty cache: nothing to borrow
    similar = tiny_mlp.replace(epochs=3, seed=7)
    run = cache.get_or_train(similar)
    assert len(run.history["seconds"]) == 3
    expected = sorted(run.history["seconds"][1:])[0] / 2 + sorted(run.history["seconds"][1:])[1] / 2
    assert training_ui.similar_seconds_per_epoch(tiny_mlp) == pytest.approx(expected)
    assert training_ui.similar_seconds_per_epoch(tiny_mlp.replace(units=32)) is None


def test_a_job_waiting_for_another_process_says_so():
    line = training_ui.status_line(_job("running", waiting=True, epoch=0))
    assert line.startswith("another process is training this same combination")


@pytest.mark.parametrize("state", ["done", "failed", "cancelled", "interrupted"])
def test_an_ended_job_shows_its_own_message(state):
    assert training_ui.status_line(_job(state, message=f"the {state} message")) == f"the {state} message"


# -- ended_message ------------------------------------------------------------------------------


def test_ended_message_is_an_error_for_a_failure_and_a_warning_for_a_stop():
    failed = _job("failed", finished=time.time(), message="The training failed: boom. Nothing was cached.")
    assert training_ui.ended_message(failed) == ("error", "The training failed: boom. Nothing was cached. (just now)")
    for state in ("cancelled", "interrupted"):
        level, text = training_ui.ended_message(_job(state, finished=time.time() - 5 * 60, message="Stopped at epoch 3."))
        assert level == "warning" and text == "Stopped at epoch 3. (5 min ago)"


def test_ended_message_forgets_old_endings_and_ignores_other_states():
    old = _job("failed", finished=time.time() - 2 * 3600, message="old")
    assert training_ui.ended_message(old) is None
    assert training_ui.ended_message(old, within_seconds=3 * 3600) is not None
    no_finish = _job("interrupted", finished=None, message="heartbeat lost")  # the heartbeat time stands in
    no_finish.updated = time.time() - 10
    assert training_ui.ended_message(no_finish) == ("warning", "heartbeat lost (just now)")
    for state in ("queued", "running", "done"):
        assert training_ui.ended_message(_job(state, finished=time.time())) is None
    assert training_ui.ended_message(None) is None


def test_a_record_whose_heartbeat_stopped_reads_as_interrupted(cache_dir):
    stale = _job("running", epoch=3, batch=1, steps=10)
    stale.updated = time.time() - jobs.STALE_SECONDS - 5
    jobs.write_job(stale)
    record = jobs.jobs_dir() / f"{stale.key}.json"
    os.utime(record, (stale.updated, stale.updated))  # the runner's touch of a handed-over job counts as a heartbeat too
    level, text = training_ui.ended_message(jobs.read_job(stale.key))
    assert level == "warning" and "interrupted at epoch 3 of 10" in text and "nothing was cached" in text


# -- announce_once (in a real script run: it keeps its memory in session state) ----------------


def _announce_script():
    import streamlit as st

    from dashboard import training_ui

    st.write(f"announce={training_ui.announce_once('aaaaaaaaaaaaaaaa')}")


def test_announce_once_is_true_once_per_submitted_job():
    at = AppTest.from_function(_announce_script)
    at.session_state[training_ui.SUBMITTED_KEY] = ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]
    at.run()
    assert at.markdown[0].value == "announce=True"
    assert at.session_state[training_ui.SUBMITTED_KEY] == ["bbbbbbbbbbbbbbbb"]
    at.run()
    assert at.markdown[0].value == "announce=False"  # a later visit: the ordinary cache badge
    assert not AppTest.from_function(_announce_script).run().markdown[0].value.endswith("True")  # not submitted here


# -- the Train page with real jobs --------------------------------------------------------------


@pytest.mark.usefixtures("jobs_settle")
def test_train_shows_the_job_panel_at_once_and_the_result_when_the_job_ends(cache_dir):
    at = open_training(TINY_PARAMS)
    at = press_train(at)
    assert not at.exception, at.exception
    job = jobs.read_job(TINY.key())
    assert job is not None and job.session == at.session_state[training_ui.SESSION_KEY]
    # The run returned with the panel (it does not train, nor wait for the training).
    assert stop_button(at, TINY.key()) is not None
    assert progress_texts(at) and any(TINY.describe() in t for t in texts(at.markdown))
    assert not any("has not been trained yet" in t for t in texts(at.info))

    done = finish(TINY.key())
    assert done.state == "done" and not done.cached and cache.exists(TINY)
    at.run()  # what the fragment's rerun does once it sees the job has ended
    assert not at.exception, at.exception
    trained = [t for t in texts(at.success) if t.startswith("Trained in")]
    assert len(trained) == 1 and "in the background and cached — test accuracy" in trained[0]
    assert stop_button(at, TINY.key()) is None and not progress_texts(at)
    assert {"Test accuracy", "Parameters"} <= {m.label for m in at.metric}
    # The session records what its own job trained when it shows that outcome (whether or not a
    # polling panel saw the job end: a student may have been on another page meanwhile).
    assert at.session_state[training_ui.TRAINED_KEY] == [TINY.key()]
    at.run()  # announced once; afterwards an ordinary cache hit
    assert not [t for t in texts(at.success) if t.startswith("Trained in")]
    assert [t for t in texts(at.success) if t.startswith("Loaded from cache")]


@pytest.mark.usefixtures("jobs_settle")
def test_stop_training_cancels_the_job_caches_nothing_and_says_where_it_stopped(cache_dir):
    at = press_train(open_training(LONG_PARAMS))
    assert not at.exception, at.exception
    assert jobs.read_job(LONG.key()).active, "the page waited for the training"
    wait_until_training(LONG.key())
    at.run()
    assert any(t.startswith("epoch ") or t.startswith("starting") for t in progress_texts(at)), progress_texts(at)
    wait_for(lambda: jobs.read_job(LONG.key()).history.get("loss"), "the first epoch to end")

    stop_button(at, LONG.key()).click().run()
    assert not at.exception, at.exception
    ended = finish(LONG.key())
    assert ended.state == "cancelled", ended
    assert not cache.exists(LONG) and cache.entry_keys() == []
    assert not list(cache_dir.glob(".tmp-*")) and not cache.is_training_elsewhere(LONG)  # no half entry, lock released
    at.run()
    assert not at.exception
    assert stop_button(at, LONG.key()) is None
    stopped = [t for t in texts(at.warning) if t.startswith("Stopped at epoch")]
    assert len(stopped) == 1 and "of 200" in stopped[0] and "not cached" in stopped[0], texts(at.warning)
    assert any("has not been trained yet" in t for t in texts(at.info))
    # The partial curves stay on the page, marked as stopped and not cached (issue 16).
    epochs_done = len(ended.history.get("loss", []))
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    live = [c for c in charts if c["layout"].get("title", {}).get("text", "").startswith(("Loss", "Accuracy"))]
    assert epochs_done >= 1 and len(live) == 2 and all(len(c["data"][0]["y"]) == epochs_done for c in live), live
    marks = [a["text"] for c in live for a in c["layout"].get("annotations", [])]
    assert marks == [f"stopped after epoch {epochs_done}: not cached"] * 2, marks
    assert any(t.startswith("**Stopped, not cached:**") for t in texts(at.caption)), texts(at.caption)


@pytest.mark.usefixtures("jobs_settle")
def test_a_failed_job_shows_its_message_as_an_error_and_train_tries_again(cache_dir):
    message = f"The training of {TINY.describe()} failed: the disk is full. Nothing was cached."
    failed = _job("failed", finished=time.time() - 60, message=message)
    jobs.write_job(failed)
    at = open_training(TINY_PARAMS)
    assert not at.exception
    assert any(t.startswith(message) and t.endswith("(1 min ago)") for t in texts(at.error)), texts(at.error)
    assert any("has not been trained yet" in t for t in texts(at.info))

    at = press_train(at)  # a failure is not sticky: Train queues a new job
    assert not at.exception, at.exception
    assert jobs.read_job(TINY.key()).submitted > failed.submitted
    assert finish(TINY.key()).state == "done"
    assert not at.run().error


@pytest.mark.usefixtures("jobs_settle")
def test_a_second_session_sees_the_same_job_and_nothing_trains_twice(cache_dir):
    config = TINY.replace(epochs=12, batch_size=32)  # about 5 s: still running when the second session opens
    params = {**TINY_PARAMS, "epochs": "12", "batch_size": "32"}
    first = press_train(open_training(params))
    submitted = jobs.read_job(config.key()).submitted

    second = open_training(params)  # another browser, same address
    assert not second.exception
    assert jobs.read_job(config.key()).active, "the job ended before the second session opened; make it longer"
    assert stop_button(second, config.key()) is not None and progress_texts(second)
    second = press_train(second)  # pressing Train there joins the same job
    assert stop_button(second, config.key()) is not None

    finish(config.key())
    assert jobs.read_job(config.key()).submitted == submitted
    assert cache.entry_keys() == [config.key()]
    for at in (first.run(), second.run()):
        assert not at.exception
        assert cache.read_meta(config.key())["epochs_run"] == 12
        assert at.metric and stop_button(at, config.key()) is None
