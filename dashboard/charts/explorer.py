"""Charts of the Misclassified explorer: confusion matrix, per-class bars, digit cards, saliency, conv mosaics.

Pure functions: numpy/pandas in, a plotly Figure (or PNG bytes for the gallery cards) out.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from core.evaluation import row_normalised
from dashboard.charts.common import NEUTRAL_COLOUR, PREDICTED_COLOUR, TRUE_COLOUR, percent_ticks
from dashboard.selection import customdata_values, selected_points

SELECTED_COLOUR = "#ffb300"
NBSP = "\u00a0"
_ERROR_SCALE = [[0.0, "#fff5f0"], [0.35, "#fc9272"], [1.0, "#a50f15"]]
_CORRECT_SCALE = [[0.0, "#f1f8e9"], [1.0, "#2e7d32"]]


# -- confusion matrix -------------------------------------------------------------------------


def confusion_figure(
    matrix: np.ndarray, normalised: bool = False, selected: tuple[int, int] | None = None, height: int = 400
) -> go.Figure:
    """The confusion matrix (rows = true class, columns = predicted class) with clickable cells.

    Correct answers (the diagonal) and errors get separate colour scales, so a handful of errors
    is not washed out by hundreds of correct answers. `normalised` shows each row as shares of
    its true class. An invisible scatter marker sits on every cell with customdata (true,
    predicted): Plotly heatmaps report no clicks to Streamlit, scatter points do.
    """
    counts = np.asarray(matrix, dtype=np.int64)
    n = counts.shape[0]
    if counts.shape != (n, n):
        raise ValueError(f"a confusion matrix must be square, not {counts.shape}")
    shares = row_normalised(counts)
    values = shares if normalised else counts.astype(np.float64)
    diagonal = np.eye(n, dtype=bool)
    text = np.empty(counts.shape, dtype=object)
    for (row, column), count in np.ndenumerate(counts):
        text[row, column] = "" if count == 0 else (f"{values[row, column]:.0%}" if normalised else str(count))
    classes = list(range(n))
    hover = "true %{y}, predicted %{x}: %{customdata[0]} (%{customdata[1]:.1%} of true %{y})<extra></extra>"
    customdata = np.dstack([counts, shares])
    error_values = np.where(diagonal | (counts == 0), np.nan, values)
    correct_values = np.where(diagonal, values, np.nan)
    error_max = np.nanmax(error_values) if np.isfinite(error_values).any() else 1.0
    figure = go.Figure()
    figure.add_trace(
        go.Heatmap(
            z=correct_values, x=classes, y=classes, colorscale=_CORRECT_SCALE, showscale=False, zmin=0,
            text=np.where(diagonal, text, ""), texttemplate="%{text}", customdata=customdata, hovertemplate=hover,
            xgap=1, ygap=1, name="correct",
        )
    )
    figure.add_trace(
        go.Heatmap(
            z=error_values, x=classes, y=classes, colorscale=_ERROR_SCALE, zmin=0, zmax=max(error_max, 1e-9),
            showscale=False, text=np.where(diagonal, "", text), texttemplate="%{text}", customdata=customdata,
            hovertemplate=hover, xgap=1, ygap=1, name="errors",
        )
    )
    true_grid, predicted_grid = np.meshgrid(classes, classes, indexing="ij")
    figure.add_trace(
        go.Scatter(
            x=predicted_grid.ravel(), y=true_grid.ravel(), mode="markers",
            marker=dict(size=34, symbol="square", opacity=0.01, color="#000000"),
            customdata=np.column_stack([true_grid.ravel(), predicted_grid.ravel(), counts.ravel()]),
            hovertemplate="true %{customdata[0]}, predicted %{customdata[1]}: %{customdata[2]} digit(s)<br>click to show them<extra></extra>",
            name="cells", showlegend=False,
        )
    )
    if selected is not None:
        true_class, predicted_class = selected
        figure.add_shape(
            type="rect", x0=predicted_class - 0.5, x1=predicted_class + 0.5, y0=true_class - 0.5, y1=true_class + 0.5,
            line=dict(color=SELECTED_COLOUR, width=4),
        )
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=10), clickmode="event+select",
        xaxis=dict(title="predicted class", tickmode="array", tickvals=classes, side="top", constrain="domain", fixedrange=True),
        yaxis=dict(title="true class", tickmode="array", tickvals=classes, autorange="reversed", scaleanchor="x",
                   constrain="domain", fixedrange=True),
        plot_bgcolor="white", showlegend=False,
    )
    return figure


def selected_cell(selection) -> tuple[int, int] | None:
    """(true, predicted) of the clicked cell from st.plotly_chart's selection state, or None.

    Accepts the object Streamlit returns (attribute or dict access) and ignores points that
    carry no cell (e.g. from the heatmaps).
    """
    for point in reversed(selected_points(selection)):
        data = customdata_values(point)  # Chromium sends typed-array rows as {"0": true, "1": predicted, ...}
        if data is not None and len(data) >= 2:
            try:
                return int(data[0]), int(data[1])
            except (TypeError, ValueError):
                continue
    return None


# -- per class --------------------------------------------------------------------------------


def class_accuracy_figure(table: pd.DataFrame, height: int = 320) -> go.Figure:
    """Per-class recall (accuracy on each true class) as bars, precision as diamonds."""
    classes = [str(c) for c in table["class"]]
    figure = go.Figure(
        go.Bar(
            x=classes, y=table["recall"], name="accuracy on the class (recall)", marker_color=TRUE_COLOUR,
            text=[f"{v:.1%}" if np.isfinite(v) else "" for v in table["recall"]], textposition="outside",
            customdata=np.column_stack([table["correct"], table["support"]]),
            hovertemplate="class %{x}: %{customdata[0]} of %{customdata[1]} right (%{y:.1%})<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=classes, y=table["precision"], mode="markers", name="precision (right when it says so)",
            marker=dict(symbol="diamond", size=11, color=PREDICTED_COLOUR),
            hovertemplate="predicted %{x}: right %{y:.1%} of the time<extra></extra>",
        )
    )
    low = np.nanmin(np.concatenate([table["recall"].to_numpy(float), table["precision"].to_numpy(float), [1.0]]))
    bottom = max(0.0, float(low) - 0.1)
    # Room above 100 % for the bar labels, but no tick there: an accuracy is never above 100 %.
    tick_values, tick_labels = percent_ticks(bottom, 1.0)
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=-0.2),
        yaxis=dict(range=[bottom, 1.0 + 0.08 * (1.0 - bottom) + 0.01], tickvals=tick_values, ticktext=tick_labels,
                   title="share right"),
        xaxis=dict(title="class", type="category"),
    )
    return figure


# -- gallery cards (PNG, NEAREST upscaling: crisp pixels) -------------------------------------


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))


def digit_card(image: np.ndarray, probabilities: np.ndarray, true_label: int, scale: int = 4) -> Image.Image:
    """A digit upscaled by whole pixels with its ten class probabilities as small bars underneath.

    The predicted class bar is red when wrong, the true class green; digits 0-9 label the bars.
    """
    image = np.clip(np.nan_to_num(np.asarray(image, dtype=np.float32)), 0, 255).astype(np.uint8)
    probabilities = np.clip(np.nan_to_num(np.asarray(probabilities, dtype=np.float64).ravel()), 0, 1)
    digit = Image.fromarray(image, mode="L").resize((image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST)
    width = digit.width
    bars_height, labels_height = 34, 12
    card = Image.new("RGB", (width, digit.height + bars_height + labels_height + 4), "white")
    card.paste(digit.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(card)
    n = len(probabilities)
    slot = width / n
    predicted = int(np.argmax(probabilities))
    top = digit.height + 3
    baseline = top + bars_height
    font = ImageFont.load_default()
    for label, probability in enumerate(probabilities):
        colour = NEUTRAL_COLOUR
        if label == predicted:
            colour = TRUE_COLOUR if predicted == true_label else PREDICTED_COLOUR
        elif label == true_label:
            colour = TRUE_COLOUR
        left = int(round(label * slot)) + 1
        right = int(round((label + 1) * slot)) - 1
        draw.line([(left, baseline), (right, baseline)], fill=(220, 220, 220))
        bar_top = baseline - max(1, int(round(probability * bars_height)))
        if probability > 0.004:
            draw.rectangle([left, bar_top, right, baseline], fill=_hex(colour))
        text_colour = _hex(colour) if label in (predicted, true_label) else (110, 110, 110)
        draw.text(((left + right) / 2, baseline + 1), str(label), fill=text_colour, font=font, anchor="mt")
    return card


def png_bytes(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def card_caption(true_label: int, predicted: int, confidence: float) -> str:
    """'pred 7 / true 2 · 94 %' (non-breaking spaces: a narrow card wraps only before the '·')."""
    return f"pred {predicted} / true {true_label} · {confidence * 100:.0f} %".replace(" ", NBSP).replace(f"{NBSP}·", " ·")


# -- why: saliency, filters, feature maps -----------------------------------------------------


def saliency_figure(image: np.ndarray, saliency_map: np.ndarray, title: str = "", size: int = 300) -> go.Figure:
    """The digit in gray with the saliency map on top in translucent red (strong = opaque)."""
    image = np.asarray(image, dtype=np.float32)
    saliency_map = np.asarray(saliency_map, dtype=np.float32)
    if image.shape != saliency_map.shape:
        raise ValueError(f"image {image.shape} and saliency {saliency_map.shape} differ in shape")
    overlay_scale = [[0.0, "rgba(255,0,0,0)"], [0.15, "rgba(255,60,0,0.15)"], [0.5, "rgba(255,40,0,0.6)"], [1.0, "rgba(255,230,0,0.95)"]]
    figure = go.Figure(
        [
            go.Heatmap(z=image[::-1], colorscale="gray", zmin=0, zmax=420, showscale=False, hoverinfo="skip"),  # dimmed: the map stands out
            go.Heatmap(
                z=saliency_map[::-1], colorscale=overlay_scale, zmin=0, zmax=1, showscale=True,
                colorbar=dict(title="push", thickness=10, len=0.8, tickvals=[0, 1], ticktext=["none", "most"]),
                hovertemplate="x %{x}, y %{y}: %{z:.2f}<extra></extra>",
            ),
        ]
    )
    figure.update_layout(
        title=title or None, width=size + 60, height=size + (30 if title else 0), margin=dict(l=0, r=0, t=30 if title else 0, b=0),
        xaxis=dict(visible=False, constrain="domain"), yaxis=dict(visible=False, scaleanchor="x"),
    )
    return figure


def mosaic(tiles: np.ndarray, columns: int = 8, gap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Tile (N, H, W) arrays into one image, each tile scaled to 0-1 by itself; gaps are NaN.

    Returns (mosaic, tile_index) where tile_index says which tile each mosaic pixel shows (-1 in gaps).
    """
    tiles = np.asarray(tiles, dtype=np.float64)
    if tiles.ndim != 3 or len(tiles) == 0:
        raise ValueError(f"expected a non-empty stack of 2-D tiles, got shape {tiles.shape}")
    count, height, width = tiles.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    out = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    index = np.full(out.shape, -1, dtype=np.int64)
    for number, tile in enumerate(tiles):
        low, high = np.nanmin(tile), np.nanmax(tile)
        scaled = (tile - low) / (high - low) if high > low else np.zeros_like(tile)
        row, column = divmod(number, columns)
        top, left = row * (height + gap), column * (width + gap)
        out[top : top + height, left : left + width] = scaled
        index[top : top + height, left : left + width] = number
    return out, index


