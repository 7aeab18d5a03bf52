"""Charts of the network's inside: reliability diagram, the network as a picture, CNN blocks, one convolution step.

Pure functions: numpy arrays / core dataclasses in, Plotly figures out (no Streamlit, no maths
beyond scaling for display; the maths lives in core/calibration.py and core/network.py).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.calibration import Reliability
from core.network import Block, Graph
from dashboard.charts.boundary import CLASS_COLOURS

POSITIVE = "#2166ac"  # blue: a positive weight (as on the neuron heatmaps)
NEGATIVE = "#e66101"  # orange: a negative weight (TensorFlow Playground's pair)
NEURON_SCALE = [[0.0, NEGATIVE], [0.5, "#f7f7f7"], [1.0, POSITIVE]]
MODEL_COLOURS = ("#1f77b4", "#d62728", "#2ca02c")
COLUMN_SPACING = 3.0
NODE_HALF = 0.38  # half the side of a node's heatmap (rows are 1 apart)
WIDTH_CLASSES = 5


# -- calibration ------------------------------------------------------------------------------


def reliability_figure(results: dict[str, Reliability], height: int = 520) -> go.Figure:
    """Reliability diagram: accuracy against confidence per bin for each model (diagonal = perfectly calibrated),
    with the number of answers in each bin below (log scale: most answers of a good model are 90-100 % sure)."""
    if not results:
        raise ValueError("no model to draw")
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06)
    figure.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line=dict(color="#999999", dash="dash"),
                   hoverinfo="skip"),
        row=1, col=1,
    )
    for index, (name, result) in enumerate(results.items()):
        colour = MODEL_COLOURS[index % len(MODEL_COLOURS)]
        centres = (result.edges[:-1] + result.edges[1:]) / 2
        filled = result.counts > 0
        label = f"{name} · ECE {result.ece:.1%}"
        text = [
            f"{low:.0%}–{high:.0%} sure: {count:,} answers<br>said {said:.1%} on average, right {right:.1%}"
            for low, high, count, said, right in zip(result.edges[:-1][filled], result.edges[1:][filled], result.counts[filled],
                                                     result.confidence[filled], result.accuracy[filled], strict=True)
        ]
        figure.add_trace(
            go.Scatter(
                x=result.confidence[filled], y=result.accuracy[filled], mode="lines+markers", name=label, legendgroup=name,
                line=dict(color=colour, width=2), text=text,
                # A dot's area follows its bin's count: a bin of 3 answers is a speck, not a verdict.
                marker=dict(size=5 + 13 * np.sqrt(result.counts[filled] / max(1, result.counts.max()))), hovertemplate="%{text}<extra></extra>",
            ),
            row=1, col=1,
        )
        figure.add_trace(
            go.Bar(x=centres, y=result.counts, width=(1 / len(result.counts)) / (len(results) + 0.5), name=f"{name} · answers per bin",
                   marker_color=colour, opacity=0.75, legendgroup=name, showlegend=False, offsetgroup=str(index),
                   hovertemplate="%{y:,} answers in this bin<extra></extra>"),
            row=2, col=1,
        )
    figure.update_xaxes(range=[0, 1.02], tickformat=".0%", dtick=0.1, row=1, col=1)
    figure.update_xaxes(range=[0, 1.02], tickformat=".0%", dtick=0.1, title_text="confidence (top-class probability)", row=2, col=1)
    figure.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text="accuracy", row=1, col=1)
    figure.update_yaxes(type="log", dtick=1, title_text="answers", row=2, col=1)
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), barmode="group",
                         legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0))
    return figure


# -- the network as a picture -------------------------------------------------------------------


def _column_x(column: int) -> float:
    return column * COLUMN_SPACING


def _edge_traces(graph: Graph, half: float) -> list[go.Scatter]:
    """Edges grouped by sign and thickness class (one trace each, segments separated by None): few traces, fast to draw."""
    weights = graph.weight.astype(np.float64)
    largest = float(np.abs(weights).max()) if len(weights) else 0.0
    largest = largest or 1.0
    classes = np.minimum((np.abs(weights) / largest * WIDTH_CLASSES).astype(int), WIDTH_CLASSES - 1)
    traces = []
    for sign, colour, name in ((1, POSITIVE, "positive weight"), (-1, NEGATIVE, "negative weight")):
        for width_class in range(WIDTH_CLASSES):
            mask = (np.sign(weights) == sign) & (classes == width_class)
            if sign == 1:
                mask |= (weights == 0) & (classes == width_class)
            if not mask.any():
                continue
            xs, ys = [], []
            for column, source, target in zip(graph.column[mask], graph.source[mask], graph.target[mask], strict=True):
                x0, x1 = _column_x(column) + half, _column_x(column + 1) - half
                xs += [x0, x1, None]
                ys += [graph.layers[column].y[source], graph.layers[column + 1].y[target], None]
            traces.append(
                go.Scatter(
                    x=xs, y=ys, mode="lines", line=dict(color=colour, width=0.6 + 1.3 * width_class),
                    opacity=0.35 + 0.13 * width_class, hoverinfo="skip", name=name, legendgroup=name,
                    showlegend=width_class == WIDTH_CLASSES - 1 or not np.any((np.sign(weights) == sign) & (classes > width_class)),
                )
            )
    # Hover on edges: a near-invisible marker at each edge's middle.
    middles_x = [(_column_x(c) + _column_x(c + 1)) / 2 for c in graph.column]
    middles_y = [(graph.layers[c].y[s] + graph.layers[c + 1].y[t]) / 2 for c, s, t in zip(graph.column, graph.source, graph.target, strict=True)]
    text = [
        f"{graph.layers[c].name} #{graph.layers[c].shown[s] + 1} → {graph.layers[c + 1].name} #{graph.layers[c + 1].shown[t] + 1}: "
        f"weight {w:+.3f}"
        for c, s, t, w in zip(graph.column, graph.source, graph.target, weights, strict=True)
    ]
    traces.append(go.Scatter(x=middles_x, y=middles_y, mode="markers", marker=dict(size=6, opacity=0.01, color="#000000"), text=text,
                             hovertemplate="%{text}<extra></extra>", showlegend=False, name="edge weights"))
    return traces


def _probability_scale(output: int) -> list:
    """White (probability 0) to the class's own colour on the boundary page (probability 1)."""
    return [[0.0, "#ffffff"], [1.0, CLASS_COLOURS[output % len(CLASS_COLOURS)]]]


