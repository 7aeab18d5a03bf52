"""Charts of the Misclassified explorer: pure functions, checked on small hand-made inputs."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dashboard.charts import explorer as charts
from dashboard.charts.common import PREDICTED_COLOUR, TRUE_COLOUR


def _matrix():
    matrix = np.zeros((10, 10), dtype=int)
    np.fill_diagonal(matrix, 95)
    matrix[4, 9] = 7
    matrix[3, 5] = 2
    return matrix


def test_confusion_figure_has_a_clickable_marker_on_every_cell():
    figure = charts.confusion_figure(_matrix())
    scatter = [trace for trace in figure.data if trace.type == "scatter"]
    assert len(scatter) == 1
    cells = np.asarray(scatter[0].customdata)
    assert cells.shape == (100, 3)
    # x is the predicted class, y the true class, and customdata carries (true, predicted, count).
    for x, y, (true_class, predicted_class, count) in zip(scatter[0].x, scatter[0].y, cells, strict=True):
        assert (x, y) == (predicted_class, true_class)
        assert count == _matrix()[true_class, predicted_class]
    assert 0 < scatter[0].marker.opacity < 0.05  # invisible but clickable
    assert figure.layout.yaxis.autorange == "reversed"  # class 0 on top, like a table


def test_confusion_figure_separates_correct_from_errors_and_labels_cells():
    figure = charts.confusion_figure(_matrix())
    correct, errors = (trace for trace in figure.data if trace.type == "heatmap")
    correct_z, error_z = np.asarray(correct.z, dtype=float), np.asarray(errors.z, dtype=float)
    assert np.all(np.isnan(correct_z[~np.eye(10, dtype=bool)]))
    assert np.all(np.isnan(np.diag(error_z)))
    assert error_z[4, 9] == 7 and np.isnan(error_z[0, 1])  # empty cells stay blank
    assert errors.text[4][9] == "7" and correct.text[2][2] == "95"


def test_confusion_figure_row_normalised_and_selected_cell():
    figure = charts.confusion_figure(_matrix(), normalised=True, selected=(4, 9))
    errors = [trace for trace in figure.data if trace.type == "heatmap"][1]
    assert errors.z[4][9] == pytest.approx(7 / 102)
    assert errors.text[4][9] == "7%"
    (shape,) = figure.layout.shapes
    assert (shape.x0, shape.x1, shape.y0, shape.y1) == (8.5, 9.5, 3.5, 4.5)
    with pytest.raises(ValueError, match="square"):
        charts.confusion_figure(np.zeros((3, 4)))


def test_selected_cell_reads_streamlit_selection_state():
    assert charts.selected_cell(None) is None
    assert charts.selected_cell({"selection": {"points": []}}) is None
    event = {"selection": {"points": [{"x": 9, "y": 4, "customdata": [4, 9, 7]}]}}
    assert charts.selected_cell(event) == (4, 9)
    # What Streamlit really sends for a numeric customdata row (seen in Chromium):
    as_sent = {"selection": {"points": [{"curve_number": 2, "x": 3, "y": 5, "customdata": {"0": 5, "1": 3, "2": 12}}]}}
    assert charts.selected_cell(as_sent) == (5, 3)
    heatmap_only = {"selection": {"points": [{"x": 9, "y": 4}]}}
    assert charts.selected_cell(heatmap_only) is None


def test_digit_card_is_crisp_and_colours_true_and_predicted_bars():
    image = np.zeros((28, 28), dtype=np.float32)
    image[10:18, 12] = 255
    probabilities = np.array([0, 0, 0.05, 0, 0, 0, 0, 0.9, 0, 0.05])
    card = charts.digit_card(image, probabilities, true_label=2, scale=4)
    assert card.size[0] == 112
    pixels = np.asarray(card)
    digit = pixels[:112, :112, 0]
    # Nearest-neighbour upscaling: only the two original values, in 4x4 blocks.
    assert set(np.unique(digit)) == {0, 255}
    np.testing.assert_array_equal(digit, np.kron(image.astype(np.uint8), np.ones((4, 4), dtype=np.uint8)))
    bars = pixels[112:]
    red = np.array([int(PREDICTED_COLOUR[i : i + 2], 16) for i in (1, 3, 5)])
    green = np.array([int(TRUE_COLOUR[i : i + 2], 16) for i in (1, 3, 5)])
    red_columns = np.flatnonzero((bars == red).all(axis=2).any(axis=0))
    green_columns = np.flatnonzero((bars == green).all(axis=2).any(axis=0))
    slot = 112 / 10
    assert red_columns.min() >= 7 * slot and red_columns.max() < 8 * slot  # the wrong answer, 7
    assert green_columns.min() >= 2 * slot - 1 and green_columns.max() < 3 * slot  # the true class, 2
    # The 90 % bar is much taller than the 5 % one.
    assert (bars == red).all(axis=2).any(axis=1).sum() > 5 * (bars == green).all(axis=2).any(axis=1).sum()
    decoded = Image.open(io.BytesIO(charts.png_bytes(card)))
    assert decoded.size == card.size


def test_card_caption():
    caption = charts.card_caption(2, 7, 0.9371)
    assert caption.replace(charts.NBSP, " ") == "pred 7 / true 2 · 94 %"
    assert caption.count(" ") == 1 and caption.index(" ") == caption.index("·") - 1  # wraps only before "·"


def test_class_accuracy_figure():
    table = pd.DataFrame({"class": range(3), "support": [10, 10, 0], "correct": [9, 5, 0], "errors": [1, 5, 0],
                          "recall": [0.9, 0.5, np.nan], "precision": [1.0, 0.5, np.nan]})
    figure = charts.class_accuracy_figure(table)
    assert list(figure.data[0].y) == pytest.approx([0.9, 0.5, np.nan], nan_ok=True)
    assert figure.data[0].text == ("90.0%", "50.0%", "")
    assert figure.layout.yaxis.range[0] == pytest.approx(0.4)
    ticks = list(figure.layout.yaxis.tickvals)
    assert max(ticks) <= 1.0  # no "110 %" tick: an accuracy is never above 100 %
    assert len(set(figure.layout.yaxis.ticktext)) == len(ticks)  # distinct labels


def test_class_accuracy_ticks_stay_distinct_on_a_narrow_range():
    table = pd.DataFrame({"class": range(2), "support": [100, 100], "correct": [99, 98], "errors": [1, 2],
                          "recall": [0.99, 0.98], "precision": [0.985, 0.99]})
    labels = list(charts.class_accuracy_figure(table).layout.yaxis.ticktext)
    assert len(set(labels)) == len(labels) and all(label.endswith("%") for label in labels)


def test_saliency_figure_overlays_the_map_on_the_digit():
    image = np.arange(28 * 28, dtype=np.float32).reshape(28, 28) % 256
    heat = np.zeros((28, 28), dtype=np.float32)
    heat[0, 0] = 1
    figure = charts.saliency_figure(image, heat)
    base, overlay = figure.data
    assert np.asarray(overlay.z)[-1, 0] == 1  # rows flipped like digit_figure: row 0 drawn on top
    assert np.asarray(base.z)[-1, 5] == image[0, 5]
    assert "rgba(255,0,0,0)" in str(overlay.colorscale[0])  # zero saliency is fully transparent
    with pytest.raises(ValueError, match="shape"):
        charts.saliency_figure(image, heat[:10])


def test_mosaic_tiles_each_channel_scaled_alone():
    tiles = np.stack([np.full((2, 2), 5.0), np.array([[0.0, 1.0], [2.0, 4.0]]), np.array([[10.0, 20.0], [30.0, 40.0]])])
    picture, index = charts.mosaic(tiles, columns=2, gap=1)
    assert picture.shape == (5, 5)
    np.testing.assert_allclose(picture[0:2, 3:5], [[0, 0.25], [0.5, 1]])
    np.testing.assert_allclose(picture[3:5, 0:2], [[0, 1 / 3], [2 / 3, 1]])
    assert np.all(picture[0:2, 0:2] == 0)  # a constant channel shows as flat, not NaN
    assert np.isnan(picture[2]).all() and (index[2] == -1).all()
    assert index[4, 4] == -1 and index[3, 0] == 2
    with pytest.raises(ValueError):
        charts.mosaic(np.zeros((0, 3, 3)))


def test_filters_and_feature_map_figures():
    kernels = np.random.default_rng(0).normal(size=(5, 5, 1, 32))
    figure = charts.filters_figure(kernels, columns=8)
    assert np.asarray(figure.data[0].z).shape == (4 * 6 - 1, 8 * 6 - 1)
    activations = np.random.default_rng(1).random((14, 14, 64))
    maps = charts.feature_maps_figure("conv_2", activations, max_channels=32)
    assert np.asarray(maps.data[0].z).shape == (4 * 15 - 1, 8 * 15 - 1)
    assert "first 32 of 64 channels" in maps.layout.title.text
    small = charts.feature_maps_figure("pool_1", activations[..., :4])
    assert "4 channels" in small.layout.title.text
    with pytest.raises(ValueError):
        charts.filters_figure(np.zeros((3, 3, 4)))
