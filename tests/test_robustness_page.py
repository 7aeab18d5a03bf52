"""The Robustness page through AppTest, on tiny models trained into a cache of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from core.config import RunConfig
from core.presets import preset
from dashboard import state
from dashboard.views import robustness as view

PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "app_pages" / "robustness.py")
SMALL = RunConfig(arch="mlp", layers=1, units=16, epochs=2, batch_size=256)
LOGISTIC = RunConfig(arch="mlp", layers=0, epochs=1, batch_size=512)
TOY = RunConfig(task="toy", dataset="xor", layers=1, units=4, activation="tanh", epochs=2)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("robustness-page-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))
        for config in (SMALL, LOGISTIC, TOY):
            cache.get_or_train(config)
        yield folder


@pytest.fixture
def app(folder, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))

    def open_page(**params: str) -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=180)
        for name, value in params.items():
            at.query_params[name] = value
        return at.run()

    return open_page


def _texts(elements) -> str:
    return " ".join(element.value for element in elements)


def _traces(at: AppTest) -> list[dict]:
    import json

    chart = next(chart for chart in at.get("plotly_chart") if "robustness_chart" in chart.proto.id)
    return json.loads(chart.proto.spec)["data"]


def test_no_cached_mnist_model_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    assert "No MNIST model has been trained yet" in _texts(at.info)
    assert not at.get("plotly_chart")


def test_two_models_on_one_chart_with_a_verdict_and_a_gallery(app, folder):
    at = app()
    assert not at.exception, at.exception
    assert sorted(at.multiselect(key=view.MODELS).value) == sorted([SMALL.key(), LOGISTIC.key()])  # both, from the first look
    assert at.radio(key=view.PERTURBATION).value == "rotation"
    names = [trace["name"] for trace in _traces(at)]
    assert len(names) == 3 and "chance (guessing)" in names
    verdict = _texts(at.success)
    assert "Most robust to rotation" in verdict and "points** more than" in verdict
    assert "of 10 right" in _texts(at.markdown)  # a gallery row per model
    assert at.query_params["perturbation"] == "rotation" and at.query_params["strength"] == "30"
    for config in (SMALL, LOGISTIC):  # each curve is stored with its model
        assert (folder / config.key() / "artifacts" / "robustness_rotation.npz").exists()


def test_switching_perturbation_draws_its_curves_and_keeps_a_slider_each(app):
    at = app()
    before = _traces(at)
    at = at.radio(key=view.PERTURBATION).set_value("fgsm").run()
    assert not at.exception, at.exception
    after = _traces(at)
    assert after != before and "FGSM attack" in after[0]["hovertemplate"] and "FGSM attack" in _texts(at.caption)
    assert at.slider(key=view.STRENGTH + "fgsm").value == pytest.approx(0.1)
    accuracy = after[0]["y"]
    assert accuracy[-1] < accuracy[0]  # the attack wins as epsilon grows
    at = at.slider(key=view.STRENGTH + "fgsm").set_value(0.2).run()
    assert not at.exception, at.exception
    assert at.query_params["strength"] == "0.2" and at.query_params["perturbation"] == "fgsm"


def test_an_address_picks_models_perturbation_and_strength(app):
    at = app(models=LOGISTIC.key(), perturbation="noise", strength="0.45")
    assert not at.exception, at.exception
    assert at.multiselect(key=view.MODELS).value == [LOGISTIC.key()]
    assert at.slider(key=view.STRENGTH + "noise").value == pytest.approx(0.45)
    assert len(_traces(at)) == 2  # one model and the chance line
    assert "Add a second model" in _texts(at.success)


def test_strength_out_of_range_warns_and_keeps_the_default(app):
    at = app(perturbation="rotation", strength="95")
    assert not at.exception, at.exception
    assert "strength must be between 0 and 80 degrees" in _texts(at.warning) and "Kept 30" in _texts(at.warning)
    assert at.slider(key=view.STRENGTH + "rotation").value == 30
    at = app(perturbation="rotation", strength="nan")
    assert "strength must be between" in _texts(at.warning)


def test_unknown_perturbation_and_unknown_model_keys_are_named_and_ignored(app):
    at = app(perturbation="blur", models="0123456789abcdef")
    assert not at.exception, at.exception
    warnings = _texts(at.warning)
    assert "perturbation must be one of" in warnings and "'blur'" in warnings
    assert "no cached MNIST model" in warnings
    assert at.radio(key=view.PERTURBATION).value == "rotation"
    assert len(at.multiselect(key=view.MODELS).value) == 2  # the defaults


def test_a_toy_model_gets_the_these_labs_are_for_mnist_message(app):
    at = app(**state.encode(TOY, preset("base")))
    assert not at.exception, at.exception
    assert "these labs are for MNIST" in _texts(at.info)
    at = app(models=TOY.key())
    assert "these labs are for MNIST" in _texts(at.info)
    assert TOY.key() not in at.multiselect(key=view.MODELS).options


def test_no_model_picked_says_so(app):
    at = app()
    at = at.multiselect(key=view.MODELS).set_value([]).run()
    assert not at.exception, at.exception
    assert "Pick at least one model" in _texts(at.info)
