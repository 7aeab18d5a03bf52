"""The Training page in AppTest: Train queues one background job and the page shows its result when it
ends; the same controls and the URL then load from the cache; bad URLs warn; a combination someone
else is training is waited for, not trained twice; the layers x units grid and the compare section.

The job mechanics themselves (the panel, Stop, failed jobs, a second session) are in test_training_ui.py.
"""

from __future__ import annotations

import json

import pytest

from core import cache, jobs
from core.config import RunConfig
from dashboard import training_ui
from tests.test_training_ui import (  # noqa: F401 - jobs_settle is a fixture
    TINY,
    TINY_PARAMS,
    finish,
    jobs_settle,
    open_training,
    press_train,
    progress_texts,
    stop_button,
    texts,
    wait_for,
)

TRAINED = training_ui.TRAINED_KEY


def badge(at) -> list[str]:
    return [t for t in texts(at.success) if t.startswith("Loaded from cache")]


@pytest.mark.usefixtures("jobs_settle")
def test_submit_trains_once_then_the_same_controls_and_the_url_load_from_cache(cache_dir):
    at = open_training(TINY_PARAMS)
    assert not at.exception
    assert any("has not been trained yet" in t for t in texts(at.info))
    assert not cache.exists(TINY) and jobs.read_job(TINY.key()) is None  # opening trains nothing

    at = press_train(at)
    assert not at.exception, at.exception
    assert stop_button(at, TINY.key()) is not None  # the job's panel; it trains in the background
    submitted = jobs.read_job(TINY.key()).submitted
    assert finish(TINY.key()).state == "done"
    at.run()  # the fragment reruns the page when the job ends
    assert not at.exception, at.exception
    assert cache.exists(TINY)
    assert not badge(at) and any(t.startswith("Trained in") for t in texts(at.success))
    labels = [m.label for m in at.metric]
    assert {"Test accuracy", "Parameters", "Seconds per epoch"} <= set(labels)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    loss = next(c for c in charts if c["layout"].get("title", {}).get("text", "").startswith("Loss"))
    assert [t["name"] for t in loss["data"]][:2] == ["train", "validation"] and len(loss["data"][0]["y"]) == 2
    assert any(t["name"].startswith("best validation") for t in loss["data"])
    created = cache.read_meta(TINY.key())["created"]

    at = press_train(at)  # the same controls again
    assert not at.exception
    assert stop_button(at, TINY.key()) is None, "a cached combination was queued again"
    assert jobs.read_job(TINY.key()).submitted == submitted
    assert badge(at) and "2 epochs" in badge(at)[0]
    assert cache.read_meta(TINY.key())["created"] == created

    # A new session opening the same address: same controls, same cached model, no click needed.
    other = open_training(TINY_PARAMS)
    assert badge(other)
    assert TRAINED not in other.session_state and training_ui.SUBMITTED_KEY not in other.session_state
    epochs_slider = next(s for s in other.slider if s.label == "Epochs")
    assert epochs_slider.value == 2
    assert any(f"`{TINY.key()}`" in c for c in texts(other.caption))
    code = next(c for c in other.code)
    assert "keras.Sequential" in code.value and "keras.layers.Dense(16" in code.value
    assert jobs.read_job(TINY.key()).submitted == submitted and cache.entry_keys() == [TINY.key()]


def test_invalid_url_parameters_warn_and_keep_the_rest(cache_dir):
    at = open_training({"layers": "many", "colour": "red", "dropout": "0.3", "epochs": "999"})
    assert not at.exception
    warnings = " ".join(texts(at.warning))
    assert "layers" in warnings and "colour" in warnings and "epochs" in warnings
    dropout = next(s for s in at.slider if s.label.startswith("Dropout"))
    assert dropout.value == pytest.approx(0.3)
    layers = next(s for s in at.slider if s.label.startswith("Conv blocks"))
    assert layers.value == RunConfig().layers
    assert next(s for s in at.slider if s.label == "Epochs").value == RunConfig().epochs


def test_full_mnist_offline_says_so_and_keeps_the_embedded_set(cache_dir):
    at = open_training(TINY_PARAMS)
    next(r for r in at.radio if r.label == "Data").set_value("full")
    at = press_train(at)
    assert not at.exception
    assert any("Full MNIST is not available" in t for t in texts(at.error))
    assert next(r for r in at.radio if r.label == "Data").value == "embedded"
    assert jobs.list_jobs() == [] and training_ui.SUBMITTED_KEY not in at.session_state  # nothing was queued
    assert cache.entry_keys() == []


def test_loading_a_preset_writes_the_url_and_fills_the_controls(cache_dir):
    at = open_training()
    next(s for s in at.selectbox if s.label == "Tutorial preset").set_value("seed001-dnn").run()
    at = next(b for b in at.button if b.label == "Load preset").click().run()
    assert not at.exception
    assert at.query_params["units"] in ("64,16", ["64,16"]) and at.query_params["epochs"] in ("50", ["50"])
    assert next(t for t in at.text_input if t.label.startswith("Units per layer")).value == "64,16"
    assert jobs.list_jobs() == []  # loading a preset fills the form; only Train / load trains


