"""Training charts: learning curves with the generalisation gap, run overlays, sweeps.

Pure functions: plain data (history dicts, DataFrames) in, a plotly Figure out. No st.* here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from dashboard.charts.common import colour_range, percent_axis, percent_ticks, readable_text_colour

TRAIN_COLOUR = "#1565c0"
VAL_COLOUR = "#ef6c00"
GAP_FILL = "rgba(239, 108, 0, 0.18)"
BEST_COLOUR = "#2e7d32"
STOP_COLOUR = "#6a1b9a"
METRIC_TITLES = {"loss": "Loss (cross-entropy)", "accuracy": "Accuracy"}
OVERLAY_COLOURS = ["#1565c0", "#ef6c00", "#2e7d32", "#c62828", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#455a64", "#9e9d24"]


def _values(history: Mapping[str, Sequence[float]], name: str) -> list[float]:
    return [float(v) for v in history.get(name, [])]


def learning_curve(
    history: Mapping[str, Sequence[float]],
    metric: str = "loss",
    *,
    epochs: int | None = None,
    best_epoch: int | None = None,
    early_stopped_at: int | None = None,
    stopped_at: int | None = None,
    classes: int = 10,
    height: int = 340,
) -> go.Figure:
    """Train vs validation `metric` per epoch, the gap between them shaded.

    Both axes are fixed from the first frame, so a live curve grows into them instead of making
    them jump: x spans the planned `epochs`; accuracy spans 0-100 %; loss starts at 0 and reaches at
    least ln(`classes`), the loss of a network that still guesses (so the first epochs fit).
    `best_epoch` (1-based) marks the best validation epoch; `early_stopped_at` draws where
    early stopping ended the run; `stopped_at` (the last complete epoch) marks a run the user stopped: not cached.
    """
    if metric not in METRIC_TITLES:
        raise ValueError(f"metric must be one of {', '.join(METRIC_TITLES)}")
    train, val = _values(history, metric), _values(history, f"val_{metric}")
    x_train, x_val = list(range(1, len(train) + 1)), list(range(1, len(val) + 1))
    percent = metric == "accuracy"
    hover = "%{y:.2%}" if percent else "%{y:.4f}"
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=x_train, y=train, name="train", mode="lines+markers", line=dict(color=TRAIN_COLOUR, width=2),
            marker=dict(size=5), cliponaxis=False, hovertemplate=f"epoch %{{x}}: train {hover}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x_val, y=val, name="validation", mode="lines+markers", line=dict(color=VAL_COLOUR, width=2),
            marker=dict(size=5), cliponaxis=False, fill="tonexty" if train and val else None, fillcolor=GAP_FILL,
            hovertemplate=f"epoch %{{x}}: validation {hover}<extra></extra>",
        )
    )
    if best_epoch and 1 <= best_epoch <= len(val):
        figure.add_trace(
            go.Scatter(
                x=[best_epoch], y=[val[best_epoch - 1]], name=f"best validation (epoch {best_epoch})", mode="markers",
                marker=dict(symbol="star", size=15, color=BEST_COLOUR, line=dict(color="white", width=1)),
                hovertemplate=f"best validation epoch {best_epoch}: {hover}<extra></extra>",
            )
        )
        figure.add_vline(x=best_epoch, line=dict(color=BEST_COLOUR, dash="dot", width=1))
    if early_stopped_at:
        figure.add_vline(
            x=early_stopped_at, line=dict(color=STOP_COLOUR, dash="dash", width=2),
            annotation_text=f"early stop (epoch {early_stopped_at})", annotation_position="top left",
            annotation_font_color=STOP_COLOUR,
        )
    last = max(epochs or 0, len(train), len(val), 1)
    if stopped_at:
        figure.add_vline(  # the label on the side with room (left of an early stop it was cut off)
            x=stopped_at, line=dict(color=STOP_COLOUR, dash="dash", width=2),
            annotation_text=f"stopped after epoch {stopped_at}: not cached",
            annotation_position="top right" if stopped_at < last / 2 else "top left", annotation_font_color=STOP_COLOUR,
        )
    figure.update_layout(
        title=METRIC_TITLES[metric], height=height, margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0), hovermode="x unified",
        xaxis=dict(title="epoch", range=[0.5, last + 0.5], dtick=max(1, math.ceil(last / 12))),
        yaxis=dict(title=metric, tickformat=".0%" if percent else None, range=list(metric_range(metric, train + val, classes))),
    )
    return figure


def metric_range(metric: str, values: Sequence[float] = (), classes: int = 10) -> tuple[float, float]:
    """The y range of a curve of `metric`: accuracy 0-1 always; loss 0 to the larger of ln(classes)
    (a guessing network's loss: where training starts) and the highest value, plus headroom.

    Fixed ranges keep a live chart still while it fills (Plotly's own range for an empty accuracy
    axis is -100..400 %, and it jumps with every new epoch otherwise).
    """
    if metric.endswith("accuracy"):
        return (0.0, 1.0)
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    top = max([math.log(max(2, classes)), *finite])
    return (0.0, round(top * 1.08, 4))


def gap_summary(history: Mapping[str, Sequence[float]]) -> dict[str, float] | None:
    """The last epoch's train - validation accuracy gap (positive = overfitting), or None."""
    train, val = _values(history, "accuracy"), _values(history, "val_accuracy")
    if not train or not val:
        return None
    return {"train": train[-1], "validation": val[-1], "gap": train[-1] - val[-1]}


def compare_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], metric: str = "val_accuracy", height: int = 380) -> go.Figure:
    """One line per run (label -> history) of `metric` per epoch, overlaid."""
    percent = metric.endswith("accuracy")
    figure = go.Figure()
    for index, (label, history) in enumerate(histories.items()):
        values = _values(history, metric)
        figure.add_trace(
            go.Scatter(
                x=list(range(1, len(values) + 1)), y=values, name=label, mode="lines+markers",
                line=dict(color=OVERLAY_COLOURS[index % len(OVERLAY_COLOURS)], width=2), marker=dict(size=4), cliponaxis=False,
                hovertemplate=f"{label}<br>epoch %{{x}}: %{{y:{'.2%' if percent else '.4f'}}}<extra></extra>",
            )
        )
    figure.update_layout(
        title=f"{metric.replace('_', ' ')} per epoch", height=height, margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.18), xaxis=dict(title="epoch"),
        yaxis=dict(
            title=metric.replace("_", " "), tickformat=".0%" if percent else None,
            range=list(metric_range(metric, [v for history in histories.values() for v in _values(history, metric)])),
        ),
    )
    return figure


