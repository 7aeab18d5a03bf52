"""Accuracy vs training-set size (#18 part 2): the train_size field (keys of old entries unchanged,
validation, URL, describe, toy reset), the stratified subset, the sizes and the reading in
core.data_size, the chart, the sidebar control and the Train page's "More data?" section."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import cache, data_size, jobs
from core.config import FieldError, RunConfig
from core.data import load_data, load_mnist, stratified_subset_indices, training_subset
from dashboard.charts.data_size import data_size_curve
from dashboard.state import decode, encode
from tests import test_training_ui as ui
from tests.test_training_ui import jobs_settle  # noqa: F401 - a fixture

# Keys computed with the code as it was before train_size existed: cached entries must keep them.
KEYS_BEFORE_TRAIN_SIZE = {
    "a5dd4729bd63b60d": RunConfig(),
    "cbd64b054897bfe9": RunConfig(dataset="full", arch="cnn", layers=2, units=(32, 64), dense_units=128, epochs=3),
    "eec6be8315fd7be0": RunConfig(task="toy", dataset="xor", noise=0.2, n_samples=300, user_points=((1.0, 2.0, 1),)),
    "09d347d3937596b5": RunConfig(layers=3, units=(128, 64, 16), learning_rate=0.01, dropout=0.2, epochs=5),
}


# -- the field ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(KEYS_BEFORE_TRAIN_SIZE))
def test_a_config_without_train_size_keeps_the_key_it_had_before(key):
    config = KEYS_BEFORE_TRAIN_SIZE[key]
    assert config.key() == key
    assert "train_size" not in config.to_dict()
    assert config.replace(train_size=0).key() == key


def test_train_size_splits_the_key_and_round_trips():
    small = RunConfig(train_size=500)
    assert small.key() != RunConfig().key()
    assert small.to_dict()["train_size"] == 500
    assert RunConfig.from_dict(small.to_dict()) == small
    assert small.replace(layers=3).train_size == 500  # kept through replace (the form builds configs this way)


def test_the_whole_split_is_the_default_model():
    assert RunConfig(train_size=3500).key() == RunConfig().key()
    assert RunConfig(dataset="full", train_size=55000).key() == RunConfig(dataset="full").key()
    assert RunConfig(dataset="full", train_size=3500).train_size == 3500  # a subset of full MNIST


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"train_size": 5}, "use 10 to 3,500"),
        ({"train_size": 4000}, "its training split has 3,500 digits"),
        ({"dataset": "full", "train_size": 60000}, "train_size=60000"),
        ({"train_size": -1}, "train_size=-1"),
        ({"train_size": "500"}, "train_size='500'"),
        ({"train_size": True}, "train_size=True"),
    ],
)
def test_an_impossible_train_size_is_a_field_error(changes, fragment):
    with pytest.raises(FieldError) as error:
        RunConfig(**changes)
    assert error.value.field == "train_size" and fragment in str(error.value)


def test_toy_data_resets_train_size():
    toy = RunConfig(task="toy", dataset="xor", train_size=500)
    assert toy.train_size == 0 and toy.key() == RunConfig(task="toy", dataset="xor").key()


def test_describe_mentions_a_subset_only():
    assert "training digits" not in RunConfig().describe()
    assert RunConfig(train_size=500).describe().startswith("MLP 64-64, 500 of 3,500 training digits, relu")
    assert "20,000 of 55,000 training digits" in RunConfig(dataset="full", train_size=20000).describe()


def test_the_url_carries_train_size_and_warns_on_an_impossible_one():
    config, warnings = decode({"train_size": "500"}, RunConfig())
    assert config.train_size == 500 and warnings == []
    assert encode(config, RunConfig()) == {"train_size": "500"}
    assert "train_size" not in encode(RunConfig(), RunConfig())
    config, warnings = decode({"dataset": "full", "train_size": "20000"}, RunConfig())
    assert (config.dataset, config.train_size) == ("full", 20000) and warnings == []
    config, warnings = decode({"train_size": "9999", "layers": "3"}, RunConfig())
    assert config == RunConfig(layers=3)  # the default kept, the rest applied
    assert len(warnings) == 1 and warnings[0].startswith("train_size must be 0 (all training digits) or a whole number from 10")
    config, warnings = decode({"train_size": "lots"}, RunConfig())
    assert config == RunConfig() and warnings == ["train_size must be 0 (all training digits) or a whole number from 10 to 3,500 (embedded) or 55,000 (full); got 'lots'"]


# -- the subset ---------------------------------------------------------------------------------


def test_load_data_trains_on_a_stratified_subset_and_keeps_validation_and_test():
    whole = load_mnist("embedded")
    subset = load_data(RunConfig(train_size=500))
    assert subset.sizes == {"train": 500, "val": 500, "test": 1000}
    assert np.bincount(subset.y_train).tolist() == [50] * 10
    assert np.array_equal(subset.x_test, whole.x_test) and np.array_equal(subset.y_val, whole.y_val)
    assert "stratified subset of 500" in subset.source
    assert load_data(RunConfig()) is whole  # the default is the whole split, untouched


def test_the_subset_is_fixed_nested_and_exactly_the_size_asked():
    labels = load_mnist("embedded").y_train
    first, again = stratified_subset_indices(labels, 250), stratified_subset_indices(labels, 250)
    assert np.array_equal(first, again)  # a fixed seed: the same digits in every process
    assert set(first) <= set(stratified_subset_indices(labels, 500))  # more data adds digits, never swaps them
    odd = stratified_subset_indices(labels, 255)
    assert len(odd) == len(set(odd)) == 255 and np.bincount(labels[odd]).min() >= 25


def test_an_unbalanced_split_is_filled_to_the_size_asked():
    labels = np.array([0] * 3 + [1] * 50)  # class 0 cannot give its equal share of 20
    chosen = stratified_subset_indices(labels, 40, seed=1)
    assert len(set(chosen)) == 40 and (labels[chosen] == 0).sum() == 3
    with pytest.raises(ValueError):
        stratified_subset_indices(labels, 54)
    assert training_subset(load_mnist("embedded"), 0) is load_mnist("embedded")


# -- sizes and reading --------------------------------------------------------------------------


def test_the_sizes_end_with_the_configuration_itself_and_get_as_many_updates():
    config = RunConfig(layers=1, units=16, epochs=2)
    points = data_size.size_configs(config)
    assert [size for size, _ in points] == [250, 500, 1000, 2000, 3500]
    assert points[-1][1] == config and points[0][1] == config.replace(train_size=250, epochs=28)
    assert [c.epochs for _, c in points] == [28, 14, 7, 4, 2]  # 250 digits x 28 epochs = 3,500 x 2
    assert [c.epochs for _, c in data_size.size_configs(config.replace(epochs=50))][:2] == [200, 200]  # the epochs cap
    assert [size for size, _ in data_size.size_configs(RunConfig(dataset="full"))][-1] == 55000
    assert data_size.size_configs(config.replace(train_size=500)) == points  # any current train_size: the same curve
    with pytest.raises(ValueError, match="for MNIST"):
        data_size.size_configs(RunConfig(task="toy", dataset="xor"))


def test_slope_per_doubling_of_a_known_line():
    assert data_size.slope_per_doubling([250, 500, 1000], [0.70, 0.75, 0.80]) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        data_size.slope_per_doubling([500], [0.8])


SIZES = [250, 500, 1000, 2000, 3500]


@pytest.mark.parametrize(
    "train, test, start",
    [
        ([1.0] * 5, [0.70, 0.76, 0.82, 0.86, 0.89], "Test still rising (+"),
        ([1.0] * 5, [0.80, 0.84, 0.86, 0.862, 0.863], "Flat (+0.2 points"),
        ([0.88, 0.88, 0.87, 0.87, 0.87], [0.80, 0.84, 0.86, 0.862, 0.863], "Flat (+0.2 points"),
    ],
)
def test_the_reading_tells_rising_from_memorising_from_capacity(train, test, start):
    sentence = data_size.reading(SIZES, train, test)
    assert sentence.startswith(start)
    if test[-1] - test[-3] > 0.02:
        assert sentence.endswith("more data would help.")
    elif train[-1] - test[-1] > data_size.WIDE_GAP:
        assert "memorises" in sentence and "14 points above test at 3,500 digits" in sentence
    else:
        assert "capacity-limited" in sentence


def test_the_reading_waits_for_three_finished_sizes():
    nan = math.nan
    assert data_size.reading(SIZES, [nan] * 5, [nan] * 5) == "A reading needs at least 3 finished sizes: 0 so far, 3 more to go."
    assert "2 so far, 1 more" in data_size.reading(SIZES, [0.9, 0.9, nan, nan, nan], [0.8, 0.85, nan, nan, nan])


# -- the chart ----------------------------------------------------------------------------------


def test_the_chart_draws_finished_sizes_as_lines_and_the_rest_as_queued_marks():
    frame = pd.DataFrame(
        {
            "size": [250, 500, 1000, 2000],
            "train_accuracy": [0.99, 0.97, math.nan, math.nan],
            "test_accuracy": [0.80, 0.85, math.nan, math.nan],
            "status": ["done", "done", "queued", "running"],
        }
    )
    figure = data_size_curve(frame)
    assert figure.layout.xaxis.type == "log"
    names = [trace.name for trace in figure.data]
    assert names == ["train accuracy", "test accuracy", "not finished yet"]
    assert list(figure.data[1].y) == [0.80, 0.85]
    assert list(figure.data[2].x) == [1000, 2000] and list(figure.data[2].text) == ["queued", "training…"]
    low, high = figure.layout.yaxis.range
    assert low <= 0.80 and high >= 0.99 and all(y == low for y in figure.data[2].y)


# -- the page -----------------------------------------------------------------------------------


def _section_chart(at) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id and "data_size_chart" in c.proto.id)


def _values(array) -> list:
    """A Plotly spec's array: a list, or (numbers) {'dtype', 'bdata': base64} in its binary form."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


