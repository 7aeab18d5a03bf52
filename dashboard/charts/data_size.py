"""Accuracy vs training-set size: train and test accuracy per size on a log x axis, unfinished sizes marked.

Pure function: a DataFrame in, a plotly Figure out. No st.* here.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import NEUTRAL_COLOUR, percent_axis
from dashboard.charts.training import TRAIN_COLOUR

TEST_COLOUR = "#2e7d32"
STATUS_TEXT = {"queued": "queued", "running": "training…", "missing": "not trained"}


def data_size_curve(frame: pd.DataFrame, height: int = 380) -> go.Figure:
    """Train (dashed) and test (solid) accuracy against the number of training digits (log x).

    `frame` has one row per size: size, train_accuracy, test_accuracy (NaN until trained) and
    status ('done', 'queued', 'running' or 'missing'). Sizes without a result sit on the bottom
    edge of the chart, labelled with their status, so the student sees what is still coming.
    """
    frame = frame.sort_values("size")
    done = frame[frame["status"] == "done"]
    pending = frame[frame["status"] != "done"]
    finished = [v for v in (*done["train_accuracy"], *done["test_accuracy"]) if v is not None and math.isfinite(v)]
    low, high, ticks, labels = percent_axis(finished or [0.8, 1.0])
    figure = go.Figure()
    for column, name, colour, dash in (("train_accuracy", "train", TRAIN_COLOUR, "dash"), ("test_accuracy", "test", TEST_COLOUR, "solid")):
        figure.add_trace(
            go.Scatter(
                x=done["size"], y=done[column], name=f"{name} accuracy", mode="lines+markers",
                line=dict(color=colour, width=2, dash=dash), marker=dict(size=8), cliponaxis=False,
                hovertemplate=f"%{{x:,}} training digits: {name} %{{y:.1%}}<extra></extra>",
            )
        )
    if not pending.empty:
        figure.add_trace(
            go.Scatter(
                x=pending["size"], y=[low] * len(pending), name="not finished yet", mode="markers+text",
                marker=dict(size=11, symbol="circle-open", color=NEUTRAL_COLOUR, line=dict(width=2)),
                text=[STATUS_TEXT.get(status, status) for status in pending["status"]], textposition="top center",
                cliponaxis=False, hovertemplate="%{x:,} training digits: %{text}<extra></extra>",
            )
        )
    sizes = list(frame["size"])
    figure.update_layout(
        title=dict(text="More data? Accuracy vs training-set size", x=0, font=dict(size=15)), height=height,
        margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=1.1, x=1, xanchor="right"),
        xaxis=dict(type="log", title="training digits (log scale)", tickvals=sizes, ticktext=[f"{s:,}" for s in sizes]),
        yaxis=dict(title="accuracy", range=[low, high], tickvals=ticks, ticktext=labels),
    )
    return figure
