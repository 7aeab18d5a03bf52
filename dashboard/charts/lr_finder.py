"""The learning-rate finder's chart: loss vs learning rate (log x), raw faint, smoothed bold, suggestion marked.

A pure function: the rates, the losses and their smoothing (computed in core.lr_finder) in, a plotly
Figure out. No st.* here, no maths beyond choosing the y range.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

RAW_COLOUR = "rgba(21, 101, 192, 0.25)"
SMOOTH_COLOUR = "#1565c0"
SUGGESTION_COLOUR = "#2e7d32"
MINIMUM_COLOUR = "#ef6c00"


def range_test_figure(
    rates: Sequence[float],
    losses: Sequence[float],
    smoothed: Sequence[float],
    *,
    suggestion: float | None = None,
    steepest_at: float | None = None,
    minimum_at: float | None = None,
    rate_span: tuple[float, float] | None = None,
    height: int = 360,
) -> go.Figure:
    """Loss per batch against its learning rate on a log axis.

    `suggestion` (the rounded value "Use this" sets) is drawn as a green vertical line at `steepest_at`
    (the raw steepest point, or `suggestion` itself); `minimum_at` as an orange dot on the smoothed
    curve. `rate_span` fixes the x axis (the whole planned sweep), so a live curve grows into it.
    The y axis is clipped to the interesting part: an exploding loss would flatten the rest.
    """
    rates = np.asarray(rates, dtype=float)
    losses, smoothed = np.asarray(losses, dtype=float), np.asarray(smoothed, dtype=float)
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=rates, y=losses, name="loss of each batch", mode="lines", line=dict(color=RAW_COLOUR, width=1),
        hovertemplate="learning rate %{x:.2g}: loss %{y:.3f}<extra></extra>",
    ))
    figure.add_trace(go.Scatter(
        x=rates, y=smoothed, name="smoothed loss", mode="lines", line=dict(color=SMOOTH_COLOUR, width=3),
        hovertemplate="learning rate %{x:.2g}: smoothed loss %{y:.3f}<extra></extra>",
    ))
    finite = smoothed[np.isfinite(smoothed)]
    if minimum_at is not None and len(finite):
        lowest = int(np.nanargmin(np.where(np.isfinite(smoothed), smoothed, np.inf)))
        figure.add_trace(go.Scatter(
            x=[rates[lowest]], y=[smoothed[lowest]], name=f"lowest loss (at {minimum_at:.2g})", mode="markers",
            marker=dict(color=MINIMUM_COLOUR, size=11, symbol="circle"),
            hovertemplate="lowest smoothed loss at learning rate %{x:.2g}<extra></extra>",
        ))
    if suggestion is not None:
        at = steepest_at if steepest_at is not None else suggestion
        figure.add_vline(x=at, line=dict(color=SUGGESTION_COLOUR, width=2, dash="dash"))
        figure.add_trace(go.Scatter(  # a legend entry (and hover) for the line
            x=[at], y=[float(np.interp(np.log10(at), np.log10(rates), smoothed)) if len(rates) else 0.0],
            name=f"suggested: {suggestion:g}", mode="markers", marker=dict(color=SUGGESTION_COLOUR, size=12, symbol="diamond"),
            hovertemplate=f"suggested learning rate {suggestion:g} (steepest descent)<extra></extra>",
        ))
    y_range = None
    if len(finite):
        low, start = float(finite.min()), float(finite[0])
        top = max(start, low) * 1.25 if np.isfinite(losses).any() else None
        raw = losses[np.isfinite(losses)]
        bottom = min(low, float(raw.min()) if len(raw) else low)
        if top is not None and top > bottom:
            y_range = [max(0.0, bottom - 0.05 * (top - bottom)), top]
    x_range = [float(np.log10(rate_span[0])), float(np.log10(rate_span[1]))] if rate_span else None
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), hovermode="closest",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        xaxis=dict(type="log", title="learning rate (log scale)", range=x_range, exponentformat="power"),
        yaxis=dict(title="training loss", range=y_range),
    )
    return figure
