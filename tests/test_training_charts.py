"""dashboard.charts.training: pure figure functions for the Training page."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dashboard.charts.common import colour_range, contrast_ratio, percent_axis, percent_ticks, readable_text_colour, relative_luminance
from dashboard.charts.training import (
    MISSING_COLOUR,
    cell_colour,
    compare_curves,
    gap_summary,
    learning_curve,
    metric_range,
    parallel_coordinates,
    parallel_table,
    sweep_heatmap,
)

HISTORY = {
    "loss": [1.2, 0.6, 0.4, 0.3, 0.2],
    "val_loss": [1.0, 0.7, 0.55, 0.6, 0.7],
    "accuracy": [0.6, 0.8, 0.88, 0.92, 0.95],
    "val_accuracy": [0.65, 0.78, 0.84, 0.83, 0.82],
}


def _trace(figure, name):
    return next(t for t in figure.data if t.name == name)


def test_learning_curve_plots_train_and_validation_with_the_gap_shaded():
    figure = learning_curve(HISTORY, "loss")
    train, val = _trace(figure, "train"), _trace(figure, "validation")
    assert list(train.y) == HISTORY["loss"] and list(val.y) == HISTORY["val_loss"]
    assert list(train.x) == [1, 2, 3, 4, 5]
    # The validation trace fills down to the train trace drawn just before it: the gap.
    assert figure.data.index(val) == figure.data.index(train) + 1 and val.fill == "tonexty"
    assert figure.layout.title.text.startswith("Loss")


def test_best_epoch_and_early_stop_are_marked():
    figure = learning_curve(HISTORY, "loss", best_epoch=3, early_stopped_at=5)
    best = next(t for t in figure.data if t.name.startswith("best validation"))
    assert list(best.x) == [3] and list(best.y) == [0.55]
    lines = [shape.x0 for shape in figure.layout.shapes]
    assert 3 in lines and 5 in lines
    assert any("early stop (epoch 5)" in a.text for a in figure.layout.annotations)


def test_no_markers_without_best_epoch_and_out_of_range_best_is_ignored():
    assert len(learning_curve(HISTORY, "accuracy").data) == 2
    assert len(learning_curve(HISTORY, "accuracy", best_epoch=9).data) == 2
    assert not learning_curve(HISTORY, "accuracy").layout.shapes


def test_live_curve_keeps_the_planned_axis_so_it_grows():
    partial = {name: values[:2] for name, values in HISTORY.items()}
    figure = learning_curve(partial, "accuracy", epochs=20)
    assert tuple(figure.layout.xaxis.range) == (0.5, 20.5)
    assert len(_trace(figure, "train").x) == 2
    assert figure.layout.yaxis.tickformat == ".0%"


def test_empty_history_gives_an_empty_chart_not_an_error():
    figure = learning_curve({}, "loss", epochs=5)
    assert all(len(t.x) == 0 for t in figure.data)
    with pytest.raises(ValueError, match="metric"):
        learning_curve(HISTORY, "precision")


def test_gap_summary_reports_overfitting():
    summary = gap_summary(HISTORY)
    assert summary["gap"] == pytest.approx(0.95 - 0.82)
    assert gap_summary({}) is None


def test_compare_curves_overlays_one_line_per_run():
    other = {"val_accuracy": [0.5, 0.9]}
    figure = compare_curves({"run A": HISTORY, "run B": other})
    assert [t.name for t in figure.data] == ["run A", "run B"]
    assert list(figure.data[1].y) == [0.5, 0.9]
    assert figure.data[0].line.color != figure.data[1].line.color


def _listing() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arch": ["mlp", "cnn", "mlp"], "optimizer": ["adam", "sgd", "adam"], "activation": ["relu", "relu", "tanh,relu"],
            "layers": [2, 2, 0], "units": ["64,16", "32", "64"], "dropout": [0.0, 0.5, 0.0], "l2": [0.0, 0.01, 0.0],
            "learning_rate": [1e-3, 1e-2, 1e-4], "batch_size": [128, 50, 32], "epochs": [10, 5, 3],
            "val_accuracy": [0.95, 0.97, None],
        }
    )


def test_parallel_table_derives_numbers_and_drops_runs_without_accuracy():
    table = parallel_table(_listing())
    assert len(table) == 2
    assert list(table["widest_layer"]) == [64, 32]
    assert list(table["log10_learning_rate"]) == pytest.approx([-3, -2])
    assert parallel_table(pd.DataFrame()).empty


def test_parallel_coordinates_has_one_axis_per_varying_hyperparameter_and_encodes_categories():
    figure = parallel_coordinates(parallel_table(_listing()))
    dimensions = {d.label: d for d in figure.data[0].dimensions}
    assert {"arch", "optimizer", "dropout", "log10 lr", "val accuracy"} <= set(dimensions)
    assert "layers" not in dimensions and "activation" not in dimensions, "settings both runs share are left out"
    assert list(dimensions["arch"].ticktext) == ["cnn", "mlp"]
    assert list(dimensions["arch"].values) == [1, 0]
    assert list(dimensions["val accuracy"].values) == [0.95, 0.97]
    # An empty cache still draws (empty axes) instead of failing.
    assert parallel_coordinates(parallel_table(pd.DataFrame())).data[0].dimensions


def test_sweep_heatmap_places_cells_and_greys_out_missing_ones():
    cells = pd.DataFrame({"layers": [1, 1, 2, 2], "units": [16, 64, 16, 64], "val_accuracy": [0.9, 0.93, math.nan, 0.95]})
    figure = sweep_heatmap(cells)
    values = figure.data[0]
    assert list(values.x) == ["16", "64"] and list(values.y) == ["1", "2"]
    assert values.z[0][1] == pytest.approx(0.93) and values.z[1][0] is None
    assert values.text[1][0] == "not trained"
    missing = figure.data[1]
    assert missing.z[1][0] == 1 and missing.z[0][0] is None


def test_sweep_heatmap_without_missing_cells_has_no_grey_layer():
    cells = pd.DataFrame({"layers": [1, 2], "units": [16, 16], "val_accuracy": [0.9, 0.91]})
    assert len(sweep_heatmap(cells).data) == 1


# -- charts that read right (issue 16): fixed axes, clipped colour scales, readable text, distinct ticks


@pytest.mark.parametrize("history", [{}, {"accuracy": [0.4], "val_accuracy": [0.35]}, HISTORY, {"accuracy": [1.0, 1.0]}])
def test_the_accuracy_axis_is_0_to_100_percent_from_the_first_frame_to_the_last(history):
    # Plotly's own range for an empty % axis is -100..400 %, and it jumps (past 100 %) as epochs arrive.
    figure = learning_curve(history, "accuracy", epochs=20)
    assert tuple(figure.layout.yaxis.range) == (0, 1)
    assert all(trace.cliponaxis is False for trace in figure.data), "a 100 % point must not be cut in half at the top"


def test_the_loss_axis_starts_at_0_and_holds_the_first_epochs_and_every_value():
    empty = learning_curve({}, "loss", epochs=5)
    assert empty.layout.yaxis.range[0] == 0 and empty.layout.yaxis.range[1] >= math.log(10)
    first = learning_curve({"loss": [2.1], "val_loss": [1.9]}, "loss", epochs=5)
    assert tuple(first.layout.yaxis.range) == tuple(empty.layout.yaxis.range), "the first epoch does not move the axis"
    diverged = learning_curve({"loss": [2.0, 0.5], "val_loss": [1.0, 7.5]}, "loss")
    assert diverged.layout.yaxis.range[0] == 0 and diverged.layout.yaxis.range[1] > 7.5
    two_classes = learning_curve({}, "loss", classes=2)
    assert math.log(2) <= two_classes.layout.yaxis.range[1] < 1.0


def test_metric_range_rules():
    assert metric_range("val_accuracy", [0.2, 0.99]) == (0.0, 1.0)
    low, high = metric_range("val_loss", [0.3, float("nan"), 3.0])
    assert low == 0.0 and 3.0 < high < 3.5


def test_compare_curves_use_the_same_fixed_ranges():
    assert tuple(compare_curves({"run A": HISTORY}, "val_accuracy").layout.yaxis.range) == (0, 1)
    loss = compare_curves({"run A": HISTORY}, "val_loss").layout.yaxis.range
    assert loss[0] == 0 and loss[1] > max(HISTORY["val_loss"])


def test_a_stopped_run_is_marked_stopped_and_not_cached():
    figure = learning_curve({name: values[:3] for name, values in HISTORY.items()}, "loss", epochs=10, stopped_at=3)
    assert any("stopped after epoch 3: not cached" in annotation.text for annotation in figure.layout.annotations)
    assert 3 in [shape.x0 for shape in figure.layout.shapes]
    assert not learning_curve(HISTORY, "loss").layout.annotations


def _cells(values):
    return pd.DataFrame({"layers": [1, 1, 2, 2], "units": [16, 64, 16, 64], "val_accuracy": values})


def test_sweep_heatmap_colour_scale_spans_the_data_and_never_passes_100_percent():
    figure = sweep_heatmap(_cells([0.62, 0.93, math.nan, 0.98]))
    assert (figure.data[0].zmin, figure.data[0].zmax) == pytest.approx((0.62, 0.98))
    lone = sweep_heatmap(_cells([math.nan, math.nan, math.nan, 1.0])).data[0]
    assert lone.zmax <= 1.0 and lone.zmin < lone.zmax  # one perfect cell: a scale up to 100 %, not 60-140 %
    labels = list(figure.data[0].colorbar.ticktext)
    assert len(set(labels)) == len(labels) and all(float(label.rstrip("%")) <= 100 for label in labels)


def test_sweep_heatmap_cell_text_is_readable_on_its_own_colour():
    values = [0.62, 0.80, math.nan, 0.98]
    figure = sweep_heatmap(_cells(values))
    heatmap = figure.data[0]
    # Placed by position (column, row): Plotly reads a category label such as "64" as index 64.
    texts = {(heatmap.x[a.x], heatmap.y[a.y]): a for a in figure.layout.annotations}
    assert len(texts) == 4 and texts[("16", "2")].text == "not trained" and texts[("64", "1")].text == "80.0%"
    darkest, brightest = texts[("16", "1")], texts[("64", "2")]  # lowest value: dark violet; highest: yellow
    assert darkest.font.color != brightest.font.color
    for (layers, units), value in zip([(1, 16), (1, 64), (2, 16), (2, 64)], values, strict=True):
        background = MISSING_COLOUR if math.isnan(value) else cell_colour(value, heatmap.zmin, heatmap.zmax)
        assert contrast_ratio(texts[(str(units), str(layers))].font.color, background) >= 4.5, (layers, units, background)


def test_parallel_coordinates_accuracy_ticks_are_distinct_on_a_narrow_range():
    listing = _listing()
    listing["val_accuracy"] = [0.9512, 0.9683, 0.9561]
    figure = parallel_coordinates(parallel_table(listing))
    accuracy = next(d for d in figure.data[0].dimensions if d.label == "val accuracy")
    labels = list(accuracy.ticktext)
    assert len(labels) >= 2 and len(set(labels)) == len(labels), labels
    assert accuracy.range[0] <= 0.9512 and accuracy.range[1] >= 0.9683 and accuracy.range[1] <= 1.0
    assert (accuracy.tickvals[0], accuracy.tickvals[-1]) == pytest.approx(tuple(accuracy.range)), "both ends are labelled"
    assert list(next(d for d in figure.data[0].dimensions if d.label == "batch").ticktext) == ["32", "50", "128"]
    colorbar = figure.data[0].line.colorbar
    assert len(set(colorbar.ticktext)) == len(colorbar.ticktext)


# -- dashboard.charts.common reading aids --------------------------------------------------------


def test_contrast_ratio_and_the_readable_text_colour():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("rgb(10, 20, 30)", "rgb(10, 20, 30)") == pytest.approx(1.0)
    assert readable_text_colour("rgb(68, 1, 84)") == "#ffffff"  # Viridis' dark end
    assert readable_text_colour("rgb(253, 231, 37)") == "#111111"  # Viridis' yellow end
    assert relative_luminance("#ffffff") == pytest.approx(1.0)
    with pytest.raises(ValueError):
        relative_luminance("violet")


def test_colour_range_clips_to_the_data_and_the_limits():
    assert colour_range([0.6, 0.9, float("nan")]) == pytest.approx((0.6, 0.9))
    assert colour_range([1.0]) == pytest.approx((0.99, 1.0))
    assert colour_range([0.0]) == pytest.approx((0.0, 0.01))
    assert colour_range([]) == (0.0, 1.0)
    assert colour_range([1.7, 0.5], upper=1.0) == (0.5, 1.0)


@pytest.mark.parametrize("values", [[0.951, 0.968], [0.8, 0.955], [0.2, 1.0], [0.97], [0.999, 1.0]])
def test_percent_axis_covers_the_data_with_labelled_ends_inside_0_to_100(values):
    low, high, ticks, labels = percent_axis(values)
    assert 0 <= low <= min(values) and max(values) <= high <= 1
    assert ticks[0] == pytest.approx(low) and ticks[-1] == pytest.approx(high)
    assert len(set(labels)) == len(labels) >= 2


@pytest.mark.parametrize("low, high", [(0.951, 0.968), (0.95, 0.96), (0.5, 0.99), (0.0, 1.0), (0.9661, 0.9662), (0.97, 0.97)])
def test_percent_ticks_are_distinct_round_and_inside_the_range(low, high):
    values, labels = percent_ticks(low, high)
    assert len(values) >= 2 and len(set(labels)) == len(labels), labels
    assert values == sorted(values)
    if high > low:
        assert low - 1e-9 <= values[0] and values[-1] <= high + 1e-9