def network_figure(
    graph: Graph,
    unit_labels: list[list[str]] | None = None,
    grids: list[np.ndarray] | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    column_notes: list[str] | None = None,
    title: str = "",
    row_height: int = 46,
) -> go.Figure:
    """Inputs, hidden units and outputs as nodes in columns, edges coloured by sign (blue +, orange -) and as thick as |weight|.

    With `grids` (one (R, R, shown units) array per column, toy runs) each node is a small heatmap of what
    that unit computes over the plane; otherwise a dot coloured by its bias. Units left out are
    summarised as "+N more" under their column; `column_notes` go under the column names.
    """
    half = NODE_HALF
    # Traces, frames and labels are collected and added at once: figure.add_shape / add_annotation validate the whole
    # layout on every call, which made a 20-node toy picture take ~0.5 s.
    traces: list = _edge_traces(graph, half)
    shapes: list[dict] = []
    annotations: list[dict] = []
    top = max(float(layer.y.max()) for layer in graph.layers if len(layer.y)) + 1.0
    bottom = min(float(layer.y.min()) for layer in graph.layers if len(layer.y)) - 1.0
    for column, layer in enumerate(graph.layers):
        x = _column_x(column)
        labels = unit_labels[column] if unit_labels else [f"{layer.name} #{i + 1}" for i in layer.shown]
        if grids is not None:
            grid = np.asarray(grids[column], dtype=np.float32)
            is_output = column == len(graph.layers) - 1
            limit = float(np.abs(grid).max()) or 1.0
            resolution = grid.shape[0]
            offsets = np.linspace(-half, half, resolution)
            for position, (y, label) in enumerate(zip(layer.y, labels, strict=True)):
                traces.append(
                    go.Heatmap(
                        x=x + offsets, y=y + offsets, z=grid[..., position], showscale=False, name=label,
                        colorscale=_probability_scale(position) if is_output else NEURON_SCALE,
                        zmin=0.0 if is_output else -limit, zmax=1.0 if is_output else limit,
                        hovertemplate=f"{label}<br>value %{{z:.2f}}<extra></extra>",
                    )
                )
                shapes.append(dict(type="rect", x0=x - half, x1=x + half, y0=y - half, y1=y + half, line=dict(color="#555555", width=1)))
        else:
            biases = graph.biases[column] if graph.biases else np.zeros(len(layer.shown))
            limit = float(np.abs(biases).max()) or 1.0
            traces.append(
                go.Scatter(
                    x=np.full(len(layer.y), x), y=layer.y, mode="markers", name=layer.name, showlegend=False, text=labels,
                    customdata=biases,
                    marker=dict(size=22, color=biases, colorscale=NEURON_SCALE, cmin=-limit, cmax=limit, line=dict(color="#333333", width=1)),
                    hovertemplate="%{text}<br>bias %{customdata:+.3f}<extra></extra>" if column else "%{text}<extra></extra>",
                )
            )
        note = f"<br><span style='font-size:11px'>{column_notes[column]}</span>" if column_notes else ""
        annotations.append(dict(x=x, y=top, text=f"<b>{layer.name}</b> ({layer.size}){note}", showarrow=False, yanchor="bottom"))
        if layer.hidden:
            annotations.append(dict(x=x, y=float(layer.y.min()) - 0.75, text=f"+{layer.hidden} more", showarrow=False,
                                    font=dict(color="#555555")))
    figure = go.Figure(data=traces, layout=dict(shapes=shapes, annotations=annotations))
    rows = max(len(layer.y) for layer in graph.layers)
    figure.update_xaxes(visible=False, range=[-1.0, _column_x(len(graph.layers) - 1) + 1.0])
    figure.update_yaxes(visible=False, range=[bottom - 0.3, top + 1.4], scaleanchor="x" if grids is not None else None)
    figure.update_layout(
        title=title or None, height=max(320, int((rows + 3) * row_height)), margin=dict(l=5, r=5, t=40 if title else 10, b=5),
        plot_bgcolor="#ffffff", legend=dict(orientation="h", yanchor="top", y=0.0, x=0), showlegend=True,
    )
    return figure


