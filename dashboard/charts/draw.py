"""Charts of the Draw page: the preprocessing steps, the 28x28 preview with its guides, model comparison.

Pure functions: numpy in, a plotly Figure (or PNG bytes for the inspector's step pictures) out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from core.preprocess import CENTRE, centre_of_mass, ink_bbox
from dashboard.charts.common import PREDICTED_COLOUR, TRUE_COLOUR

UNSURE_BELOW = 0.6  # a top probability under this earns a "not sure" note
FRAME_COLOUR = (38, 50, 56)  # around a step picture whose aspect is not square
MODEL_COLOURS = ["#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#9e9d24"]


@dataclass(frozen=True)
class Verdict:
    digit: int
    confidence: float
    runner_up: int
    runner_up_confidence: float

    @property
    def unsure(self) -> bool:
        return self.confidence < UNSURE_BELOW


def verdict(probabilities: np.ndarray) -> Verdict:
    """The top prediction, its probability, and the second guess."""
    probabilities = np.asarray(probabilities, dtype=np.float64).ravel()
    order = np.argsort(probabilities)[::-1]
    return Verdict(int(order[0]), float(probabilities[order[0]]), int(order[1]), float(probabilities[order[1]]))


def step_picture(image: np.ndarray, size: int = 150) -> bytes:
    """One preprocessing step as a square PNG: whole-pixel upscaling for small images (crisp),
    area-averaged shrinking for large ones, aspect kept on a dark frame. RGBA inputs keep alpha.
    """
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 4:
        picture = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), mode="RGBA")
        rgba = Image.new("RGBA", picture.size, (*FRAME_COLOUR, 255))
        rgba.alpha_composite(picture)  # a transparent canvas shows as the dark frame, not white
        picture = rgba.convert("RGB")
    elif array.ndim == 3 and array.shape[2] == 3:
        picture = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), mode="RGB")
    elif array.ndim == 2:
        picture = Image.fromarray(np.clip(np.nan_to_num(array), 0, 255).astype(np.uint8), mode="L").convert("RGB")
    else:
        raise ValueError(f"expected a 2-D image or an (H, W, 3|4) array, got shape {array.shape}")
    scale = size / max(picture.size)
    new_size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    picture = picture.resize(new_size, resample)
    framed = Image.new("RGB", (size, size), FRAME_COLOUR)
    framed.paste(picture, ((size - picture.width) // 2, (size - picture.height) // 2))
    buffer = io.BytesIO()
    framed.save(buffer, format="PNG")
    return buffer.getvalue()


def preview_figure(image: np.ndarray, guides: bool = True, size: int = 240, centre: float = CENTRE) -> go.Figure:
    """The 28x28 image the model sees, cell by cell; with `guides`, the ink's bounding box (dashed)
    and its centre of mass (dot) against the field's target centre (cross). Box and mass come from
    `core.preprocess`, the very functions that framed the digit."""
    image = np.asarray(image, dtype=np.float32)
    height = image.shape[0]
    figure = go.Figure(
        go.Heatmap(z=image, colorscale="gray", zmin=0, zmax=255, showscale=False, hovertemplate="row %{y}, column %{x}: %{z:.0f}<extra></extra>")
    )
    box = ink_bbox(image) if guides else None
    if guides:
        if box is not None:
            top, left, bottom, right = box  # exclusive ends
            figure.add_shape(
                type="rect", x0=left - 0.5, x1=right - 0.5, y0=top - 0.5, y1=bottom - 0.5,
                line=dict(color="#4fc3f7", width=1.5, dash="dash"),
            )
        figure.add_trace(
            go.Scatter(
                x=[centre], y=[centre], mode="markers", name="field centre",
                marker=dict(symbol="cross-thin", size=18, line=dict(color=TRUE_COLOUR, width=2)), hoverinfo="name",
            )
        )
        if box is not None:
            mass = centre_of_mass(image)
            figure.add_trace(
                go.Scatter(
                    x=[mass[1]], y=[mass[0]], mode="markers", name="centre of mass",
                    marker=dict(size=8, color=PREDICTED_COLOUR), hovertemplate="centre of mass: row %{y:.1f}, column %{x:.1f}<extra></extra>",
                )
            )
    figure.update_layout(
        width=size, height=size, margin=dict(l=0, r=0, t=0, b=0), showlegend=False, plot_bgcolor="black",
        xaxis=dict(visible=False, range=[-0.5, height - 0.5], constrain="domain"),
        yaxis=dict(visible=False, range=[height - 0.5, -0.5], scaleanchor="x"),
    )
    return figure


def compare_figure(names: list[str], probabilities: np.ndarray, height: int = 320) -> go.Figure:
    """Several models' ten-class probabilities for one drawing, as grouped bars (one colour per model)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(names) != len(probabilities):
        raise ValueError(f"{len(names)} names for probabilities of shape {probabilities.shape}")
    classes = [str(i) for i in range(probabilities.shape[1])]
    figure = go.Figure()
    for index, (name, row) in enumerate(zip(names, probabilities, strict=True)):
        figure.add_trace(
            go.Bar(
                x=classes, y=row, name=name, marker_color=MODEL_COLOURS[index % len(MODEL_COLOURS)],
                hovertemplate=f"{name}<br>class %{{x}}: %{{y:.1%}}<extra></extra>",
            )
        )
    figure.update_layout(
        barmode="group", height=height, margin=dict(l=10, r=10, t=10, b=10),
        yaxis=dict(range=[0, 1.02], tickformat=".0%", title="probability"), xaxis=dict(title="class", type="category"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return figure
