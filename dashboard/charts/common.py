"""Charts several pages share (a crisp digit image, the ten-class probability bars) and the reading aids
every chart may use: text colour by contrast, colour ranges clipped to the data, distinct % ticks."""

from __future__ import annotations

import math

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


# -- reading aids every chart can use: contrast, colour ranges, distinct ticks -------------------


def _rgb(colour: str) -> tuple[float, float, float]:
    """'#rrggbb' or 'rgb(r, g, b)' -> (r, g, b) in 0..255."""
    colour = colour.strip()
    if colour.startswith("#") and len(colour) == 7:
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    if colour.startswith("rgb"):
        parts = colour[colour.index("(") + 1 : colour.index(")")].split(",")
        return tuple(float(part) for part in parts[:3])  # type: ignore[return-value]
    raise ValueError(f"not a colour this function reads: {colour!r} (use '#rrggbb' or 'rgb(r, g, b)')")


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a colour, 0 (black) .. 1 (white)."""

    def linear(channel: float) -> float:
        channel /= 255.0
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in _rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two colours, 1 (none) .. 21 (black on white); text wants >= 4.5."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background: str, dark: str = "#111111", light: str = "#ffffff") -> str:
    """The text colour (`dark` or `light`) with the higher contrast on `background`."""
    return dark if contrast_ratio(background, dark) >= contrast_ratio(background, light) else light


def colour_range(values, upper: float | None = 1.0, lower: float | None = 0.0, min_span: float = 0.01) -> tuple[float, float]:
    """(low, high) of a colour scale that spans the data's real range, clipped to [lower, upper].

    Plotly stretches a scale over padding it invents (a lone 98 % cell gave a 60-140 % bar); an
    accuracy is never above 100 %. A range narrower than `min_span` is widened downwards (or upwards
    at the floor) so one value still gets a scale; no finite data -> (lower, upper) or (0, 1).
    """
    finite = [float(v) for v in np.asarray(values, dtype=float).ravel() if np.isfinite(v)]
    floor = lower if lower is not None else -np.inf
    ceiling = upper if upper is not None else np.inf
    if not finite:
        return (lower if lower is not None else 0.0, upper if upper is not None else 1.0)
    low, high = max(floor, min(finite)), min(ceiling, max(finite))
    if high - low < min_span:
        low = max(floor, high - min_span)
        high = min(ceiling, max(high, low + min_span))
    return float(low), float(high)


def percent_ticks(low: float, high: float, max_ticks: int = 6) -> tuple[list[float], list[str]]:
    """Tick values in [low, high] (fractions) at a round step, labelled in % with just enough decimals
    that no two labels read the same (Plotly's '.0%' printed "96%, 96%, 95%" on a narrow axis)."""
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        centre = float(low) if np.isfinite(low) else 0.0
        low, high = centre - 0.005, centre + 0.005
    raw = (high - low) / max(1, max_ticks - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first = math.ceil(low / step - 1e-9)
    values = [round((first + i) * step, 12) for i in range(max_ticks + 2) if (first + i) * step <= high + 1e-12]
    if len(values) < 2:  # the range is narrower than one step: its two ends
        values = [float(low), float(high)]
    for decimals in range(0, 6):
        labels = [f"{value * 100:.{decimals}f}%" for value in values]
        if len(set(labels)) == len(labels):
            break
    return values, labels


def percent_axis(values, max_ticks: int = 6) -> tuple[float, float, list[float], list[str]]:
    """(low, high, tick values, tick labels) of a 0..1 axis for `values`: the data's range widened out to
    the nearest round ticks (so both ends are labelled), clipped to 0-100 %, labels all distinct."""
    low, high = colour_range(values, upper=1.0, lower=0.0, min_span=0.01)
    ticks, _ = percent_ticks(low, high, max_ticks)
    step = ticks[1] - ticks[0]
    low = max(0.0, math.floor(low / step + 1e-9) * step)
    high = min(1.0, math.ceil(high / step - 1e-9) * step)
    ticks = [round(low + index * step, 12) for index in range(int(round((high - low) / step)) + 1)]
    for decimals in range(0, 6):
        labels = [f"{value * 100:.{decimals}f}%" for value in ticks]
        if len(set(labels)) == len(labels):
            break
    return round(low, 12), round(high, 12), ticks, labels
