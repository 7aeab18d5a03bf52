"""dashboard/charts/network.py: pure figures from hand-made inputs (no Streamlit, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from core import calibration, network
from core.config import RunConfig
from dashboard.charts import network as charts


def _graph(limit: int = 16):
    rng = np.random.default_rng(0)
    weights = [(rng.normal(size=(2, 3)), rng.normal(size=3)), (rng.normal(size=(3, 2)), rng.normal(size=2))]
    return weights, network.network_graph(weights, ["inputs", "hidden 1", "output"], limit=limit)


def test_reliability_figure_draws_one_line_and_one_bar_set_per_model_and_the_diagonal():
    good = calibration.reliability(np.array([0.7] * 10 + [0.95] * 20), np.array([True] * 7 + [False] * 3 + [True] * 19 + [False]))
    sure = calibration.reliability(np.ones(10), np.array([True, False] * 5))
    figure = charts.reliability_figure({"a": good, "b": sure})
    lines = [t for t in figure.data if t.type == "scatter" and "ECE" in (t.name or "")]
    assert [t.name for t in lines] == ["a · ECE 0.0%", "b · ECE 50.0%"]
    assert list(lines[0].y) == pytest.approx([0.7, 0.95])  # empty bins are left out
    bars = [t for t in figure.data if t.type == "bar"]
    assert [int(sum(t.y)) for t in bars] == [30, 10]
    assert any(t.name == "perfectly calibrated" for t in figure.data)
    with pytest.raises(ValueError):
        charts.reliability_figure({})


def test_network_figure_colours_edges_by_sign_and_thickens_them_with_magnitude():
    weights, graph = _graph()
    figure = charts.network_figure(graph)
    lines = [t for t in figure.data if t.type == "scatter" and t.mode == "lines"]
    assert sum(len(t.x) // 3 for t in lines) == 2 * 3 + 3 * 2
    positive = sum(len(t.x) // 3 for t in lines if t.line.color == charts.POSITIVE)
    assert positive == int((weights[0][0] > 0).sum() + (weights[1][0] > 0).sum())
    # The strongest weight is drawn in the widest line of its colour.
    strongest = max(np.abs(weights[0][0]).max(), np.abs(weights[1][0]).max())
    widest = max(t.line.width for t in lines)
    assert widest == pytest.approx(0.6 + 1.3 * (charts.WIDTH_CLASSES - 1)) and strongest > 0
    hover = next(t for t in figure.data if t.name == "edge weights")
    assert len(hover.text) == 12 and "weight" in hover.text[0]


def test_network_figure_with_grids_puts_one_heatmap_on_every_node():
    weights, graph = _graph()
    grids = network.layer_grids(weights, ["tanh"], (-1, 1, -1, 1), 8)
    figure = charts.network_figure(graph, grids=grids, bounds=(-1, 1, -1, 1))
    heatmaps = [t for t in figure.data if t.type == "heatmap"]
    assert len(heatmaps) == 2 + 3 + 2
    assert [h.zmin for h in heatmaps][-2:] == [0.0, 0.0] and [h.zmax for h in heatmaps][-2:] == [1.0, 1.0]  # outputs: probabilities


def test_network_figure_summarises_units_left_out():
    rng = np.random.default_rng(1)
    graph = network.network_graph([(rng.normal(size=(30, 20)), np.zeros(20)), (rng.normal(size=(20, 10)), np.zeros(10))],
                                  ["pixels", "hidden 1", "output"], limit=16)
    texts = [a.text for a in charts.network_figure(graph).layout.annotations]
    assert "+14 more" in texts and "+4 more" in texts and not any("+0" in t for t in texts)


def test_blocks_figure_says_every_shape_and_the_total():
    config = RunConfig(arch="cnn", layers=2, units=(4, 8), dense_units=16)
    figure = charts.blocks_figure(network.blocks(config))
    assert f"{network.parameter_count(config):,} parameters in all" == figure.layout.title.text
    texts = " ".join(a.text for a in figure.layout.annotations)
    for shape in ("28×28×1", "28×28×4", "14×14×4", "14×14×8", "7×7×8", "392", "16", "10"):
        assert shape in texts
    assert len(figure.layout.shapes) == len(network.blocks(config))


def test_convolution_figure_outlines_the_window_and_fills_the_map_up_to_the_step():
    image = np.arange(36, dtype=float).reshape(6, 6) / 36
    kernel = np.ones((3, 3))
    feature_map = network.convolve(image, kernel, 1, "valid")
    figure = charts.convolution_figure(image, 0, kernel, network.receptive_field(1, 2, 3, 1), feature_map, filled=6)
    maps = [t for t in figure.data if t.name == "feature map"][0]
    z = np.array(maps.z, dtype=float)
    assert np.isfinite(z.ravel()[:7]).all() and np.isnan(z.ravel()[7:]).all()
    assert figure.layout.meta["output_pixel"] == [1, 2]
    assert figure.layout.meta["value"] == pytest.approx(feature_map[1, 2])
    window = figure.layout.shapes[0]  # the input's window (no padding: no dotted frame before it)
    assert (window.x0, window.x1, window.y0, window.y1) == (1.5, 4.5, 0.5, 3.5)
    products = [t for t in figure.data if t.name == "products"][0]
    assert np.array(products.z).sum() == pytest.approx(feature_map[1, 2])


def test_pooled_figure_names_its_size():
    figure = charts.pooled_figure(np.zeros((9, 9)), "average", 3)
    assert figure.layout.title.text == "average pool 3×3: 9×9"