_BLOCK_COLOURS = {"input": "#cfd8dc", "conv": "#90caf9", "batch_norm": "#e1bee7", "pool": "#a5d6a7", "flatten": "#ffe082",
                  "dense": "#ffcc80", "output": "#ef9a9a"}


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


def blocks_figure(stages: list[Block], height: int = 360) -> go.Figure:
    """The network as blocks left to right: a block's height grows with its spatial size (or its width for a
    vector), its thickness with its channels; each says its output shape and parameter count."""
    if not stages:
        raise ValueError("no blocks to draw")
    figure = go.Figure()
    x = 0.0
    total = sum(block.params for block in stages)
    for index, block in enumerate(stages):
        if len(block.shape) == 3:
            tall = 0.6 + 2.4 * block.shape[0] / 28
            thick = 0.3 + 0.18 * np.log2(block.shape[2] + 1)
        else:
            tall = 0.6 + 2.4 * min(1.0, np.log10(block.shape[0] + 1) / np.log10(785))
            thick = 0.3
        colour = _BLOCK_COLOURS.get(block.kind, "#eeeeee")
        figure.add_shape(type="rect", x0=x, x1=x + thick, y0=-tall / 2, y1=tall / 2, fillcolor=colour, line=dict(color="#455a64", width=1))
        centre = x + thick / 2
        params = f"{block.params:,} params" if block.params else "no params"
        figure.add_trace(go.Scatter(
            x=[centre], y=[0], mode="markers", marker=dict(size=30, opacity=0.01), showlegend=False, name=block.name,
            hovertemplate=f"<b>{block.name}</b> ({block.detail})<br>output {_shape_text(block.shape)}<br>{params}<extra></extra>",
        ))
        figure.add_annotation(x=centre, y=tall / 2, text=f"<b>{block.name}</b><br>{block.detail}", showarrow=False, yanchor="bottom",
                              font=dict(size=10))
        figure.add_annotation(x=centre, y=-tall / 2, text=f"{_shape_text(block.shape)}<br>{params}", showarrow=False, yanchor="top",
                              font=dict(size=10))
        x += thick
        if index < len(stages) - 1:
            figure.add_annotation(x=x + 0.55, y=0, ax=x + 0.1, ay=0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                                  arrowhead=2, arrowsize=1, arrowwidth=1.5, arrowcolor="#607d8b", text="")
            x += 0.7
    figure.update_xaxes(visible=False, range=[-0.5, x + 0.5])
    figure.update_yaxes(visible=False, range=[-2.6, 2.6])
    figure.update_layout(height=height, margin=dict(l=5, r=5, t=30, b=5), plot_bgcolor="#ffffff",
                         title=dict(text=f"{total:,} parameters in all", font=dict(size=13)))
    return figure


# -- convolution step by step -------------------------------------------------------------------


def _grid_heatmap(values: np.ndarray, colorscale, zmin: float, zmax: float, name: str, text: np.ndarray | None = None) -> go.Heatmap:
    values = np.asarray(values, dtype=np.float64)
    return go.Heatmap(
        z=values, colorscale=colorscale, zmin=zmin, zmax=zmax, showscale=False, name=name, xgap=1 if values.shape[1] <= 9 else 0,
        ygap=1 if values.shape[0] <= 9 else 0, text=text, texttemplate="%{text}" if text is not None else None,
        hovertemplate=f"{name}<br>row %{{y}}, column %{{x}}: %{{z:.2f}}<extra></extra>",
    )


