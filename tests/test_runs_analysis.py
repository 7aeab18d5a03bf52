"""Runs page, "What mattered" (AppTest and the charts): importance over enough runs, a clear note with
too few, toy runs left out, the Pareto front drawn, and every run point carrying its key for a click.

The entries are written as listings see them (meta + config, no model): the section never loads a model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from core.config import RunConfig
from core.importance import MIN_RUNS
from dashboard.charts import runs_analysis as charts
from dashboard.views.runs_analysis import clicked_key
from tests.helpers import REPO, write_listed_entry


def _app():
    return AppTest.from_file(str(REPO / "dashboard" / "app_pages" / "runs.py"), default_timeout=120)


def grid_runs(layers=(1, 2, 3), seeds=(0, 1, 2)) -> list[str]:
    """layers x seed: accuracy climbs with depth, the seed adds only a little noise."""
    keys = []
    for depth in layers:
        for seed in seeds:
            config = RunConfig(layers=depth, units=32, epochs=2, seed=seed)
            keys.append(write_listed_entry(config, 0.85 + 0.04 * depth + 0.001 * seed, params=10_000 * depth, seconds=depth + seed / 10))
    return keys


def _markdown(at) -> str:
    return " ".join(str(item.value) for item in [*at.markdown, *at.caption, *at.info, *at.warning])


def test_an_empty_cache_gets_one_line_not_a_second_how_to_start(cache_dir):
    at = _app()
    at.run()
    assert not at.exception
    text = _markdown(at)
    assert "appear here once a few MNIST runs are cached" in text and "No MNIST run is cached yet" not in text
    assert not at.get("plotly_chart")


def test_no_mnist_run_says_how_to_start_and_leaves_toy_runs_out(cache_dir):
    write_listed_entry(RunConfig(task="toy", dataset="xor", epochs=2), 0.9)
    at = _app()
    at.run()
    assert not at.exception
    text = _markdown(at)
    assert "No MNIST run is cached yet" in text and "toy 2-D run(s) are left out" in text
    assert "core sweep" in text


def test_too_few_runs_say_how_many_more_and_still_draw_the_pareto_front(cache_dir):
    grid_runs(layers=(1, 2), seeds=(0, 1))  # 4 runs
    write_listed_entry(RunConfig(layers=1, units=8, epochs=1), None)  # no test accuracy: left out, and said so
    at = _app()
    at.run()
    assert not at.exception
    text = _markdown(at)
    assert f"at least {MIN_RUNS} runs" in text and f"Train {MIN_RUNS - 4} more" in text and "Layers × units" in text
    assert "1 run(s) without a test accuracy are left out" in text
    charts_drawn = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert len(charts_drawn) == 3  # marginals + two Pareto charts, no importance bars
    assert any("Pareto front" in spec for spec in charts_drawn)


def test_enough_runs_rank_the_knob_that_mattered_above_the_seed(cache_dir):
    grid_runs()
    at = _app()
    at.run()
    assert not at.exception
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    bars = next(spec for spec in specs if spec["data"][0]["type"] == "bar")["data"][0]
    labels, shares = list(bars["y"])[::-1], list(bars["x"])[::-1]  # drawn bottom-up: most important first again
    assert labels[0] == "layers" and shares[0] > 0.9
    assert dict(zip(labels, shares, strict=True))["seed"] < 0.05
    text = _markdown(at)
    assert "**layers** mattered most" in text and "The seed (pure chance)" in text and "fANOVA" in text


def test_pareto_figure_draws_the_front_cheapest_first_and_every_point_has_its_key():
    runs = pd.DataFrame({
        "key": list("abcd"), "description": ["A", "B", "C", "D"],
        "test_accuracy": [0.90, 0.95, 0.85, 0.97], "params": [100, 200, 300, 400],
    })
    on_front = [True, True, False, True]
    figure = charts.pareto_figure(runs, "params", "parameters", on_front)
    rest, front = figure.data
    assert list(front.x) == [100, 200, 400] and front.line.shape == "hv"
    assert list(rest.x) == [300]
    assert [row[0] for row in front.customdata] == ["a", "b", "d"] and [row[0] for row in rest.customdata] == ["c"]
    assert figure.layout.xaxis.type == "log"


def test_marginal_figure_has_one_panel_per_knob_and_a_log_axis_for_the_learning_rate():
    runs = pd.DataFrame({
        "key": list("abcd"), "description": list("ABCD"), "test_accuracy": [0.9, 0.92, 0.95, 0.91],
        "learning_rate": [1e-4, 1e-3, 1e-2, 1e-3], "optimizer": ["adam", "sgd", "adam", "sgd"],
    })
    figure = charts.marginal_figure(runs, ["learning_rate", "optimizer"], log_names={"learning_rate"})
    assert len(figure.data) == 2
    assert figure.layout.xaxis.type == "log" and figure.layout.xaxis2.type == "category"
    assert [row[0] for row in figure.data[0].customdata] == list("abcd")


def test_importance_bars_mark_what_cannot_be_told():
    items = pd.DataFrame({"label": ["layers", "seed", "units"], "share": [0.8, 0.0, np.nan], "groups": [3, 3, 9]})
    bar = charts.importance_bars(items).data[0]
    assert list(bar.y) == ["units", "seed", "layers"]  # most important on top
    assert "can't tell" in bar.text[0]


def test_a_click_reads_the_run_key_from_the_browser_or_apptest_form():
    assert clicked_key({"selection": {"points": [{"x": 1, "y": 0.9, "customdata": ["abc"]}]}}) == "abc"
    assert clicked_key({"selection": {"points": [{"x": 1, "y": 0.9, "customdata": {"0": "abc"}}]}}) == "abc"
    assert clicked_key({"selection": {"points": []}}) is None
    assert clicked_key({"selection": {"points": [{"x": 1, "y": 0.9}]}}) is None  # a bar or a point without a key