def _reading(at) -> str:
    return next(t for t in ui.texts(at.markdown) if t.startswith("**Reading:**"))


@pytest.mark.usefixtures("jobs_settle")
def test_the_button_queues_the_missing_sizes_and_the_chart_fills_in(cache_dir):
    cache.get_or_train(dict(data_size.size_configs(ui.TINY))[250])  # one size trained before: not queued again
    at = ui.open_training(ui.TINY_PARAMS)
    assert not at.exception, at.exception
    assert "1 so far" in _reading(at)
    button = at.button(key="data_size_train")
    assert button.label == "Train the 4 missing size(s)" and "stratified subset" in button.help
    at = button.click().run()
    assert not at.exception, at.exception
    keys = [config.key() for size, config in data_size.size_configs(ui.TINY) if size != 250]
    assert {job.key for job in jobs.list_jobs()} == set(keys)
    assert any(t.startswith("Training-set sizes:") and "of 4 finished" in t for t in ui.progress_texts(at))
    pending = _section_chart(at)["data"][-1]
    assert pending["name"] == "not finished yet" and _values(pending["x"]) == [500, 1000, 2000, 3500]
    assert set(pending["text"]) <= {"queued", "training…"}
    for key in keys:
        assert ui.finish(key).state == "done"
    at.run()
    assert not at.exception, at.exception
    chart = _section_chart(at)
    assert [trace["name"] for trace in chart["data"]] == ["train accuracy", "test accuracy"]
    assert _values(chart["data"][1]["x"]) == [250, 500, 1000, 2000, 3500]
    assert _reading(at).startswith(("**Reading:** Test still rising", "**Reading:** Flat"))
    assert "data_size_train" not in [b.key for b in at.button]
    assert cache.read_meta(keys[0])["data_sizes"]["train"] == 500
    rows = {summary.key: summary.as_row() for summary in cache.list_runs()}  # the runs table has the column for every run
    assert rows[keys[0]]["train_size"] == 500 and rows[keys[-1]]["train_size"] == 0