def convolution_figure(
    padded: np.ndarray,
    pad_before: int,
    kernel: np.ndarray,
    window: tuple[int, int, int, int],
    feature_map: np.ndarray,
    filled: int,
    bias: float = 0.0,
    height: int = 360,
) -> go.Figure:
    """One step of a convolution: the (padded) input with the filter's window, the filter, the products, and the
    feature map filled in up to output pixel `filled` (row-major, 0-based), which is outlined."""
    top, left, bottom, right = window
    patch = padded[top:bottom, left:right]
    products = patch * kernel
    total = float(products.sum()) + bias
    rows, columns = feature_map.shape
    shown = np.full(feature_map.size, np.nan)
    shown[: filled + 1] = feature_map.ravel()[: filled + 1]
    shown = shown.reshape(rows, columns)
    limit_map = float(np.nanmax(np.abs(feature_map))) or 1.0
    limit_kernel = float(np.abs(kernel).max()) or 1.0
    limit_products = float(np.abs(products).max()) or 1.0
    size = kernel.shape[0]
    annotate = size <= 5
    figure = make_subplots(
        rows=1, cols=4, horizontal_spacing=0.04,
        subplot_titles=("input + zero padding" if pad_before else "input", "filter", f"products: sum {products.sum():+.2f}" + (f" + bias {bias:+.2f}" if bias else ""),
                        f"feature map: {rows}×{columns}"),
    )
    image = np.asarray(padded, dtype=np.float64).copy()
    figure.add_trace(_grid_heatmap(image, "gray", 0, max(1.0, float(image.max())), "input"), row=1, col=1)
    if pad_before or image.shape[0] > 0:
        inner = image.shape[0] - 2 * pad_before
        if pad_before:
            figure.add_shape(type="rect", x0=pad_before - 0.5, x1=pad_before + inner - 0.5, y0=pad_before - 0.5, y1=pad_before + inner - 0.5,
                             line=dict(color="#9e9e9e", width=1, dash="dot"), row=1, col=1)
    figure.add_shape(type="rect", x0=left - 0.5, x1=right - 0.5, y0=top - 0.5, y1=bottom - 0.5, line=dict(color="#ffeb3b", width=3),
                     row=1, col=1)
    def two_decimals(value: float) -> str:
        return f"{round(float(value), 2) + 0.0:.2f}"  # + 0.0 turns -0.00 into 0.00

    kernel_text = np.vectorize(two_decimals)(kernel) if annotate else None
    figure.add_trace(_grid_heatmap(kernel, NEURON_SCALE, -limit_kernel, limit_kernel, "filter", kernel_text), row=1, col=2)
    product_text = np.vectorize(two_decimals)(products) if annotate else None
    figure.add_trace(_grid_heatmap(products, NEURON_SCALE, -limit_products, limit_products, "products", product_text), row=1, col=3)
    figure.add_trace(_grid_heatmap(shown, NEURON_SCALE, -limit_map, limit_map, "feature map"), row=1, col=4)
    out_row, out_column = divmod(filled, columns)
    figure.add_shape(type="rect", x0=-0.5, x1=columns - 0.5, y0=-0.5, y1=rows - 0.5, line=dict(color="#bdbdbd", width=1),
                     row=1, col=4)  # the whole map's frame, so the part still to compute shows as empty
    figure.add_shape(type="rect", x0=out_column - 0.5, x1=out_column + 0.5, y0=out_row - 0.5, y1=out_row + 0.5,
                     line=dict(color="#ffeb3b", width=3), row=1, col=4)
    for column in range(1, 5):
        figure.update_yaxes(autorange="reversed", scaleanchor=f"x{column if column > 1 else ''}", showticklabels=False, showgrid=False,
                            zeroline=False, row=1, col=column)
        figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain", row=1, col=column)
    figure.update_layout(height=height, margin=dict(l=5, r=5, t=40, b=5),
                         meta={"output_pixel": [out_row, out_column], "value": total})
    return figure


def pooled_figure(pooled: np.ndarray, mode: str, window: int, height: int = 260) -> go.Figure:
    """The pooled feature map (max or average over window x window tiles)."""
    pooled = np.asarray(pooled, dtype=np.float64)
    limit = float(np.abs(pooled).max()) if pooled.size else 1.0
    figure = go.Figure(_grid_heatmap(pooled, NEURON_SCALE, -(limit or 1.0), limit or 1.0, f"{mode} pool"))
    figure.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, zeroline=False)
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    figure.update_layout(height=height, margin=dict(l=5, r=5, t=30, b=5),
                         title=dict(text=f"{mode} pool {window}×{window}: {pooled.shape[0]}×{pooled.shape[1]}", font=dict(size=13)))
    return figure