PARALLEL_NUMERIC = ["layers", "widest_layer", "dropout", "l2", "log10_learning_rate", "batch_size", "epochs"]
PARALLEL_CATEGORICAL = ["arch", "optimizer", "activation"]


def parallel_table(runs: pd.DataFrame) -> pd.DataFrame:
    """From a cache listing (cache.list_runs): one numeric row per run for the parallel-coordinates chart."""
    if runs.empty:
        return pd.DataFrame(columns=[*PARALLEL_CATEGORICAL, *PARALLEL_NUMERIC, "val_accuracy"])
    table = pd.DataFrame(index=runs.index)
    for name in PARALLEL_CATEGORICAL:
        table[name] = runs[name].astype(str).str.split(",").str[0]
    table["layers"] = runs["layers"].astype(int)
    table["widest_layer"] = [
        max((int(u) for u in str(units).split(",")), default=0) if layers else 0
        for units, layers in zip(runs["units"], table["layers"], strict=False)
    ]
    for name in ("dropout", "l2", "batch_size", "epochs"):
        table[name] = runs[name].astype(float)
    table["log10_learning_rate"] = np.log10(runs["learning_rate"].astype(float))
    table["val_accuracy"] = runs["val_accuracy"].astype(float)
    return table.dropna(subset=["val_accuracy"])


