"""Decision-boundary charts: pure functions from numpy arrays to Plotly figures (no Streamlit).

Two classes: a diverging heatmap of P(class 1) (class 0 orange, 0.5 white, class 1 blue) with
the 0.5 contour. Three classes: an RGB image whose hue is the most likely class and whose
lightness is the confidence. Training points are filled with a dark shade of their class colour
(never the background's own colour, where a filled dot would vanish and look hollow), test points
are white with a ring of that shade, misclassified points carry a black cross. An invisible grid of markers sits on top so that a click anywhere
on the plane reaches Streamlit (Plotly heatmap clicks do not).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.boundary import grid_lookup

CLASS_COLOURS = ("#f28e2b", "#1f77b4", "#2ca02c")  # class 0 orange, class 1 blue, class 2 green
# The points' colours: darker shades of the class colours, so a dot stays visible (and filled) on a
# background of its own class colour, and a test point's ring stays visible on any background.
POINT_COLOURS = ("#a8570c", "#0d3f66", "#145214")
DIVERGING = [[0.0, CLASS_COLOURS[0]], [0.5, "#ffffff"], [1.0, CLASS_COLOURS[1]]]
NEURON_SCALE = [[0.0, "#b2182b"], [0.5, "#f7f7f7"], [1.0, "#2166ac"]]  # negative red, zero white, positive blue
CLICK_GRID = 29  # clickable cells per side


def _rgb(hex_colour: str) -> np.ndarray:
    hex_colour = hex_colour.lstrip("#")
    return np.array([int(hex_colour[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


def _axis_values(bounds, shape) -> tuple[np.ndarray, np.ndarray]:
    x_min, x_max, y_min, y_max = bounds
    height, width = shape
    return np.linspace(x_min, x_max, width), np.linspace(y_min, y_max, height)


def class_image(probabilities: np.ndarray, discretize: bool = False) -> np.ndarray:
    """(H, W, C) probabilities -> (H, W, 3) uint8 RGB: the argmax class colour, lighter where unsure.

    Confidence is rescaled from chance (1/C) to certainty (1), so a 50/50 (or 1/3 each) point
    is white. With `discretize`, every pixel gets the full colour of its class.
    """
    probabilities = np.asarray(probabilities, dtype=np.float32)
    n_classes = probabilities.shape[-1]
    winner = probabilities.argmax(axis=-1)
    colours = np.stack([_rgb(c) for c in CLASS_COLOURS[:n_classes]])
    if discretize:
        strength = np.ones(winner.shape, dtype=np.float32)
    else:
        chance = 1.0 / n_classes
        strength = np.clip((probabilities.max(axis=-1) - chance) / (1.0 - chance), 0.0, 1.0)
    white = np.full(3, 255.0, dtype=np.float32)
    image = white + (colours[winner] - white) * strength[..., None]
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _boundary_traces(probabilities: np.ndarray, bounds, discretize: bool, show_scale: bool = True, hover: bool = True) -> list:
    probabilities = np.asarray(probabilities, dtype=np.float32)
    xs, ys = _axis_values(bounds, probabilities.shape[:2])
    if probabilities.shape[-1] == 2:
        positive = probabilities[..., 1]
        z = (positive >= 0.5).astype(np.float32) if discretize else positive
        traces = [
            go.Heatmap(
                x=xs, y=ys, z=z, zmin=0.0, zmax=1.0, colorscale=DIVERGING, showscale=show_scale, name="P(class 1)",
                colorbar=dict(title=dict(text="P(class 1)"), thickness=12, len=0.8, tickformat=".0%"),
                hovertemplate="x %{x:.1f}, y %{y:.1f}<br>P(class 1) %{z:.0%}<extra></extra>" if hover else None,
                hoverinfo=None if hover else "skip",
            )
        ]
        if float(positive.min()) < 0.5 < float(positive.max()):
            traces.append(
                go.Contour(
                    x=xs, y=ys, z=positive, contours=dict(start=0.5, end=0.5, size=1.0, coloring="none"),
                    line=dict(color="#222222", width=2), showscale=False, hoverinfo="skip", name="P = 0.5",
                )
            )
        return traces
    x_min, x_max, y_min, y_max = bounds
    dx = (x_max - x_min) / max(1, len(xs) - 1)
    dy = (y_max - y_min) / max(1, len(ys) - 1)
    # go.Image draws row 0 at the top: flip so that y grows upwards like the heatmap.
    return [go.Image(z=class_image(probabilities, discretize)[::-1], x0=x_min, dx=dx, y0=y_max, dy=-dy, hoverinfo="skip", name="classes")]


def _point_traces(points: np.ndarray, labels: np.ndarray, kind: str, predicted: np.ndarray | None, n_classes: int) -> list:
    traces = []
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    labels = np.asarray(labels).ravel()
    for label in range(n_classes):
        mask = labels == label
        if not mask.any():
            continue
        colour = POINT_COLOURS[label]
        filled = kind != "test"
        marker = dict(
            size=11 if kind == "yours" else 8, color=colour if filled else "#ffffff",
            symbol="star" if kind == "yours" else "circle", line=dict(color="#ffffff" if filled else colour, width=1 if filled else 2.5),
        )
        traces.append(
            go.Scatter(
                x=points[mask, 0], y=points[mask, 1], mode="markers", marker=marker, name=f"{kind} · class {label}",
                legendgroup=kind, hovertemplate=f"{kind} point, class {label}<br>x %{{x:.1f}}, y %{{y:.1f}}<extra></extra>",
            )
        )
    if predicted is not None and len(labels):
        wrong = np.asarray(predicted).ravel() != labels
        if wrong.any():
            traces.append(
                go.Scatter(
                    x=points[wrong, 0], y=points[wrong, 1], mode="markers", name=f"{kind} · misclassified",
                    marker=dict(symbol="x-thin", size=12, line=dict(color="#000000", width=2)), legendgroup=kind,
                    hovertemplate="misclassified<br>x %{x:.1f}, y %{y:.1f}<extra></extra>",
                )
            )
    return traces


def click_layer(bounds, cells: int = CLICK_GRID, probabilities: np.ndarray | None = None) -> go.Scatter:
    """Near-invisible markers covering the plane; their customdata are the coordinates of a click.

    They also carry the hover text (the model's probabilities there), since the heatmap under
    them must not take hover: Plotly would report the heatmap cell, and Streamlit gets no point.
    The probabilities at the markers are read from the grid by core.boundary.grid_lookup.
    """
    x_min, x_max, y_min, y_max = bounds
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, cells), np.linspace(y_min, y_max, cells))
    coordinates = np.stack([xx.ravel(), yy.ravel()], axis=1)
    if probabilities is not None:
        probabilities = np.asarray(probabilities, dtype=np.float32)
        at = grid_lookup(probabilities, bounds, coordinates)
        text = [" · ".join(f"P(class {c}) {p:.0%}" for c, p in enumerate(row)) for row in at]
    else:
        text = [""] * len(coordinates)
    # Smaller than the spacing: overlapping translucent squares would show as a faint grid.
    size = max(4, int(300 / cells))
    return go.Scatter(
        x=coordinates[:, 0], y=coordinates[:, 1], customdata=coordinates, mode="markers", name="click to add a point",
        marker=dict(size=size, symbol="square", color="#000000", opacity=0.01), showlegend=False, text=text,
        # A hover template (never hoverinfo "skip"): Plotly fires click/select events only for hoverable traces.
        hovertemplate="x %{x:.1f}, y %{y:.1f}<br>%{text}<br><i>click to add a point here</i><extra></extra>",
    )


def boundary_figure(
    probabilities: np.ndarray | None,
    bounds: tuple[float, float, float, float],
    train_points: np.ndarray,
    train_labels: np.ndarray,
    test_points: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    *,
    user_points: np.ndarray | None = None,
    user_labels: np.ndarray | None = None,
    train_predicted: np.ndarray | None = None,
    test_predicted: np.ndarray | None = None,
    user_predicted: np.ndarray | None = None,
    n_classes: int = 2,
    discretize: bool = False,
    clickable: bool = False,
    title: str = "",
    height: int = 560,
) -> go.Figure:
    """The main plot: boundary (if any) + train (filled) / test (outlined) / user (stars) points.

    `probabilities` is (H, W, n_classes) over `bounds` (rows = y) or None (data only, before training).
    `*_predicted` are predicted classes at the points; where they differ from the label, a cross.
    """
    figure = go.Figure()
    if probabilities is not None:
        n_classes = int(np.asarray(probabilities).shape[-1])
        for trace in _boundary_traces(probabilities, bounds, discretize, hover=not clickable):
            figure.add_trace(trace)
    for trace in _point_traces(train_points, train_labels, "train", train_predicted, n_classes):
        figure.add_trace(trace)
    if test_points is not None and test_labels is not None:
        for trace in _point_traces(test_points, test_labels, "test", test_predicted, n_classes):
            figure.add_trace(trace)
    if user_points is not None and user_labels is not None and len(user_labels):
        for trace in _point_traces(user_points, user_labels, "yours", user_predicted, n_classes):
            figure.add_trace(trace)
    if clickable:
        figure.add_trace(click_layer(bounds, probabilities=probabilities))
    x_min, x_max, y_min, y_max = bounds
    # A clickable plane is fixed (no zoom/pan) and gets no box-select drag mode: in "select" mode
    # Streamlit turns clickmode into "event" and Plotly follows each click with an empty selection,
    # which wipes the clicked point before Streamlit sends it (seen in Chromium).
    figure.update_layout(
        title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        xaxis=dict(range=[x_min, x_max], title="x₁", constrain="domain", showgrid=False, zeroline=False, fixedrange=clickable),
        yaxis=dict(range=[y_min, y_max], title="x₂", scaleanchor="x", scaleratio=1, showgrid=False, zeroline=False,
                   fixedrange=clickable),
        legend=dict(orientation="h", yanchor="top", y=-0.08, x=0), plot_bgcolor="#ffffff",
        clickmode="event+select", dragmode=False if clickable else "zoom", uirevision="boundary",
    )
    return figure


def neuron_figure(layer_grids: list[np.ndarray], bounds, activations: list[str] | None = None, cell: int = 120) -> go.Figure:
    """Small heatmaps of every hidden neuron, one row per layer; colour = activation (0 white)."""
    if not layer_grids:
        raise ValueError("this model has no hidden layer: logistic regression draws one straight boundary")
    rows, columns = len(layer_grids), max(grid.shape[-1] for grid in layer_grids)
    titles = []
    for layer_index, grid in enumerate(layer_grids, start=1):
        for unit in range(columns):
            titles.append(f"layer {layer_index} · unit {unit + 1}" if unit < grid.shape[-1] else "")
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.08 / max(1, rows - 1) if rows > 1 else 0.0)
    xs, ys = _axis_values(bounds, layer_grids[0].shape[:2])
    for row, grid in enumerate(layer_grids, start=1):
        limit = float(np.abs(grid).max()) or 1.0
        activation = (activations or [""] * rows)[row - 1]
        for unit in range(grid.shape[-1]):
            figure.add_trace(
                go.Heatmap(
                    x=xs, y=ys, z=grid[..., unit], zmin=-limit, zmax=limit, colorscale=NEURON_SCALE, showscale=False,
                    hovertemplate=f"layer {row} unit {unit + 1} ({activation})<br>x %{{x:.1f}}, y %{{y:.1f}}: %{{z:.2f}}<extra></extra>",
                ),
                row=row, col=unit + 1,
            )
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    figure.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    figure.update_annotations(font_size=11)
    figure.update_layout(height=rows * (cell + 30) + 20, width=None, margin=dict(l=5, r=5, t=30, b=5), showlegend=False)
    return figure


def small_multiples_figure(
    cells: list[list[np.ndarray | None]],
    bounds,
    row_labels: list[str],
    column_labels: list[str],
    scores: list[list[float | None]] | None = None,
    discretize: bool = False,
    cell: int = 170,
) -> go.Figure:
    """A grid of boundaries (rows = layers, columns = units); a missing cell stays blank and says so."""
    rows, columns = len(cells), max(len(row) for row in cells)
    titles = []
    for r in range(rows):
        for c in range(columns):
            score = scores[r][c] if scores else None
            label = f"{row_labels[r]} · {column_labels[c]}"
            titles.append(f"{label}<br>test {score:.0%}" if score is not None else f"{label}<br>not trained")
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.03, vertical_spacing=0.12 / max(1, rows - 1) if rows > 1 else 0.0)
    for r, row in enumerate(cells, start=1):
        for c, probabilities in enumerate(row, start=1):
            if probabilities is None:
                continue
            for trace in _boundary_traces(probabilities, bounds, discretize, show_scale=False):
                figure.add_trace(trace, row=r, col=c)
    x_min, x_max, y_min, y_max = bounds
    figure.update_xaxes(range=[x_min, x_max], showticklabels=False, showgrid=False, zeroline=False)
    figure.update_yaxes(range=[y_min, y_max], showticklabels=False, showgrid=False, zeroline=False)
    figure.update_annotations(font_size=11)
    figure.update_layout(height=rows * (cell + 45) + 20, margin=dict(l=5, r=5, t=45, b=5), showlegend=False)
    return figure


def history_figure(history: dict[str, list[float]], upto: int | None = None, height: int = 260, epochs: int | None = None) -> go.Figure:
    """Train/test loss and accuracy per epoch; a vertical line marks `upto` (the replayed epoch).

    Axes are fixed, so they do not jump while a replay moves the line: epochs 1..`epochs` (default:
    the history's length), loss from 0 to a little above its largest value, accuracy 0-100 %.
    Built from a plain layout (two x/y axis pairs side by side), not make_subplots + add_vline: it is
    redrawn at every replay step, and those helpers cost ~4x the CPU of the whole figure.
    """
    styles = {"loss": ("train", "#555555", ""), "val_loss": ("test", "#d62728", ""), "accuracy": ("train", "#555555", "2"),
              "val_accuracy": ("test", "#d62728", "2")}
    traces = []
    for name, (label, colour, axis) in styles.items():
        values = history.get(name) or []
        if values:
            traces.append(go.Scatter(
                x=np.arange(1, len(values) + 1), y=values, mode="lines", name=label, line=dict(color=colour, width=2),
                legendgroup=label, showlegend=axis == "", xaxis=f"x{axis}", yaxis=f"y{axis}",
                hovertemplate=f"{label} {name.replace('val_', '')} %{{y:.3f}} (epoch %{{x}})<extra></extra>",
            ))
    last = max(1, epochs or max((len(history.get(n) or []) for n in styles), default=1))
    losses = [v for n in ("loss", "val_loss") for v in (history.get(n) or []) if np.isfinite(v)]
    epoch_axis = dict(title=dict(text="epoch"), range=[0.5, last + 0.5] if last > 1 else [0.5, 1.5])
    gap = 0.12  # between the two panels, as a share of the width
    marks = [dict(type="line", x0=upto, x1=upto, xref=f"x{axis}", y0=0, y1=1, yref=f"y{axis} domain",
                  line=dict(color="#888888", dash="dot")) for axis in ("", "2")] if upto else []
    titles = [dict(text=text, x=x, xref="paper", xanchor="center", y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                   font=dict(size=16)) for text, x in (("loss", (1 - gap) / 4), ("accuracy", (3 + gap) / 4))]
    return go.Figure(traces, layout=dict(
        xaxis=dict(domain=[0, (1 - gap) / 2], anchor="y", **epoch_axis),
        xaxis2=dict(domain=[(1 + gap) / 2, 1], anchor="y2", **epoch_axis),
        yaxis=dict(anchor="x", range=[0, max(losses) * 1.05 if losses else 1.0]),
        yaxis2=dict(anchor="x2", range=[0, 1.02], tickformat=".0%"),
        shapes=marks, annotations=titles,
        height=height, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.3),
    ))
