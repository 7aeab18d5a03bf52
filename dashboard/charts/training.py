"""Training charts: learning curves with the generalisation gap, run overlays, sweeps.

Pure functions: plain data (history dicts, DataFrames) in, a plotly Figure out. No st.* here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

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
    height: int = 340,
) -> go.Figure:
    """Train vs validation `metric` per epoch, the gap between them shaded.

    `epochs` fixes the x axis to the planned length, so a live curve visibly grows into it.
    `best_epoch` (1-based) marks the best validation epoch; `early_stopped_at` draws where
    early stopping ended the run.
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
            marker=dict(size=5), hovertemplate=f"epoch %{{x}}: train {hover}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x_val, y=val, name="validation", mode="lines+markers", line=dict(color=VAL_COLOUR, width=2),
            marker=dict(size=5), fill="tonexty" if train and val else None, fillcolor=GAP_FILL,
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
    figure.update_layout(
        title=METRIC_TITLES[metric], height=height, margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0), hovermode="x unified",
        xaxis=dict(title="epoch", range=[0.5, last + 0.5], dtick=max(1, math.ceil(last / 12))),
        yaxis=dict(title=metric, tickformat=".0%" if percent else None, rangemode="tozero" if metric == "loss" else "normal"),
    )
    if percent and not (train or val):
        figure.update_yaxes(range=[0, 1])  # before the first epoch: an honest empty 0-100 % axis, not Plotly's -100..400 %
    elif not (train or val):
        figure.update_yaxes(range=[0, 2.5])
    return figure


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
                line=dict(color=OVERLAY_COLOURS[index % len(OVERLAY_COLOURS)], width=2), marker=dict(size=4),
                hovertemplate=f"{label}<br>epoch %{{x}}: %{{y:{'.2%' if percent else '.4f'}}}<extra></extra>",
            )
        )
    figure.update_layout(
        title=f"{metric.replace('_', ' ')} per epoch", height=height, margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.18), xaxis=dict(title="epoch"),
        yaxis=dict(title=metric.replace("_", " "), tickformat=".0%" if percent else None),
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
        dimensions.append(dict(label=labels.get(name, name), values=list(table[name]) if len(table) else []))
    dimensions.append(dict(label="val accuracy", values=list(table["val_accuracy"]) if len(table) else [], tickformat=".0%"))
    colour = list(table["val_accuracy"]) if len(table) else []
    figure = go.Figure(
        go.Parcoords(
            line=dict(color=colour, colorscale="Viridis", showscale=True, colorbar=dict(title="val acc", tickformat=".0%")),
            dimensions=dimensions,
        )
    )
    figure.update_layout(height=height, margin=dict(l=60, r=40, t=50, b=20))
    return figure


def sweep_heatmap(cells: pd.DataFrame, value: str = "val_accuracy", height: int = 360) -> go.Figure:
    """Layers (rows) x units (columns) of `value`; cells not trained yet are grey and say so.

    `cells` has columns layers, units and `value` (NaN where no cached run exists).
    """
    layers = sorted(cells["layers"].unique())
    units = sorted(cells["units"].unique())
    grid = np.full((len(layers), len(units)), np.nan)
    for row in cells.itertuples(index=False):
        grid[layers.index(row.layers), units.index(row.units)] = getattr(row, value)
    text = [["not trained" if np.isnan(v) else f"{v:.1%}" for v in line] for line in grid]
    x_labels, y_labels = [str(u) for u in units], [str(n) for n in layers]
    figure = go.Figure(
        go.Heatmap(
            z=[[None if np.isnan(v) else float(v) for v in line] for line in grid], x=x_labels, y=y_labels,
            colorscale="Viridis", colorbar=dict(title=value.replace("_", " "), tickformat=".0%"),
            text=text, texttemplate="%{text}", hovertemplate="%{y} layers x %{x} units: %{text}<extra></extra>",
            xgap=2, ygap=2,
        )
    )
    missing = np.argwhere(np.isnan(grid))
    if len(missing):
        figure.add_trace(
            go.Heatmap(
                z=[[1 if np.isnan(v) else None for v in line] for line in grid], x=x_labels, y=y_labels,
                colorscale=[[0, "#e0e0e0"], [1, "#e0e0e0"]], showscale=False, text=text, texttemplate="%{text}",
                hovertemplate="%{y} layers x %{x} units: not trained yet<extra></extra>", xgap=2, ygap=2,
            )
        )
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), title=f"{value.replace('_', ' ')}: layers x units",
        xaxis=dict(title="units per layer", type="category"), yaxis=dict(title="hidden layers", type="category"),
    )
    return figure
