"""dashboard/charts/inside.py: pure figures of the Inside page."""

from __future__ import annotations

import numpy as np

from dashboard.charts import inside as charts


def test_digit_text_draws_ink_where_the_digit_is():
    image = np.zeros((28, 28), np.float32)
    image[:, 12:16] = 255  # a vertical bar: a "1"
    rows = charts.digit_text(image).split("<br>")
    assert len(rows) == 14 and all(len(row) == 14 for row in rows)
    assert all(row[6:8] == "██" and row[:5].strip() == "" for row in rows)


def test_embedding_marks_misclassified_and_keeps_the_given_axes():
    points = np.array([[0, 0], [1, 1], [2, 2], [3, 3]], np.float32)
    labels, predicted = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    figure = charts.embedding_figure(points, labels, predicted, ["a", "b", "c", "d"], x_range=[-5, 5], y_range=[-6, 6])
    zero = next(trace for trace in figure.data if trace.name == "digit 0")
    assert list(zero.marker.symbol) == ["circle", "x"]  # the second 0 was read as a 1
    assert [int(row[0]) for row in zero.customdata] == [0, 1]  # probe positions, for the click
    assert list(figure.layout.xaxis.range) == [-5, 5] and list(figure.layout.yaxis.range) == [-6, 6]


def test_axis_range_covers_every_epoch():
    values = np.array([[-1.0, 2.0], [np.nan, 10.0]])
    low, high = charts.axis_range(values)
    assert low < -1 and high > 10


def test_distribution_heatmap_and_ridgeline_have_one_row_per_epoch():
    shares = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    heatmap = charts.distribution_figure(shares, edges, [0, 1])
    assert np.asarray(heatmap.data[0].z).shape == (2, 3) and list(heatmap.data[0].y) == ["0", "1"]
    ridgeline = charts.distribution_figure(shares, edges, [0, 1], kind="ridgeline")
    assert len([trace for trace in ridgeline.data if trace.name and trace.name.startswith("epoch")]) == 2


def test_layer_lines_leave_out_layers_that_cannot_die():
    values = np.array([[0.0, np.nan], [0.5, np.nan]])
    figure = charts.layer_lines_figure(values, [0, 1], ["relu_1", "tanh_2"], percent=True)
    assert [trace.name for trace in figure.data] == ["relu_1"] and list(figure.data[0].y) == [0.0, 50.0]


def test_lesson_figure_one_line_per_model():
    figure = charts.lesson_figure({"a": np.array([1e-4, 1e-1]), "b": np.array([0.1, 0.2])}, ["dense_1", "dense_2"], log=True)
    assert [trace.name for trace in figure.data] == ["a", "b"] and figure.layout.yaxis.type == "log"
