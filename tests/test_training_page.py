"""The Training page in AppTest: submit trains once, the same controls load from the cache, the URL
restores the view, bad URLs warn, interruptions cache nothing; plus the live listener's throttling."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest

from core import cache
from core.config import RunConfig
from core.training import TrainingEvent
from dashboard import resources
from dashboard.live import NOTE_KEY, WAITING_MESSAGE, LiveTraining, SweepProgress, progress_text

PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "app_pages" / "training.py")
TRAINED = "trained_this_session"
TINY = {"layers": "1", "units": "16", "epochs": "2", "batch_size": "256"}
TINY_CONFIG = RunConfig(layers=1, units=16, epochs=2, batch_size=256)


@pytest.fixture
def fresh(cache_dir):
    resources.forget_models()
    yield cache_dir
    resources.forget_models()


def open_page(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    return at.run()


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def submit(at: AppTest) -> AppTest:
    return next(b for b in at.button if b.label == "Train / load").click().run()


def badge(at: AppTest) -> list[str]:
    return [t for t in texts(at.success) if t.startswith("Loaded from cache")]


def test_submit_trains_once_then_the_same_controls_and_the_url_load_from_cache(fresh):
    at = open_page(TINY)
    assert not at.exception
    assert any("has not been trained yet" in t for t in texts(at.info))
    assert not cache.exists(TINY_CONFIG)

    at = submit(at)
    assert not at.exception, at.exception
    assert at.session_state[TRAINED] == [TINY_CONFIG.key()]
    assert cache.exists(TINY_CONFIG)
    assert not badge(at)
    labels = [m.label for m in at.metric]
    assert {"Test accuracy", "Parameters", "Seconds per epoch"} <= set(labels)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    loss = next(c for c in charts if c["layout"].get("title", {}).get("text", "").startswith("Loss"))
    assert [t["name"] for t in loss["data"]][:2] == ["train", "validation"] and len(loss["data"][0]["y"]) == 2
    assert any(t["name"].startswith("best validation") for t in loss["data"])
    created = cache.read_meta(TINY_CONFIG.key())["created"]

    at = submit(at)  # the same controls again
    assert not at.exception
    assert at.session_state[TRAINED] == [TINY_CONFIG.key()], "a cached combination was trained again"
    assert badge(at) and "2 epochs" in badge(at)[0]
    assert cache.read_meta(TINY_CONFIG.key())["created"] == created

    # A new session opening the same address: same controls, same cached model, no click needed.
    other = open_page(TINY)
    assert badge(other)
    assert TRAINED not in other.session_state
    epochs_slider = next(s for s in other.slider if s.label == "Epochs")
    assert epochs_slider.value == 2
    assert any(f"`{TINY_CONFIG.key()}`" in c for c in texts(other.caption))
    code = next(c for c in other.code)
    assert "keras.Sequential" in code.value and "keras.layers.Dense(16" in code.value


def test_invalid_url_parameters_warn_and_keep_the_rest(fresh):
    at = open_page({"layers": "many", "colour": "red", "dropout": "0.3", "epochs": "999"})
    assert not at.exception
    warnings = " ".join(texts(at.warning))
    assert "layers" in warnings and "colour" in warnings and "epochs" in warnings
    dropout = next(s for s in at.slider if s.label.startswith("Dropout"))
    assert dropout.value == pytest.approx(0.3)
    layers = next(s for s in at.slider if s.label.startswith("Conv blocks"))
    assert layers.value == RunConfig().layers
    assert next(s for s in at.slider if s.label == "Epochs").value == RunConfig().epochs


def test_full_mnist_offline_says_so_and_keeps_the_embedded_set(fresh):
    at = open_page(TINY)
    next(r for r in at.radio if r.label == "Data").set_value("full")
    at = submit(at)
    assert not at.exception
    assert any("Full MNIST is not available" in t for t in texts(at.error))
    assert next(r for r in at.radio if r.label == "Data").value == "embedded"
    assert TRAINED not in at.session_state
    assert cache.entry_keys() == []


def test_loading_a_preset_writes_the_url_and_fills_the_controls(fresh):
    at = open_page()
    next(s for s in at.selectbox if s.label == "Tutorial preset").set_value("seed001-dnn").run()
    at = next(b for b in at.button if b.label == "Load preset").click().run()
    assert not at.exception
    assert at.query_params["units"] in ("64,16", ["64,16"]) and at.query_params["epochs"] in ("50", ["50"])
    assert next(t for t in at.text_input if t.label.startswith("Units per layer")).value == "64,16"
    assert TRAINED not in at.session_state


def test_an_interrupted_run_caches_nothing_and_the_page_says_where_it_stopped(fresh):
    """Stop / a widget change / leaving the page: Streamlit raises from the next st.* call, inside fit."""

    class Interrupting:
        def __init__(self):
            self.calls = 0

        def progress(self, value, text=""):
            if "epoch 2/" in text:
                raise StopException()

        def plotly_chart(self, figure, **kwargs):
            pass

        def info(self, *args, **kwargs):
            pass

    config = TINY_CONFIG.replace(epochs=4)
    notes: dict = {}
    listener = LiveTraining(config, progress=Interrupting(), loss_chart=Interrupting(), accuracy_chart=Interrupting(), notes=notes, progress_interval=0)
    with pytest.raises(StopException):
        cache.get_or_train(config, listener)
    assert not cache.exists(config)
    assert not list(fresh.glob(".tmp-*")) and cache.entry_keys() == []
    assert not cache.is_training_elsewhere(config), "the training lock was not released"
    assert notes[NOTE_KEY]["epoch"] == 1 and notes[NOTE_KEY]["epochs"] == 4

    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state[NOTE_KEY] = notes[NOTE_KEY]
    at.run()
    assert any("stopped at epoch 1 of 4" in t and "not cached" in t for t in texts(at.warning))
    at.run()  # said once, then forgotten
    assert not any("stopped at epoch" in t for t in texts(at.warning))


def test_a_combination_training_in_another_session_is_announced(fresh):
    lock = cache._lock(TINY_CONFIG.key())
    lock.acquire()
    try:
        at = open_page(TINY)
    finally:
        lock.release()
    assert any("being trained in another session" in t for t in texts(at.info))


def test_after_waiting_for_another_session_the_badge_says_that_session_trained_it(fresh):
    from core.training import train

    other_run = train(TINY_CONFIG)  # the other session's model, saved while it holds the lock
    holding, done = threading.Event(), threading.Event()

    def other_session():
        lock = cache._lock(TINY_CONFIG.key())
        with lock:
            holding.set()
            time.sleep(3)  # long enough for the page to find it busy and start waiting
            cache.save(other_run)
        done.set()

    threading.Thread(target=other_session, daemon=True).start()
    assert holding.wait(30)
    at = submit(open_page(TINY))
    assert done.is_set()
    assert not at.exception, at.exception
    assert TRAINED not in at.session_state, "this session trained it itself"
    waited = [t for t in texts(at.success) if t.startswith("Loaded: another session trained it while this one waited")]
    assert len(waited) == 1 and waited[0].endswith("Nothing was trained here."), texts(at.success)
    assert badge(at) == []
    at.run()  # a later visit is an ordinary cache hit
    assert len(badge(at)) == 1


def test_sweep_trains_the_missing_cells_and_compare_overlays_runs(fresh):
    at = open_page(TINY)
    at.multiselect(key="sweep_layers").set_value([1])
    at.multiselect(key="sweep_units").set_value([8, 16])
    at.run()
    heatmap = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert heatmap["data"][0]["text"] == [["not trained", "not trained"]]
    at = at.button(key="sweep_train").click().run()
    assert not at.exception, at.exception
    assert len(cache.entry_keys()) == 2
    heatmap = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert all(text.endswith("%") for text in heatmap["data"][0]["text"][0])
    assert "sweep_train" not in [b.key for b in at.run().button]  # nothing left to train

    at.multiselect(key="compare_runs").set_value(cache.entry_keys())
    at.run()
    compare = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "per epoch" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert len(compare["data"]) == 2


# -- the listener, without Streamlit ------------------------------------------------------------


class Sink:
    def __init__(self):
        self.progress_texts: list[str] = []
        self.figures: list = []
        self.infos: list[str] = []

    def progress(self, value, text=""):
        assert 0.0 <= value <= 1.0
        self.progress_texts.append(text)

    def plotly_chart(self, figure, **kwargs):
        self.figures.append(figure)

    def info(self, text, **kwargs):
        self.infos.append(text)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _history(epochs: int) -> dict[str, list[float]]:
    return {name: [0.5] * epochs for name in ("loss", "val_loss", "accuracy", "val_accuracy")}


def test_listener_throttles_progress_and_charts_and_keeps_within_its_budget():
    clock, progress, charts = Clock(), Sink(), Sink()
    config = TINY_CONFIG.replace(epochs=20)
    listener = LiveTraining(config, progress=progress, loss_chart=charts, accuracy_chart=charts, chart_interval=0.5, progress_interval=0.25, budget=1.0, clock=clock)
    listener(TrainingEvent("start", epochs=20, steps=10))
    for epoch in range(1, 21):
        for batch in range(1, 11):
            clock.now += 0.01  # 10 ms per batch: 100 batch events per second
            listener(TrainingEvent("batch", epoch, 20, batch, 10, clock.now))
        listener(TrainingEvent("epoch", epoch, 20, 0, 10, clock.now, history=_history(epoch)))
    listener(TrainingEvent("end", 20, 20, 0, 10, clock.now, history=_history(20)))
    # 2 s of training: progress about every 0.25 s (+ start and the last epoch/end), never per batch.
    assert 8 <= listener.progress_updates <= 14
    # Curves at most every 0.5 s (0.1 s epochs), never for the last epoch (the page draws that).
    assert 3 <= listener.chart_updates <= 5
    assert len(charts.figures) == 2 * listener.chart_updates
    assert "epoch 20/20" in progress.progress_texts[-1]


def test_listener_budget_skips_charts_when_drawing_is_slow():
    clock = Clock()

    class SlowCharts(Sink):
        def plotly_chart(self, figure, **kwargs):
            clock.now += 0.05  # 50 ms per figure: 0.1 s per redraw

    listener = LiveTraining(TINY_CONFIG.replace(epochs=100), progress=Sink(), loss_chart=SlowCharts(), accuracy_chart=SlowCharts(), chart_interval=0.0, budget=0.05, clock=clock)
    listener(TrainingEvent("start", epochs=100, steps=1))
    for epoch in range(1, 101):
        clock.now += 0.1
        listener(TrainingEvent("epoch", epoch, 100, 0, 1, clock.now, history=_history(epoch)))
    assert listener.drawing_seconds <= 0.05 * clock.now + 0.1 + 1e-9
    assert listener.chart_updates >= 3  # still draws now and then


def test_listener_keeps_the_note_and_reports_waiting():
    progress, notes = Sink(), {}
    listener = LiveTraining(TINY_CONFIG, progress=progress, loss_chart=Sink(), accuracy_chart=Sink(), notes=notes)
    listener(TrainingEvent("waiting", epochs=2))
    assert progress.infos == [WAITING_MESSAGE] and listener.waited
    listener(TrainingEvent("start", epochs=2, steps=3))
    listener(TrainingEvent("epoch", 1, 2, 0, 3, 1.0, history=_history(1)))
    assert notes[NOTE_KEY]["epoch"] == 1 and notes[NOTE_KEY]["key"] == TINY_CONFIG.key()


def test_progress_text_and_sweep_progress():
    event = TrainingEvent("batch", epoch=3, epochs=10, batch=5, steps=10, elapsed=5.0)
    assert progress_text(event).startswith("epoch 3/10 · batch 5/10 · 5 s elapsed · about")
    sink = Sink()
    sweep = SweepProgress(sink, 1, 4, "2 × 16")
    sweep(TrainingEvent("start", epochs=2, steps=1))
    assert sink.progress_texts[-1].startswith("cell 2/4: 2 × 16")
