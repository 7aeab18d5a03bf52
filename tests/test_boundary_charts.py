"""dashboard/charts/boundary.py: pure figure builders."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.charts import boundary as charts

BOUNDS = (-15.0, 15.0, -15.0, 15.0)


def _two_class_grid(n: int = 20) -> np.ndarray:
    xs = np.linspace(-15, 15, n)
    positive = np.tile(1 / (1 + np.exp(-xs)), (n, 1))  # P(class 1) grows with x
    return np.stack([1 - positive, positive], axis=-1).astype(np.float32)


def _traces(figure, kind):
    return [t for t in figure.data if t.type == kind]


def test_two_classes_give_a_diverging_heatmap_and_the_half_contour():
    grid = _two_class_grid()
    points = np.array([[-10, 0], [10, 0], [-5, 5]], dtype=np.float32)
    labels = np.array([0, 1, 1])
    figure = charts.boundary_figure(grid, BOUNDS, points, labels, train_predicted=np.array([0, 1, 0]))
    heatmap = _traces(figure, "heatmap")[0]
    np.testing.assert_allclose(np.asarray(heatmap.z), grid[..., 1])
    assert (heatmap.zmin, heatmap.zmax) == (0.0, 1.0)
    assert heatmap.colorscale[0][1] == charts.CLASS_COLOURS[0].lower() or heatmap.colorscale[0][1] == charts.CLASS_COLOURS[0]
    contour = _traces(figure, "contour")[0]
    assert contour.contours.start == 0.5 and contour.contours.end == 0.5
    names = [t.name for t in figure.data]
    assert "train · class 0" in names and "train · class 1" in names
    wrong = next(t for t in figure.data if t.name == "train · misclassified")
    assert list(wrong.x) == [-5] and list(wrong.y) == [5]


def test_no_contour_when_the_boundary_is_off_the_plot():
    grid = np.zeros((10, 10, 2), dtype=np.float32)
    grid[..., 0] = 1
    figure = charts.boundary_figure(grid, BOUNDS, np.zeros((0, 2)), np.zeros(0))
    assert not _traces(figure, "contour")


def test_discretize_turns_probabilities_into_hard_classes():
    figure = charts.boundary_figure(_two_class_grid(), BOUNDS, np.zeros((0, 2)), np.zeros(0), discretize=True)
    values = set(np.unique(np.asarray(_traces(figure, "heatmap")[0].z)).tolist())
    assert values == {0.0, 1.0}


def test_test_points_are_outlined_train_points_filled():
    points = np.array([[0, 0], [1, 1]], dtype=np.float32)
    figure = charts.boundary_figure(None, BOUNDS, points, np.array([0, 1]), points + 2, np.array([0, 1]))
    train = next(t for t in figure.data if t.name == "train · class 1")
    test = next(t for t in figure.data if t.name == "test · class 1")
    assert train.marker.color == charts.POINT_COLOURS[1]
    assert test.marker.line.color == charts.POINT_COLOURS[1] and test.marker.color != charts.POINT_COLOURS[1]
    assert not _traces(figure, "heatmap")  # no model yet: data only


def test_click_layer_covers_the_plane_with_coordinates_as_customdata():
    figure = charts.boundary_figure(None, BOUNDS, np.zeros((0, 2)), np.zeros(0), clickable=True)
    layer = next(t for t in figure.data if t.name == "click to add a point")
    custom = np.asarray(layer.customdata)
    assert custom.shape == (charts.CLICK_GRID**2, 2)
    assert custom.min() == -15 and custom.max() == 15
    assert layer.marker.opacity < 0.05 and layer.hoverinfo != "skip"  # "skip" would swallow the clicks
    # In "select" drag mode Plotly follows a click with an empty selection that wipes it (Chromium):
    # a clickable plane has no drag mode of its own and fixed axes.
    assert figure.layout.dragmode in (False, None) and "select" in figure.layout.clickmode
    assert figure.layout.xaxis.fixedrange and figure.layout.yaxis.fixedrange
    assert not charts.boundary_figure(None, BOUNDS, np.zeros((0, 2)), np.zeros(0)).layout.xaxis.fixedrange


def test_with_a_click_layer_the_heatmap_leaves_hover_and_clicks_to_it():
    figure = charts.boundary_figure(_two_class_grid(), BOUNDS, np.zeros((0, 2)), np.zeros(0), clickable=True)
    assert _traces(figure, "heatmap")[0].hoverinfo == "skip"
    layer = next(t for t in figure.data if t.name == "click to add a point")
    assert layer.text[0].startswith("P(class 0) 100%")  # bottom-left corner: class 0 (P(class 1) grows with x)
    assert layer.text[-1].endswith("P(class 1) 100%")


def test_three_classes_become_an_image_with_class_hue_and_confidence_lightness():
    probabilities = np.array([[[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], [[0.1, 0.1, 0.8], [0.0, 1.0, 0.0]]], dtype=np.float32)
    image = charts.class_image(probabilities)
    assert image.shape == (2, 2, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[0, 0], [0xF2, 0x8E, 0x2B])  # certain class 0: full colour
    np.testing.assert_array_equal(image[0, 1], [255, 255, 255])  # chance: white
    assert (image[1, 0] > [0x2C, 0xA0, 0x2C]).all() and (image[1, 0] < 255).any()  # class 2, unsure: lighter green
    hard = charts.class_image(probabilities, discretize=True)
    np.testing.assert_array_equal(hard[1, 0], [0x2C, 0xA0, 0x2C])
    figure = charts.boundary_figure(np.tile(probabilities, (5, 5, 1)), BOUNDS, np.zeros((0, 2)), np.zeros(0))
    assert _traces(figure, "image") and not _traces(figure, "heatmap")


def test_neuron_figure_one_panel_per_hidden_unit():
    grids = [np.random.default_rng(0).normal(size=(8, 8, 3)), np.random.default_rng(1).normal(size=(8, 8, 2))]
    figure = charts.neuron_figure(grids, BOUNDS, ["tanh", "tanh"])
    assert len(_traces(figure, "heatmap")) == 5
    titles = [a.text for a in figure.layout.annotations]
    assert "layer 1 · unit 3" in titles and "layer 2 · unit 2" in titles
    with pytest.raises(ValueError, match="no hidden layer"):
        charts.neuron_figure([], BOUNDS)


def test_small_multiples_leave_missing_cells_blank_and_say_so():
    grid = _two_class_grid(10)
    figure = charts.small_multiples_figure([[grid, None], [grid, grid]], BOUNDS, ["1 layer", "2 layers"], ["2 units", "4 units"],
                                           [[0.9, None], [0.8, 0.95]])
    assert len(_traces(figure, "heatmap")) == 3
    titles = [a.text for a in figure.layout.annotations]
    assert "1 layer · 4 units<br>not trained" in titles and "2 layers · 4 units<br>test 95%" in titles


def test_history_figure_marks_the_replayed_epoch():
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]}
    figure = charts.history_figure(history, upto=1)
    assert len(figure.data) == 4
    assert any(shape.x0 == 1 for shape in figure.layout.shapes)


def test_training_dots_are_filled_with_a_shade_that_stands_out_on_their_own_class_colour():
    # A dot filled with exactly the background's colour looked hollow (only its outline showed).
    points = np.array([[1.0, 1.0], [-1.0, -1.0]], dtype=np.float32)
    labels = np.array([0, 1])
    figure = charts.boundary_figure(_two_class_grid(), BOUNDS, points, labels, points, labels)
    train = [t for t in figure.data if t.name and t.name.startswith("train · class")]
    test = [t for t in figure.data if t.name and t.name.startswith("test · class")]
    for trace in train:
        assert trace.marker.color not in charts.CLASS_COLOURS and trace.marker.color in charts.POINT_COLOURS
    for trace in test:  # outlined: white inside, the class shade as the ring
        assert trace.marker.color == "#ffffff" and trace.marker.line.color in charts.POINT_COLOURS


def test_history_axes_are_fixed_whatever_epoch_is_marked():
    history = {"loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.5, 0.7, 0.85]}
    first, last = charts.history_figure(history, upto=1, epochs=3), charts.history_figure(history, upto=3, epochs=3)
    for figure in (first, last):
        assert list(figure.layout.xaxis.range) == [0.5, 3.5] and list(figure.layout.xaxis2.range) == [0.5, 3.5]
        assert figure.layout.yaxis.range[0] == 0 and figure.layout.yaxis.range[1] >= 1.0
        assert list(figure.layout.yaxis2.range) == [0, 1.02]