@pytest.mark.usefixtures("jobs_settle")
def test_a_combination_another_process_trains_is_waited_for_then_loaded(cache_dir):
    """Another process (a CLI run, another server) holds the combination's training lock: the job waits,
    says so in its panel, and loads that process's model instead of training it again."""
    from core.training import train

    other_run = train(TINY)  # the other process's model, saved while it holds the lock
    lock = cache._lock(TINY.key())
    lock.acquire()
    try:
        at = press_train(open_training(TINY_PARAMS))
        assert not at.exception, at.exception
        wait_for(lambda: jobs.read_job(TINY.key()).waiting, "the job to find the combination busy")
        at.run()
        assert any(t.startswith("another process is training this same combination") for t in progress_texts(at)), progress_texts(at)
        cache.save(other_run)
    finally:
        lock.release()
    job = finish(TINY.key())
    assert job.state == "done" and job.cached, job
    at.run()
    assert not at.exception, at.exception
    assert TRAINED not in at.session_state, "this session trained it itself"
    waited = [t for t in texts(at.success) if t.startswith("Loaded: another session trained it while this one waited")]
    assert len(waited) == 1 and waited[0].endswith("Nothing was trained here."), texts(at.success)
    assert badge(at) == []
    at.run()  # a later visit is an ordinary cache hit
    assert len(badge(at)) == 1


@pytest.mark.usefixtures("jobs_settle")
def test_sweep_trains_the_missing_cells_and_compare_overlays_runs(cache_dir):
    at = open_training(TINY_PARAMS)
    at.multiselect(key="sweep_layers").set_value([1])
    at.multiselect(key="sweep_units").set_value([8, 16])
    at.run()
    heatmap = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert heatmap["data"][0]["text"] == [["not trained", "not trained"]]
    at = at.button(key="sweep_train").click().run()
    assert not at.exception, at.exception
    grid = [t for t in progress_texts(at) if t.startswith("Layers × units grid:")]
    assert len(grid) == 1 and "of 2 finished" in grid[0], progress_texts(at)
    assert any(b.key == "stop-all-Layers × units grid" for b in at.button)
    keys = [TINY.replace(units=width).key() for width in (8, 16)]
    assert {job.key for job in jobs.list_jobs()} == set(keys)
    for key in keys:
        assert finish(key).state == "done"
    at.run()
    assert not at.exception, at.exception
    assert sorted(cache.entry_keys()) == sorted(keys)
    heatmap = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert all(text.endswith("%") for text in heatmap["data"][0]["text"][0])
    assert "sweep_train" not in [b.key for b in at.button] and not progress_texts(at)  # nothing left to train

    at.multiselect(key="compare_runs").set_value(cache.entry_keys())
    at.run()
    compare = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "per epoch" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert len(compare["data"]) == 2


def test_an_address_without_a_model_keeps_its_form_and_offers_the_best_cached_model(cache_dir):
    """Train is where one trains: the form stays as the address set it; one click opens the best cached model."""
    at = open_training(TINY_PARAMS)
    assert not [b for b in at.button if b.key == "open_best_cached"], "an empty cache has nothing to offer"
    worse, better = TINY.replace(units=8, epochs=1), TINY
    for config in (worse, better):
        cache.get_or_train(config)
    wanted = TINY.replace(units=32)  # not cached
    at = open_training({**TINY_PARAMS, "units": "32"})
    assert not at.exception, at.exception
    assert any("has not been trained yet" in t for t in texts(at.info))
    assert at.query_params["units"] in ("32", ["32"])  # the address (and the form it fills) is left alone
    assert 32 in [s.value for s in at.select_slider]
    best = max((worse, better), key=lambda c: cache.read_meta(c.key())["test_accuracy"])
    offer = next(b for b in at.button if b.key == "open_best_cached")
    assert f"test {cache.read_meta(best.key())['test_accuracy']:.1%}" in offer.label and offer.help
    at = offer.click().run()
    assert not at.exception, at.exception
    assert badge(at), "the best cached model is loaded, not trained"
    assert any(f"`{best.key()}`" in c for c in texts(at.caption))
    assert jobs.list_jobs() == [] and not cache.exists(wanted)  # nothing was trained


def test_the_train_page_imports_no_tensorflow_until_it_shows_a_model(cache_dir):
    """A cold server's first training waits for a worker that imports TensorFlow; the page must not import it too
    (on 2 cores the two imports slowed each other). With nothing cached, nothing on the page needs a model."""
    import os
    import subprocess
    import sys

    from tests.helpers import REPO
    from tests.test_start_page import _FRESH_RUN

    page = str(REPO / "dashboard" / "app_pages" / "training.py")
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_RUN, page], cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir), NEURAL_LAB_JOB_WORKERS="1"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["exception"] == [] and report["titles"] == ["Train a network"]
    assert not report["tensorflow"] and not report["keras"], "the Train page's script run imported TensorFlow"
