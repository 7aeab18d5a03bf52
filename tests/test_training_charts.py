"""dashboard.charts.training: pure figure functions for the Training page."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dashboard.charts.training import (
    compare_curves,
    gap_summary,
    learning_curve,
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
