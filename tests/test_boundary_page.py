"""AppTest of the decision-boundary page: data before training, train with live view, replay, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from core.config import RunConfig

PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "app_pages" / "boundary.py")
SMALL = {"dataset": "xor", "n_samples": "40", "epochs": "3", "batch_size": "20", "units": "3"}


def _app(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    for name, value in params.items():
        at.query_params[name] = value
    return at


def _config(**changes) -> RunConfig:
    base = RunConfig(task="toy", dataset="xor", layers=2, units=3, activation="tanh", optimizer="adam", learning_rate=0.03,
                     batch_size=20, epochs=3, n_samples=40, train_ratio=0.5)
    return base.replace(**changes)


def _main_spec(at: AppTest) -> str:
    """The main (clickable) boundary plot's JSON."""
    return next(c.proto.spec for c in at.get("plotly_chart") if "click to add a point" in c.proto.spec)


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_untrained_combination_shows_the_data_and_a_train_button(cache_dir):
    at = _app(SMALL).run()
    assert not at.exception
    assert any("not been trained yet" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) >= 2  # the data plot + the (empty) small multiples
    assert cache.list_runs().empty


def test_train_button_trains_caches_and_shows_replay_metrics_and_neurons(cache_dir):
    at = _app(SMALL).run()
    _button(at, "Train").click().run()
    assert not at.exception, at.exception
    assert cache.exists(_config())
    slider = next(s for s in at.select_slider if s.label.startswith("Replay"))
    assert slider.options == ["1", "2", "3"] and str(slider.value) == "3"
    labels = [m.label for m in at.metric]
    assert {"Train loss", "Test loss", "Train accuracy", "Test accuracy"} <= set(labels)
    assert "final model" in _main_spec(at)
    # Scrub back to epoch 1: the figure is the recorded snapshot, the metrics those of epoch 1.
    slider.set_value(1).run()
    assert not at.exception
    assert "after epoch 1" in _main_spec(at) and "final model" not in _main_spec(at)
    assert any(m.value == "**At epoch 1**" for m in at.markdown)
    # Inside the network: one heatmap per hidden neuron (2 layers x 3 units).
    assert any('"layer 2 \\u00b7 unit 3"' in c.proto.spec or "layer 2 · unit 3" in c.proto.spec for c in at.get("plotly_chart"))


def test_a_second_visit_loads_from_the_cache_without_training(cache_dir, monkeypatch):
    at = _app(SMALL).run()
    _button(at, "Train").click().run()
    assert cache.exists(_config())

    import core.training

    def fail(*args, **kwargs):
        raise AssertionError("trained again although cached")

    monkeypatch.setattr(core.training, "train", fail)
    again = _app(SMALL).run()
    assert not again.exception
    assert any(s.label.startswith("Replay") for s in again.select_slider)


def test_degenerate_split_gives_a_clear_message_and_trains_nothing(cache_dir):
    at = _app({"dataset": "blobs", "n_samples": "10", "train_ratio": "0.1"}).run()
    assert not at.exception
    assert any("nothing was trained" in e.value and "no points of class" in e.value for e in at.error)
    assert not [b for b in at.button if b.label == "Train"]
    assert cache.list_runs().empty


def test_user_points_from_the_url_are_drawn_and_clearable(cache_dir):
    at = _app({**SMALL, "user_points": "1:2:1;-3:4:0"}).run()
    assert not at.exception
    assert any("2 point(s) of yours" in c.value for c in at.caption)
    assert '"yours' in _main_spec(at)
    at.toggle(key="boundary_auto_retrain").set_value(False)
    _button(at, "Clear my points").click().run()
    assert not at.exception
    assert "user_points" not in at.query_params
    assert not any("point(s) of yours" in c.value for c in at.caption)


def test_bad_url_values_are_named_and_ignored(cache_dir):
    at = _app({"dataset": "moons", "noise": "7"}).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "dataset" in warnings and "noise" in warnings


@pytest.mark.parametrize("dataset", ["three_class"])
def test_three_classes_offer_three_click_classes(cache_dir, dataset):
    at = _app({**SMALL, "dataset": dataset, "n_samples": "60"}).run()
    assert not at.exception
    control = at.get("button_group")[0]
    assert len(control.proto.options) == 3


def test_small_multiples_train_missing_cells_with_progress(cache_dir):
    at = _app(SMALL).run()
    at.multiselect(key="multiples_layers").set_value([0, 1])
    at.multiselect(key="multiples_units").set_value([2])
    at.run()
    assert any("not trained yet" in c.value for c in at.caption)
    next(b for b in at.button if b.label.startswith("Train the 2 missing")).click().run()
    assert not at.exception
    assert cache.exists(_config(layers=0, units=2)) and cache.exists(_config(layers=1, units=2))
    spec = at.get("plotly_chart")[-1].proto.spec
    assert "test " in spec and "not trained" not in spec


def test_stop_during_training_caches_nothing_and_says_where_it_stopped(cache_dir, monkeypatch):
    """Stop (or any widget) reruns the page: Streamlit raises StopException from the next st.* call inside fit."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    import core.boundary

    original = core.boundary.LiveBoundary.on_epoch_end

    def interrupt_at_epoch_2(self, epoch, logs=None):
        if epoch + 1 == 2:
            raise StopException()  # what st.plotly_chart raises once the user pressed Stop (epoch 2 was reported)
        return original(self, epoch, logs)

    monkeypatch.setattr(core.boundary.LiveBoundary, "on_epoch_end", interrupt_at_epoch_2)
    at = _app(SMALL).run()
    _button(at, "Train").click().run()
    assert any(b.label == "Stop training" for b in at.button)
    assert not cache.exists(_config()) and cache.list_runs().empty
    at.run()
    assert not at.exception
    assert any("stopped at epoch 2 of 3" in w.value and "not cached" in w.value for w in at.warning)
    assert any("not been trained yet" in i.value for i in at.info)
    at.run()  # said once, then forgotten
    assert not any("stopped at epoch" in w.value for w in at.warning)


def test_a_lesson_in_the_url_explains_itself_above_the_plot(cache_dir):
    from core.config import preset
    from dashboard.state import full_params

    at = _app(full_params(preset("seed003-xor-2layer"))).run()
    assert not at.exception
    lesson = next(c.value for c in at.caption if c.value.startswith("Lesson **seed003-xor-2layer**"))
    assert "Fragile" in lesson and "4x4" in lesson  # the 2-2 network's failure with seed 0, and where to go instead
    at = _app({**full_params(preset("seed003-xor-2layer")), "seed": "1"}).run()
    assert not any(c.value.startswith("Lesson") for c in at.caption)  # another seed is no longer the lesson