def parallel_coordinates(table: pd.DataFrame, height: int = 420) -> go.Figure:
    """Hyperparameters -> validation accuracy, one line per run, coloured by validation accuracy.

    A setting every run shares draws a flat, meaningless axis, so only settings that vary are shown
    (all of them when there is a single run).
    """
    varies = lambda name: len(table) < 2 or table[name].nunique() > 1  # noqa: E731
    dimensions = []
    for name in filter(varies, PARALLEL_CATEGORICAL):
        categories = sorted(table[name].unique()) if len(table) else []
        codes = table[name].map({c: i for i, c in enumerate(categories)}) if len(table) else []
        dimensions.append(dict(label=name, values=list(codes), tickvals=list(range(len(categories))), ticktext=categories))
    labels = {"widest_layer": "units (widest)", "log10_learning_rate": "log10 lr", "batch_size": "batch"}
    for name in filter(varies, PARALLEL_NUMERIC):
        values = list(table[name]) if len(table) else []
        dimension = dict(label=labels.get(name, name), values=values)
        distinct = sorted(set(values))
        if 1 < len(distinct) <= 8 and all(float(v).is_integer() for v in distinct):  # layers 1, 2, 3: not 1.2, 1.4, ...
            dimension.update(tickvals=distinct, ticktext=[f"{v:g}" for v in distinct])
        dimensions.append(dimension)
    colour = list(table["val_accuracy"]) if len(table) else []
    # Round ticks with enough decimals to differ (Plotly's '.0%' printed "96%, 96%, 95%"), both ends labelled.
    low, high, tick_values, tick_labels = percent_axis(colour)
    dimensions.append(dict(label="val accuracy", values=colour, range=[low, high], tickvals=tick_values, ticktext=tick_labels))
    colour_low, colour_high = colour_range(colour)  # the colours span the runs' real range (never past 100 %)
    colour_ticks, colour_labels = percent_ticks(colour_low, colour_high, max_ticks=5)
    figure = go.Figure(
        go.Parcoords(
            line=dict(
                color=colour, colorscale="Viridis", cmin=colour_low, cmax=colour_high, showscale=True,
                colorbar=dict(title="val acc", tickvals=colour_ticks, ticktext=colour_labels),
            ),
            dimensions=dimensions,
        )
    )
    figure.update_layout(height=height, margin=dict(l=60, r=40, t=50, b=20))
    return figure


MISSING_COLOUR = "#e0e0e0"
HEATMAP_SCALE = "Viridis"


def sweep_heatmap(cells: pd.DataFrame, value: str = "val_accuracy", height: int = 360) -> go.Figure:
    """Layers (rows) x units (columns) of `value`; cells not trained yet are grey and say so.

    `cells` has columns layers, units and `value` (NaN where no cached run exists). The colour
    scale spans the trained cells' real range (never above 100 %), and each cell's text is black or
    white, whichever reads better on that cell's colour.
    """
    layers = sorted(cells["layers"].unique())
    units = sorted(cells["units"].unique())
    grid = np.full((len(layers), len(units)), np.nan)
    for row in cells.itertuples(index=False):
        grid[layers.index(row.layers), units.index(row.units)] = getattr(row, value)
    text = [["not trained" if np.isnan(v) else f"{v:.1%}" for v in line] for line in grid]
    x_labels, y_labels = [str(u) for u in units], [str(n) for n in layers]
    low, high = colour_range(grid, upper=1.0, lower=0.0)
    tick_values, tick_labels = percent_ticks(low, high, max_ticks=5)
    figure = go.Figure(
        go.Heatmap(
            z=[[None if np.isnan(v) else float(v) for v in line] for line in grid], x=x_labels, y=y_labels,
            colorscale=HEATMAP_SCALE, zmin=low, zmax=high,
            colorbar=dict(title=value.replace("_", " "), tickvals=tick_values, ticktext=tick_labels),
            text=text, hovertemplate="%{y} layers x %{x} units: %{text}<extra></extra>", xgap=2, ygap=2,
        )
    )
    if np.isnan(grid).any():
        figure.add_trace(
            go.Heatmap(
                z=[[1 if np.isnan(v) else None for v in line] for line in grid], x=x_labels, y=y_labels,
                colorscale=[[0, MISSING_COLOUR], [1, MISSING_COLOUR]], showscale=False, text=text,
                hovertemplate="%{y} layers x %{x} units: not trained yet<extra></extra>", xgap=2, ygap=2,
            )
        )
    for (row, column), cell_value in np.ndenumerate(grid):
        background = MISSING_COLOUR if np.isnan(cell_value) else cell_colour(cell_value, low, high)
        figure.add_annotation(  # by position: on a category axis Plotly reads a label such as "64" as index 64
            x=column, y=row, text=text[row][column], showarrow=False,
            font=dict(color=readable_text_colour(background), size=13),
        )
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), title=f"{value.replace('_', ' ')}: layers x units",
        xaxis=dict(title="units per layer", type="category"), yaxis=dict(title="hidden layers", type="category"),
    )
    return figure


def cell_colour(value: float, low: float, high: float, scale: str = HEATMAP_SCALE) -> str:
    """The colour ('rgb(r, g, b)') a heatmap with scale `scale` over [low, high] gives `value`."""
    position = 0.0 if high <= low else min(1.0, max(0.0, (float(value) - low) / (high - low)))
    return sample_colorscale(scale, [position])[0]
