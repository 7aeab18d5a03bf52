"""The Inside the network page through AppTest, on tiny models trained into a cache of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from core.config import RunConfig
from core.presets import preset
from core.training import train
from dashboard import state
from dashboard.views import inside as view

PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "app_pages" / "inside.py")
TINY_MLP = RunConfig(arch="mlp", layers=1, units=8, epochs=2, batch_size=256)
LOGISTIC = RunConfig(arch="mlp", layers=0, epochs=1, batch_size=512)
OLD = RunConfig(arch="mlp", layers=1, units=6, epochs=1, batch_size=512)  # stored as if trained before recording
DAMAGED = RunConfig(arch="mlp", layers=1, units=5, epochs=1, batch_size=512)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inside-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))
        cache.get_or_train(TINY_MLP)
        cache.get_or_train(LOGISTIC)
        old = train(OLD)
        old.arrays = {}
        cache.save(old)
        damaged = train(DAMAGED)
        damaged.arrays.pop("inside_gradient_norms")
        cache.save(damaged)
        yield folder


@pytest.fixture
def app(folder, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))

    def open_page(config: RunConfig | None = TINY_MLP) -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=180)
        for name, value in (state.encode(config, preset("base")) if config is not None else {}).items():
            at.query_params[name] = value
        return at.run()

    return open_page


def _texts(elements) -> str:
    return " ".join(element.value for element in elements)


def test_no_cached_model_says_so_and_offers_the_lessons(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    assert "No MNIST model has been trained yet" in _texts(at.info)
    labels = [button.label for button in at.button]
    assert labels.count("Train the 2 missing model(s) of this lesson") == 2  # vanishing gradients, dying ReLUs


def test_embedding_histograms_and_health_of_a_recorded_mlp(app):
    at = app(TINY_MLP)
    assert not at.exception, at.exception
    assert at.selectbox(key=view.MODEL).value == TINY_MLP.key()
    slider = at.select_slider(key=view.EPOCH)
    assert list(slider.options) == ["before training", "epoch 1", "epoch 2"] and slider.value == 2
    charts = [chart for chart in at.get("plotly_chart")]
    assert len(charts) >= 5  # embedding, weights, activations, gradient norms, dead units
    first = charts[0].proto.spec
    at = slider.set_value(0).run()
    assert not at.exception, at.exception
    assert at.get("plotly_chart")[0].proto.spec != first  # the scatter moved to the untrained network
    table = at.dataframe[0].value
    assert list(table["layer"]) == ["dense_1", "probabilities"]
    assert table["dead units"].iloc[0].endswith("%")
    at = at.radio(key=view.KIND).set_value("ridgeline").run()
    assert not at.exception, at.exception


def test_logistic_regression_says_it_has_no_hidden_layer(app):
    at = app(LOGISTIC)
    assert not at.exception, at.exception
    assert "no hidden layer" in _texts(at.info)
    assert not [slider for slider in at.select_slider if slider.key == view.EPOCH]
    assert at.dataframe  # the gradient table still applies


def test_a_run_trained_before_recording_is_explained_not_retrained(app, folder):
    at = app(OLD)
    assert not at.exception, at.exception
    assert "trained before Neural Lab recorded" in _texts(at.info)
    assert not at.get("plotly_chart") or all(chart.proto.id != "inside_embedding" for chart in at.get("plotly_chart"))
    assert cache.exists(OLD)  # nothing destructive happened
    # The offer: the before/after views from the saved model, computed on request, nothing written.
    entry_files = sorted(path.name for path in cache.entry_path(OLD.key()).iterdir())
    at.button(key=f"saved_views_{OLD.key()}").click().run()
    assert not at.exception, at.exception
    assert "Computed from the saved model" in _texts(at.caption)
    epochs = [slider for slider in at.select_slider if slider.key == view.EPOCH]
    assert epochs and list(epochs[0].options) == ["before training", "epoch 1"]
    assert sorted(path.name for path in cache.entry_path(OLD.key()).iterdir()) == entry_files


def test_damaged_recording_warns_and_the_rest_works(app):
    at = app(DAMAGED)
    assert not at.exception, at.exception
    assert "damaged" in _texts(at.warning)
    assert not [slider for slider in at.select_slider if slider.key == view.EPOCH]
    assert at.selectbox(key=view.MODEL).value == DAMAGED.key()  # the picker still works
    assert any(button.label.startswith("Train the") for button in at.button)  # and the lessons


def test_toy_address_points_to_the_boundary_page(app):
    at = app(RunConfig(task="toy", dataset="xor", layers=2, units=4, activation="tanh"))
    assert not at.exception, at.exception
    assert "toy 2-D run" in _texts(at.info)


def test_every_widget_of_the_page_has_help(app):
    at = app(TINY_MLP)
    widgets = list(at.selectbox) + list(at.select_slider) + list(at.radio) + list(at.button)
    assert widgets
    for widget in widgets:
        assert widget.help, f"{type(widget).__name__} {widget.label!r} has no help"
