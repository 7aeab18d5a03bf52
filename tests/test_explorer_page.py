"""The Misclassified explorer page through AppTest, on tiny models trained into a cache of its own."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import cache, evaluation
from core.config import RunConfig
from core.presets import preset
from dashboard import state

PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "app_pages" / "explorer.py")
TINY_MLP = RunConfig(arch="mlp", layers=1, units=8, epochs=1, batch_size=256)
TINY_CNN = RunConfig(arch="cnn", layers=1, units=4, epochs=1, batch_size=256)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A cache holding a tiny MLP, a tiny CNN and a toy run (which the explorer must not list)."""
    folder = tmp_path_factory.mktemp("explorer-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))
        runs = {config: cache.get_or_train(config) for config in (TINY_MLP, TINY_CNN)}
        cache.get_or_train(RunConfig(task="toy", dataset="xor", layers=1, units=2, epochs=1))
        yield folder, runs


@pytest.fixture
def app(trained, monkeypatch):
    folder, _ = trained
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))

    def open_page(config: RunConfig | None = TINY_MLP, **extra: str) -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=120)
        params = state.encode(config, preset("base")) if config is not None else {}
        params.update(extra)
        for name, value in params.items():
            at.query_params[name] = value
        return at.run()

    return open_page


def _predictions(trained, config):
    from core.data import load_mnist

    _, runs = trained
    splits = load_mnist("embedded")
    return evaluation.test_predictions(config.key(), runs[config].model, splits.x_test, splits.y_test)


def _count_line(at: AppTest) -> str:
    lines = [m.value for m in at.markdown if "errors**" in m.value]
    assert len(lines) == 1, [m.value for m in at.markdown]
    return lines[0]


def _gallery_size(at: AppTest) -> int:
    return len([button for button in at.button if button.key and button.key.startswith("open_")])


def test_no_cached_model_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert any("No MNIST model has been trained yet" in info.value for info in at.info)


def test_opens_the_model_from_the_url_and_lists_only_mnist_runs(app, trained):
    at = app(TINY_MLP)
    assert not at.exception, at.exception
    model = at.selectbox(key="explorer_model")
    assert model.value == TINY_MLP.key()
    assert set(model.options) == {label for label in model.options if "toy" not in label.lower()}
    assert len(model.options) == 2
    predictions = _predictions(trained, TINY_MLP)
    wrong = int(predictions.wrong.sum())
    assert f"**{wrong:,} errors** of 1,000 test digits" in _count_line(at)
    assert _gallery_size(at) == min(wrong, 24)
    first = evaluation.misclassified(predictions).iloc[0]
    captions = [caption.replace("\u00a0", " ") for image in at.get("image") for caption in image.captions]
    expected = f"pred {int(first['predicted'])} / true {int(first['true'])} · {first['confidence'] * 100:.0f} %"
    assert expected in captions
    assert all(image.proto.imgs[0].url.endswith(".png") for image in at.get("image"))  # no JPEG blur


def _most_accurate(folder) -> str:
    import os

    os.environ["NEURAL_LAB_CACHE_DIR"] = str(folder)
    return max(cache.list_runs(), key=lambda run: (run.config.task == "mnist", run.test_accuracy or -1)).key


def test_a_model_not_trained_yet_opens_the_best_cached_one_and_says_so(app, trained):
    at = app(RunConfig(arch="mlp", layers=3, units=7, epochs=1))
    assert not at.exception
    note = " ".join(info.value for info in at.info)
    assert "has no trained model yet" in note and "most accurate of the 2 cached MNIST models" in note
    best = _most_accurate(trained[0])
    assert at.selectbox(key="explorer_model").value == best
    assert _gallery_size(at) > 0  # a real page, not two empty pickers


def test_opened_from_the_sidebar_without_an_address_it_shows_a_model(app, trained):
    at = app(None)  # the sidebar link: no query parameters at all
    assert not at.exception
    best = _most_accurate(trained[0])
    assert at.selectbox(key="explorer_model").value == best
    assert any("names no trained model" in info.value for info in at.info)
    assert [chart for chart in at.get("plotly_chart") if chart.key == "explorer_confusion"]
    assert at.query_params["layers"]  # the address now names the model shown: shareable


def test_the_model_looked_at_last_wins_over_the_best(app, trained):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["neural_lab_recent_model"] = TINY_CNN.key()
    at.run()
    assert at.selectbox(key="explorer_model").value == TINY_CNN.key()
    assert any("the model you looked at last" in info.value for info in at.info)


def test_class_filter_changes_the_count(app, trained):
    at = app(TINY_MLP)
    predictions = _predictions(trained, TINY_MLP)
    errors = evaluation.misclassified(predictions)
    true_class = int(errors["true"].value_counts().index[0])  # the class with most errors
    at.selectbox(key="explorer_true").select(true_class).run()
    expected = len(evaluation.misclassified(predictions, true_class=true_class))
    assert expected < len(errors)
    assert f"**{expected:,} errors** of 1,000 test digits for true {true_class}" in _count_line(at)
    assert at.query_params["true"] == [str(true_class)] or at.query_params["true"] == str(true_class)