@pytest.mark.usefixtures("jobs_settle")
def test_the_sidebar_picks_a_training_size_into_the_address(cache_dir):
    at = ui.open_training(ui.TINY_PARAMS)
    box = next(s for s in at.selectbox if s.label == "Training digits")
    assert box.value == 0 and box.help
    box.set_value(500)
    at = ui.press_train(at)
    assert not at.exception, at.exception
    assert at.query_params["train_size"] in ("500", ["500"])
    box = next(s for s in at.selectbox if s.label == "Training digits")
    box.set_value(25000)
    at = ui.press_train(at)  # more than the embedded split has: refused with a reason, nothing queued
    assert any("train_size=25000 is impossible" in t for t in ui.texts(at.error))
    assert at.query_params["train_size"] in ("500", ["500"])


def _section(config_params: dict) -> AppTest:
    def script(params):
        from core.config import RunConfig
        from dashboard.views.data_size import render_data_size

        render_data_size(RunConfig(**params))

    return AppTest.from_function(script, args=(config_params,), default_timeout=60).run()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"task": "toy", "dataset": "xor"}, "is for MNIST"),
        ({"dataset": "full"}, "Full MNIST is not available here"),  # tests run offline
    ],
)
def test_the_section_explains_what_it_cannot_draw_and_offers_no_button(cache_dir, params, message):
    at = _section(params)
    assert not at.exception, at.exception
    assert any(message in t for t in ui.texts(at.info))
    assert not at.button and not at.get("plotly_chart")
