"""Charts several pages share: a crisp digit image and the ten-class probability bars."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

TRUE_COLOUR = "#2e7d32"
PREDICTED_COLOUR = "#c62828"
NEUTRAL_COLOUR = "#90a4ae"


def digit_figure(image: np.ndarray, title: str = "", size: int = 220) -> go.Figure:
    """A 28x28 (or any HxW) grayscale image drawn cell by cell (no blurry upscaling), white on black."""
    image = np.asarray(image, dtype=np.float32)
    figure = go.Figure(
        go.Heatmap(z=image[::-1], colorscale="gray", zmin=0, zmax=255, showscale=False, hovertemplate="x %{x}, y %{y}: %{z:.0f}<extra></extra>")
    )
    figure.update_layout(
        title=title or None, width=size, height=size + (30 if title else 0), margin=dict(l=0, r=0, t=30 if title else 0, b=0),
        xaxis=dict(visible=False, constrain="domain"), yaxis=dict(visible=False, scaleanchor="x"),
    )
    return figure


def probability_bars(probabilities: np.ndarray, true_label: int | None = None, title: str = "", height: int = 260) -> go.Figure:
    """Ten (or n) class probabilities as bars; the predicted class red, the true class green."""
    probabilities = np.asarray(probabilities, dtype=np.float64).ravel()
    predicted = int(np.argmax(probabilities))
    colours = [NEUTRAL_COLOUR] * len(probabilities)
    colours[predicted] = PREDICTED_COLOUR if true_label is not None and predicted != true_label else TRUE_COLOUR
    if true_label is not None:
        colours[true_label] = TRUE_COLOUR
    classes = [str(i) for i in range(len(probabilities))]
    figure = go.Figure(
        go.Bar(
            x=classes, y=probabilities, marker_color=colours, text=[f"{p:.0%}" if p >= 0.01 else "" for p in probabilities],
            textposition="outside", hovertemplate="class %{x}: %{y:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        yaxis=dict(range=[0, 1.15], tickformat=".0%", title="probability"), xaxis=dict(title="class", type="category"),
    )
    return figure
