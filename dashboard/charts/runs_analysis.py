"""Runs page, "What mattered": hyperparameter importance bars, marginal plots and the Pareto charts.

Pure functions: DataFrames in, a plotly Figure out (the maths is core/importance.py). Every run point
carries its cache key as `customdata`, so a click can open that run.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.common import NEUTRAL_COLOUR, percent_axis

RUN_COLOUR = "#1565c0"
FRONT_COLOUR = "#c62828"
NOISE_COLOUR = "#90a4ae"
CLICK_HINT = "click to open it on the Train page"
MARGINAL_COLUMNS = 3
PANEL_HEIGHT = 230  # pixels per row of marginal panels
PANEL_GAP = 70  # pixels between rows: room for the x ticks above and the next panel's title


def _hover(extra: str = "") -> str:
    """The hover text of a run's point: its description (the trace's `text`), accuracy, and what a click does."""
    return f"%{{text}}<br>test accuracy %{{y:.2%}}{extra}<br><i>{CLICK_HINT}</i><extra></extra>"


def importance_bars(items: pd.DataFrame, noise_label: str = "seed", height: int | None = None) -> go.Figure:
    """Horizontal bars, most important on top: `items` has columns label, share (0..1, NaN = cannot be
    told) and groups. The `noise_label` bar (the seed: pure chance) is grey, the noise floor."""
    items = items.iloc[::-1]  # Plotly draws the first category at the bottom
    shares = items["share"].astype(float)
    known = shares.notna()
    colours = [NOISE_COLOUR if label == noise_label else RUN_COLOUR for label in items["label"]]
    texts = [f"{share:.0%}" if ok else "can't tell: one run per value" for share, ok in zip(shares, known, strict=True)]
    figure = go.Figure(go.Bar(
        x=shares.fillna(0.0).tolist(), y=items["label"].tolist(), orientation="h", marker_color=colours, text=texts, textposition="outside",
        customdata=items["groups"].tolist(), cliponaxis=False,
        hovertemplate="%{y}: explains %{x:.0%} of the spread in test accuracy<br>%{customdata} values compared<extra></extra>",
    ))
    top = max(0.25, float(shares.max()) if known.any() else 0.0)
    figure.update_layout(
        height=height or max(180, 38 * len(items) + 70), margin=dict(l=10, r=30, t=10, b=40), showlegend=False,
        xaxis=dict(title="share of the spread in test accuracy it explains", range=[0, min(1.0, top * 1.3) + 0.001], tickformat=".0%"),
        yaxis=dict(title=None, type="category"),
    )
    return figure


def marginal_figure(runs: pd.DataFrame, names: Sequence[str], log_names: Collection[str] = (), columns: int = MARGINAL_COLUMNS) -> go.Figure:
    """Test accuracy against each hyperparameter in `names`, one small panel each, one point per run.

    `runs` has columns key, description, test_accuracy and one column per name (numbers, or text for
    categories); panels of `log_names` get a log x axis.
    """
    rows = max(1, math.ceil(len(names) / columns))
    figure = make_subplots(rows=rows, cols=columns, shared_yaxes=True, subplot_titles=list(names),
                           horizontal_spacing=0.04, vertical_spacing=PANEL_GAP / (PANEL_HEIGHT * rows))
    for position, name in enumerate(names):
        row, column = position // columns + 1, position % columns + 1
        values = runs[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        figure.add_trace(go.Scatter(
            x=values if numeric else values.astype(str), y=runs["test_accuracy"], mode="markers",
            marker=dict(color=RUN_COLOUR, size=9, opacity=0.75, line=dict(color="white", width=1)),
            text=runs["description"], customdata=runs[["key"]].to_numpy(), name=name, showlegend=False,
            hovertemplate=f"{name} = %{{x}}<br>" + _hover(),
        ), row=row, col=column)
        if numeric and name in log_names and (values > 0).all():
            figure.update_xaxes(type="log", row=row, col=column)
        elif not numeric:
            figure.update_xaxes(type="category", categoryorder="category ascending", row=row, col=column)
        elif values.nunique() <= 8 and all(float(v).is_integer() for v in values.unique()):
            figure.update_xaxes(tickvals=sorted(values.unique()), row=row, col=column)  # layers 1, 2, 3: not 1.5
    low, high, ticks, labels = percent_axis(runs["test_accuracy"])
    pad = (high - low) * 0.05
    figure.update_yaxes(range=[low - pad, high + pad], tickvals=ticks, ticktext=labels)
    figure.update_yaxes(title_text="test accuracy", row=1, col=1)
    figure.update_layout(height=60 + PANEL_HEIGHT * rows, margin=dict(l=10, r=10, t=40, b=20), showlegend=False)
    return figure


def pareto_figure(runs: pd.DataFrame, cost: str, cost_title: str, on_front: Sequence[bool], log_x: bool = True,
                  x_format: str = ",.0f", height: int = 380) -> go.Figure:
    """Test accuracy against a cost (parameters, training seconds), one point per run, the Pareto front
    (`on_front`: one flag per row) in red joined by a staircase: nothing to its upper left exists.
    `x_format` is the d3 format of the cost in the hover text."""
    runs = runs.assign(_front=list(on_front))
    rest, front = runs[~runs["_front"]], runs[runs["_front"]].sort_values(cost, kind="stable")
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=rest[cost], y=rest["test_accuracy"], mode="markers", name="other runs", text=rest["description"],
        customdata=rest[["key"]].to_numpy(), marker=dict(color=NEUTRAL_COLOUR, size=9, line=dict(color="white", width=1)),
        hovertemplate=f"{cost_title}: %{{x:{x_format}}}<br>" + _hover(),
    ))
    figure.add_trace(go.Scatter(
        x=front[cost], y=front["test_accuracy"], mode="lines+markers", name="Pareto front", line=dict(color=FRONT_COLOUR, shape="hv"),
        text=front["description"], customdata=front[["key"]].to_numpy(),
        marker=dict(color=FRONT_COLOUR, size=11, line=dict(color="white", width=1)),
        hovertemplate=f"{cost_title}: %{{x:{x_format}}}<br>" + _hover(" · on the front"),
    ))
    low, high, ticks, labels = percent_axis(runs["test_accuracy"])
    pad = (high - low) * 0.05
    positive = (runs[cost] > 0).all()
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=40), legend=dict(orientation="h", y=1.08, x=0),
        xaxis=dict(title=cost_title + (" (log scale)" if log_x and positive else ""), type="log" if log_x and positive else "linear"),
        yaxis=dict(title="test accuracy", range=[low - pad, high + pad], tickvals=ticks, ticktext=labels),
    )
    return figure
