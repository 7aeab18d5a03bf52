"""Robustness lab figures: accuracy vs perturbation strength, one curve per model (pure: arrays in, a figure out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from dashboard.charts.common import percent_ticks

MARKER_COLOUR = "#616161"
# Distinct hues (the theme's default sequence is shades of blue, which two curves side by side cannot be told apart by).
LINE_COLOURS = ("#1565c0", "#e65100", "#2e7d32", "#6a1b9a", "#c62828", "#00838f")


@dataclass(frozen=True)
class CurveLine:
    """One model's curve as the chart draws it: its name and (strength, accuracy) points."""

    name: str
    strengths: Sequence[float]
    accuracy: Sequence[float]


def curves_figure(lines: Sequence[CurveLine], x_title: str, chosen: float | None = None, chance: float = 0.1,
                  height: int = 420) -> go.Figure:
    """Accuracy vs strength, one line per model, a dotted line at chance level and a dashed one at the chosen strength."""
    figure = go.Figure()
    for index, line in enumerate(lines):
        figure.add_trace(go.Scatter(
            x=list(line.strengths), y=list(line.accuracy), mode="lines+markers", name=line.name,
            line=dict(color=LINE_COLOURS[index % len(LINE_COLOURS)], width=2.5),
            hovertemplate=f"{line.name}<br>{x_title}: %{{x:g}}<br>accuracy %{{y:.1%}}<extra></extra>",
        ))
    strengths = [float(value) for line in lines for value in line.strengths]
    if strengths:
        figure.add_trace(go.Scatter(
            x=[min(strengths), max(strengths)], y=[chance, chance], mode="lines", name="chance (guessing)",
            line=dict(dash="dot", color="#9e9e9e", width=1), hoverinfo="skip",
        ))
    if chosen is not None:
        figure.add_vline(x=float(chosen), line=dict(dash="dash", color=MARKER_COLOUR, width=1),
                         annotation_text=f"gallery: {chosen:g}", annotation_position="top")
    ticks, labels = percent_ticks(0.0, 1.0, max_ticks=6)
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), hovermode="closest",
        xaxis=dict(title=x_title, zeroline=False),
        yaxis=dict(title="test accuracy", range=[0, 1.02], tickvals=ticks, ticktext=labels),
        legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0),
    )
    return figure