def test_selecting_a_confusion_cell_filters_the_gallery_to_that_pair(app, trained):
    at = app(TINY_MLP)
    predictions = _predictions(trained, TINY_MLP)
    errors = evaluation.misclassified(predictions)
    pair = errors.groupby(["true", "predicted"]).size().idxmax()
    true_class, predicted_class = int(pair[0]), int(pair[1])
    expected = evaluation.misclassified(predictions, true_class, predicted_class)
    # The chart's click handler writes this request; the filters follow it on the next run.
    at.session_state["explorer_cell_request"] = (true_class, predicted_class)
    at.run()
    assert not at.exception
    assert at.selectbox(key="explorer_true").value == true_class
    assert at.selectbox(key="explorer_pred").value == predicted_class
    assert f"**{len(expected):,} errors** of 1,000 test digits for true {true_class} / predicted {predicted_class}" in _count_line(at)
    shown = sorted(int(button.key.split("_")[1]) for button in at.button if button.key and button.key.startswith("open_"))
    assert shown == sorted(expected["index"].head(24).tolist())


def test_an_empty_filter_says_no_errors_for_that_pair(app, trained):
    predictions = _predictions(trained, TINY_MLP)
    matrix = evaluation.confusion_matrix(predictions.labels, predictions.predicted)
    empty = [(t, p) for t in range(10) for p in range(10) if t != p and matrix[t, p] == 0]
    assert empty, "the tiny model confuses every pair: pick a smaller model for this test"
    true_class, predicted_class = empty[0]
    at = app(TINY_MLP, true=str(true_class), pred=str(predicted_class))
    assert not at.exception
    assert any(f"No errors for true {true_class} / predicted {predicted_class}." in info.value for info in at.info)
    assert _gallery_size(at) == 0


def test_bad_url_parameters_are_named_and_ignored(app):
    at = app(TINY_MLP, true="12", digit="99999", compare="nothing")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "true='12'" in warnings and "digit='99999'" in warnings and "compare='nothing'" in warnings
    assert at.selectbox(key="explorer_true").value == "any"


def test_sort_by_index_orders_the_gallery(app, trained):
    at = app(TINY_MLP, sort="index")
    shown = [int(button.key.split("_")[1]) for button in at.button if button.key and button.key.startswith("open_")]
    assert shown == sorted(shown) and len(shown) > 1
    by_confidence = app(TINY_MLP)
    first = [int(b.key.split("_")[1]) for b in by_confidence.button if b.key and b.key.startswith("open_")]
    predictions = _predictions(trained, TINY_MLP)
    confidence = predictions.confidence[first]
    assert np.all(np.diff(confidence) <= 1e-7)  # most confident mistakes first


def test_detail_of_a_cnn_digit_shows_saliency_filters_and_feature_maps(app, trained):
    predictions = _predictions(trained, TINY_CNN)
    index = int(evaluation.misclassified(predictions)["index"].iloc[0])
    at = app(TINY_CNN)
    at.button(key=f"open_{index}").click().run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert re.search(rf"Test digit #{index}\*\*: true \*\*{predictions.labels[index]}\*\*", text)
    assert "First conv layer's 4 filters" in text
    assert at.query_params["digit"] in ([str(index)], str(index))
    titles = [tab.label for tab in at.tabs]
    assert "conv_1" in titles and "pool_1" in titles


def test_detail_of_an_mlp_digit_explains_there_are_no_filters(app, trained):
    predictions = _predictions(trained, TINY_MLP)
    index = int(evaluation.misclassified(predictions)["index"].iloc[0])
    at = app(TINY_MLP, digit=str(index))
    assert not at.exception
    assert any("no filters or feature maps" in c.value for c in at.caption)


def test_two_models_show_fixed_and_introduced_errors(app, trained):
    first, second = _predictions(trained, TINY_MLP), _predictions(trained, TINY_CNN)
    comparison = evaluation.compare_errors(first, second)
    at = app(TINY_MLP, compare=TINY_CNN.key())
    assert not at.exception, at.exception
    at.session_state["explorer_tabs"] = "Compare"  # only the open tab is drawn
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert f"**{len(comparison.fixed)} errors fixed**" in text
    assert f"**{len(comparison.introduced)} errors introduced**" in text
    fixed_cards = [b for b in at.button if b.key and b.key.startswith("fixed_")]
    assert len(fixed_cards) == min(len(comparison.fixed), 15)  # the most confident 15
    assert {int(b.key.split("_")[1]) for b in fixed_cards} <= set(comparison.fixed.tolist())


def test_predictions_are_stored_with_the_entry_and_reused(app, trained):
    folder, _ = trained
    app(TINY_CNN)
    assert (folder / TINY_CNN.key() / "artifacts" / "test_predictions.npz").is_file()


def test_the_confusion_matrix_keeps_its_identity_from_a_cold_run_to_the_next(app):
    """A click on the matrix is sent for the chart's element id, which Streamlit derives from the figure's JSON.

    The rerun a click triggers must render a figure that serialises exactly as before, or the click lands
    on a chart that no longer exists and is lost. It was: the first run drew a freshly built figure, the
    next one a pickled copy from st.cache_data, whose layout keys serialise in another order, so a user's
    first click on a model whose page had just computed its figure did nothing.
    """
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    at = app(TINY_MLP)  # cold: the figure is built in this run
    assert not at.exception, at.exception
    cold = at.get("plotly_chart")[0].proto
    at.run()  # what the click's rerun draws, with no cell chosen yet
    warm = at.get("plotly_chart")[0].proto
    assert warm.spec == cold.spec
    assert warm.id == cold.id
