"""Figures of the "Inside the network" page: the embedding scatter, distributions over epochs, layer health.

Pure functions: arrays in, a Plotly figure (or text) out. No st.*, no maths beyond arranging data
(the projections, histograms and dead-unit shares come from core.inside / core.snapshots).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# Ten distinguishable class colours (Plotly's D3 palette), the same for every epoch.
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
SHADES = " ░▒▓█"
LESSON_COLOURS = ("#c62828", "#1565c0", "#2e7d32")  # the two models of a lesson: clearly different


def digit_text(image: np.ndarray, size: int = 14) -> str:
    """A digit as block characters (size x size, rows joined by <br>): a picture inside a Plotly hover label."""
    image = np.asarray(image, dtype=np.float32)
    height, width = image.shape[:2]
    rows, columns = height // size, width // size
    small = image[: rows * size, : columns * size].reshape(size, rows, size, columns).mean(axis=(1, 3)) if rows and columns else image
    levels = np.clip((small / 255.0 * (len(SHADES) - 1)).round().astype(int), 0, len(SHADES) - 1)
    return "<br>".join("".join(SHADES[v] for v in row) for row in levels)


def axis_range(values: np.ndarray, margin: float = 0.05) -> list[float]:
    """[low, high] covering every finite value with a small margin (one range for every epoch: stable axes)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return [-1.0, 1.0]
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * margin or 1.0
    return [low - pad, high + pad]


def embedding_figure(points: np.ndarray, labels: np.ndarray, predicted: np.ndarray, hover: list[str] | None = None,
                     x_range: list[float] | None = None, y_range: list[float] | None = None, title: str = "",
                     axis_titles: tuple[str, str] = ("axis 1", "axis 2"), height: int = 560) -> go.Figure:
    """Probe digits as points coloured by true class; misclassified ones drawn as crosses.

    Every point's customdata is [its position in the probe, its hover picture]; a click returns the
    position. Fixed ranges keep the axes still while the epoch changes.
    """
    points = np.asarray(points, dtype=np.float32)
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    figure = go.Figure()
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        if len(members) == 0:
            continue
        wrong = predicted[members] != digit
        texts = [hover[i] if hover is not None else "" for i in members]
        figure.add_trace(go.Scattergl(
            x=points[members, 0], y=points[members, 1], mode="markers", name=f"digit {digit}",
            marker=dict(color=CLASS_COLOURS[digit], size=np.where(wrong, 9, 6), symbol=np.where(wrong, "x", "circle"),
                        opacity=0.8, line=dict(width=0)),
            customdata=np.stack([members.astype(object), np.asarray(texts, dtype=object), predicted[members].astype(object)], axis=1),
            hovertemplate=(f"true {digit}, predicted %{{customdata[2]}}<br>probe digit #%{{customdata[0]}}<br>"
                           "<span style='font-family:monospace;font-size:9px'>%{customdata[1]}</span><extra></extra>"),
        ))
    figure.update_layout(
        title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        xaxis=dict(title=axis_titles[0], range=x_range, zeroline=False), yaxis=dict(title=axis_titles[1], range=y_range, zeroline=False),
        legend=dict(title="true class (x = misclassified)", itemsizing="constant"), clickmode="event+select",
        hoverlabel=dict(font=dict(family="monospace")), uirevision="embedding",
    )
    return figure


def distribution_figure(shares: np.ndarray, edges: np.ndarray, epochs: list[int], title: str = "", kind: str = "heatmap",
                        value_title: str = "value", height: int = 360) -> go.Figure:
    """Histograms over epochs: a heatmap (epoch x value, colour = share of values) or a ridgeline (one curve per epoch)."""
    shares = np.asarray(shares, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    figure = go.Figure()
    if kind == "ridgeline":
        peak = np.nanmax(shares) if np.isfinite(shares).any() and np.nanmax(shares) > 0 else 1.0
        spacing = 1.0
        for row, (epoch, share) in enumerate(zip(epochs, shares, strict=True)):
            base = row * spacing
            curve = base + np.nan_to_num(share) / peak * spacing * 1.8
            figure.add_trace(go.Scatter(x=centres, y=np.full(len(centres), base), mode="lines", line=dict(width=0),
                                        hoverinfo="skip", showlegend=False))
            figure.add_trace(go.Scatter(
                x=centres, y=curve, mode="lines", fill="tonexty", name=f"epoch {epoch}", showlegend=False,
                line=dict(width=1, color="#37474f"), fillcolor=f"rgba(25, 118, 210, {0.25 + 0.6 * row / max(1, len(epochs) - 1):.2f})",
                customdata=np.nan_to_num(share), hovertemplate=f"epoch {epoch}<br>{value_title} %{{x:.3g}}: %{{customdata:.1%}}<extra></extra>",
            ))
        figure.update_yaxes(tickvals=[row * spacing for row in range(len(epochs))], ticktext=[str(e) for e in epochs], title="epoch")
    else:
        figure.add_trace(go.Heatmap(
            x=centres, y=[str(e) for e in epochs], z=shares, colorscale="Viridis", colorbar=dict(title="share", tickformat=".0%"),
            hovertemplate=f"epoch %{{y}}<br>{value_title} %{{x:.3g}}: %{{z:.1%}}<extra></extra>",
        ))
        figure.update_yaxes(title="epoch", type="category")
    figure.update_layout(title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                         xaxis=dict(title=value_title))
    return figure


def layer_lines_figure(values: np.ndarray, epochs: list[int], names: list[str], title: str = "", y_title: str = "",
                       log: bool = False, percent: bool = False, height: int = 320) -> go.Figure:
    """One line per layer over the epochs (e.g. gradient norm, dead-unit share); NaN columns are left out."""
    values = np.asarray(values, dtype=np.float64)
    figure = go.Figure()
    for column, name in enumerate(names):
        series = values[:, column]
        if not np.isfinite(series).any():
            continue
        shown = series * 100 if percent else series
        figure.add_trace(go.Scatter(x=epochs, y=shown, mode="lines+markers", name=name,
                                    hovertemplate=f"{name}<br>epoch %{{x}}: %{{y:.3g}}{'%' if percent else ''}<extra></extra>"))
    figure.update_layout(
        title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        xaxis=dict(title="epoch (0 = before training)", dtick=max(1, len(epochs) // 10)),
        yaxis=dict(title=y_title, type="log" if log else "linear", rangemode="tozero" if not log else None),
    )
    return figure


def lesson_figure(series: dict[str, np.ndarray], layer_titles: list[str], title: str = "", y_title: str = "",
                  log: bool = False, percent: bool = False, height: int = 320) -> go.Figure:
    """Two (or more) models compared layer by layer (input side left): one line per model."""
    figure = go.Figure()
    for index, (name, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=np.float64) * (100 if percent else 1)
        figure.add_trace(go.Scatter(x=layer_titles[: len(values)], y=values, mode="lines+markers", name=name,
                                    line=dict(color=LESSON_COLOURS[index % len(LESSON_COLOURS)], width=3),
                                    hovertemplate=f"{name}<br>%{{x}}: %{{y:.3g}}{'%' if percent else ''}<extra></extra>"))
    figure.update_layout(title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                         xaxis=dict(title="layer (input side left)", type="category"),
                         yaxis=dict(title=y_title, type="log" if log else "linear"), legend=dict(orientation="h", y=-0.25))
    return figure