def _mosaic_figure(tiles: np.ndarray, columns: int, colorscale: str, tile_pixels: int, title: str, label: str) -> go.Figure:
    picture, index = mosaic(tiles, columns)
    rows, cols = picture.shape
    height = tiles.shape[1]
    scale = tile_pixels / height
    customdata = np.where(index >= 0, index, np.nan)
    figure = go.Figure(
        go.Heatmap(
            z=picture[::-1], colorscale=colorscale, zmin=0, zmax=1, showscale=False, customdata=customdata[::-1],
            hovertemplate=f"{label} %{{customdata}}<extra></extra>", hoverongaps=False,
        )
    )
    figure.update_layout(
        title=dict(text=title, font=dict(size=14)) if title else None,
        width=int(cols * scale) + 10, height=int(rows * scale) + (34 if title else 6),
        margin=dict(l=2, r=2, t=30 if title else 2, b=2), plot_bgcolor="white",
        xaxis=dict(visible=False, constrain="domain"), yaxis=dict(visible=False, scaleanchor="x"),
    )
    return figure


def filters_figure(kernels: np.ndarray, columns: int = 8, title: str = "") -> go.Figure:
    """The conv kernels (k, k, in, out), one tile per output filter (averaged over input channels).

    Dark = large weight (gray reversed, as in the seed tutorial's filter pictures).
    """
    kernels = np.asarray(kernels, dtype=np.float64)
    if kernels.ndim != 4:
        raise ValueError(f"expected conv kernels (k, k, in, out), got shape {kernels.shape}")
    tiles = np.moveaxis(kernels.mean(axis=2), -1, 0)  # (out, k, k)
    return _mosaic_figure(tiles, columns, "gray_r", tile_pixels=44, title=title, label="filter")


def feature_maps_figure(name: str, activations: np.ndarray, max_channels: int = 32, columns: int = 8) -> go.Figure:
    """One layer's activations (H, W, C) for one image: a tile per channel (first `max_channels`)."""
    activations = np.asarray(activations, dtype=np.float64)
    if activations.ndim != 3:
        raise ValueError(f"expected activations (H, W, C), got shape {activations.shape}")
    channels = activations.shape[-1]
    shown = min(channels, max_channels)
    tiles = np.moveaxis(activations[..., :shown], -1, 0)
    title = f"{name} · {activations.shape[0]}x{activations.shape[1]}, " + (
        f"{channels} channels" if shown == channels else f"first {shown} of {channels} channels"
    )
    tile_pixels = 64 if activations.shape[0] >= 14 else 48
    return _mosaic_figure(tiles, columns, "viridis", tile_pixels=tile_pixels, title=title, label="channel")
