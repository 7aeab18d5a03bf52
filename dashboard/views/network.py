"""Sections that look inside a network: calibration, the network as a picture, convolution step by step,
and a toy run's network with one heatmap per neuron at any recorded epoch.

Each render_*() takes plain inputs (a RunConfig, a Run, the plane's bounds) and draws one part of a page:
the "Inside the network" page calls render_calibration / render_network_picture / render_convolution, the
Decision-boundaries page calls render_toy_network. The maths is in core/calibration.py and core/network.py,
the figures in dashboard/charts/network.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from core import calibration, network, snapshots
from core.config import RunConfig
from core.data import FullMnistUnavailable
from dashboard import resources, resources_network
from dashboard.charts import network as charts

if TYPE_CHECKING:
    from core.training import Run

BIN_CHOICES = [5, 10, 15, 20]
TOY_RESOLUTION = 24
PADDING_CHOICES = ["valid", "same", 1, 2]
CLASSIC = "classic"

Bounds = tuple[float, float, float, float]


def _run_names() -> dict[str, str]:
    """key -> readable label of every cached MNIST run (the explorer's labels)."""
    from dashboard.views.explorer import run_labels

    runs = resources.mnist_runs()
    if runs.empty:
        return {}
    return run_labels(runs, resources.run_configs(runs["key"]))


def _predictions(key: str, dataset: str):
    try:
        return resources.test_predictions(key, dataset)
    except FullMnistUnavailable as error:
        st.warning(f"This model was trained on full MNIST, which cannot be loaded here ({error}).", icon="⚠️")
    except LookupError:
        st.warning(f"The cached model {key} is corrupt or missing: calibration cannot be computed.", icon="⚠️")
    return None


# -- calibration ------------------------------------------------------------------------------


def render_calibration(config: RunConfig) -> None:
    """Reliability diagram and expected calibration error of the model on the test split, optionally beside a second model."""
    st.subheader("Calibration: when it says 90 %, is it right 90 % of the time?")
    key = config.key()
    predictions = _predictions(key, config.dataset)
    if predictions is None:
        return
    names = _run_names()
    others = [other for other in names if other != key]
    left, right = st.columns([3, 1])
    compare = left.selectbox(
        "Compare with a second model", [None, *others], key="calibration_compare",
        format_func=lambda k: "no second model" if k is None else names.get(k, k),
        help="Draw another cached MNIST model on the same chart. Try: a model trained with label smoothing or "
             "dropout next to one without; smoothing usually makes a model less sure of itself.",
    )
    bins = right.select_slider(
        "Confidence bins", BIN_CHOICES, value=calibration.DEFAULT_BINS, key="calibration_bins",
        help="How many equal slices of 0-100 % confidence the answers are sorted into. More bins show finer detail "
             "but each holds fewer answers, so the dots get noisier. Try: 10, then 20.",
    )
    results = {"this model": calibration.from_probabilities(predictions.probabilities, predictions.labels, bins)}
    if compare is not None:
        compare_config = resources.run_configs([compare]).get(compare)
        second = _predictions(compare, compare_config.dataset) if compare_config is not None else None
        if second is not None:
            results["second model"] = calibration.from_probabilities(second.probabilities, second.labels, bins)
    columns = st.columns(len(results) * 2)
    for index, (name, result) in enumerate(results.items()):
        columns[2 * index].metric(f"ECE ({name})", f"{result.ece:.1%}",
                                  help="Expected calibration error: the average gap between how sure the model said it was and "
                                       "how often it was right, weighted by how many answers fall in each bin. 0 % is perfect.")
        columns[2 * index + 1].metric(f"Sure on average / right ({name})", f"{result.mean_confidence:.1%} / {result.overall_accuracy:.1%}")
    for name, result in results.items():
        st.markdown(calibration.gap_sentence(result, name if name == "this model" else f"the {name}"))
    st.plotly_chart(charts.reliability_figure(results), width="stretch", config={"displayModeBar": False}, key="calibration_chart")
    st.caption(
        "Each dot is one confidence bin: across, how sure the model said it was on average; up, how often it was right. "
        "Dots under the dashed line: overconfident; above it: underconfident. The bars count the answers in each bin "
        "(log scale): a bin with few answers has a noisy dot."
    )


# -- the network as a picture -------------------------------------------------------------------


def _mnist_graph_labels(graph: network.Graph) -> list[list[str]]:
    labels = []
    for column, layer in enumerate(graph.layers):
        if column == 0:
            labels.append([f"pixel (row {i // 28}, column {i % 28})" for i in layer.shown])
        elif column == len(graph.layers) - 1:
            labels.append([f"digit {i}" for i in layer.shown])
        else:
            labels.append([f"{layer.name} unit {i + 1}" for i in layer.shown])
    return labels


def _recorded_picture(config: RunConfig) -> tuple[list | None, list | None, str]:
    """(weights, drawn units, title) at the epoch its slider picks, from the run's recording; (None, None, title)
    when the run recorded no picture (trained before it was recorded) or it is damaged: the final model is drawn."""
    run = resources.cached_run(config.key())
    epochs = snapshots.graph_epochs(run.arrays) if run is not None else []
    if not epochs:
        st.caption("This run was trained before its network picture was recorded epoch by epoch: this is the final model. "
                   "Train it again (delete it on the Runs page) to replay it.")
        return None, None, "final model"
    epoch = st.select_slider(
        "Network after epoch", epochs, value=epochs[-1], key=f"mnist_network_epoch_{config.key()}",
        format_func=lambda e: "before training" if e == 0 else f"epoch {e}",
        help="The weights between the drawn units, recorded during training. Drag it back to epoch 0 (random weights) "
             "and forward again: watch which edges grow strong and which signs flip.",
    )
    try:
        weights, shown = snapshots.graph_at(run.arrays, epochs.index(epoch))
    except snapshots.SnapshotError:
        st.warning("This run's recorded network picture is damaged: showing the final model only.", icon="⚠️")
        return None, None, "final model"
    return weights, shown, f"after epoch {epoch}" if epoch else "before training (random weights)"


def render_network_picture(config: RunConfig) -> None:
    """An MNIST MLP as units and weighted edges at any recorded epoch; a CNN as blocks with their shapes and parameters."""
    st.subheader("The network as a picture")
    if config.arch == "cnn":
        stages = network.blocks(config)
        biggest = max(stages, key=lambda block: block.params)
        total = network.parameter_count(config)
        st.caption(
            "Each block is one stage of the CNN, left to right: its height follows the image size, its thickness the "
            "number of channels. Convolutions keep the image size here (padding 'same'); each max-pool halves it. "
            f"The biggest block is {biggest.name}: {biggest.params:,} of the {total:,} parameters ({biggest.params / total:.0%}), "
            "while each convolution filter shares its few weights across the whole image."
        )
        st.plotly_chart(charts.blocks_figure(stages), width="stretch", config={"displayModeBar": False},
                        key="network_blocks")
        return
    weights, shown, title = _recorded_picture(config)
    if weights is None:
        try:
            weights = resources_network.dense_weights(config.key())
        except LookupError:
            st.warning("This model could not be loaded, so its weights cannot be drawn.", icon="⚠️")
            return
    names = ["pixels"] + [f"hidden {i}" for i in range(1, len(weights))] + ["output"]
    graph = network.network_graph(weights, names, shown=shown)
    notes = ["28×28"] + [f"{block.params:,} params" for block in network.blocks(config) if block.kind in ("dense", "output")]
    if len(notes) != len(graph.layers):
        notes = None
    st.caption(
        f"{network.parameter_count(config):,} parameters. Each column is a layer; at most "
        f"{network.MAX_UNITS_SHOWN} units are drawn (those with the strongest weights in the final model), the rest are "
        "counted as \"+N more\". Blue edges are positive weights, orange negative; thicker means stronger (relative to the "
        "strongest drawn weight at that epoch). A unit's colour is its bias. The input column shows the pixels the first "
        "layer listens to most: mostly in the middle, where digits differ."
    )
    if not config.layers:
        st.info("This is logistic regression: no hidden layer, every pixel talks straight to the ten outputs.")
    figure = charts.network_figure(graph, _mnist_graph_labels(graph), column_notes=notes, title=title)
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False}, key="network_picture")


# -- a toy run: one heatmap per neuron at any recorded epoch ----------------------------------


def _toy_columns(config: RunConfig, weights: list) -> list[str]:
    return ["inputs"] + [f"hidden {i}" for i in range(1, len(weights))] + ["output"]


def _toy_labels(graph: network.Graph) -> list[list[str]]:
    labels = []
    for column, layer in enumerate(graph.layers):
        if column == 0:
            labels.append([f"input x{'₁₂'[i]} (normalised)" for i in layer.shown])
        elif column == len(graph.layers) - 1:
            labels.append([f"output · P(class {i})" for i in layer.shown])
        else:
            labels.append([f"{layer.name} · unit {i + 1}" for i in layer.shown])
    return labels


def render_toy_network(run: Run, config: RunConfig, bounds: Bounds, epoch: int | None = None) -> None:
    """A toy run's network, TensorFlow Playground style: every node is a small heatmap of what it computes over the
    plane, every edge a weight; both at the chosen recorded epoch (its own slider unless `epoch` is given)."""
    final = network.dense_stack(run.model)
    normalisation = network.input_normalisation(run.model)
    mean, variance = normalisation if normalisation is not None else (None, None)
    recorded = snapshots.weight_epochs(run.arrays)
    if recorded and snapshots.dense_weights_at(run.arrays, recorded[-1]) is None:
        st.warning("This run's weight snapshots are damaged: showing the final model only.", icon="⚠️")
        recorded = []
    if recorded:
        if epoch is None:
            epoch = st.select_slider(
                "Network after epoch", recorded, value=recorded[-1], key=f"toy_network_epoch_{run.key}",
                help="The weights recorded during training (0 = before training, random). Drag it back to see which "
                     "neuron learned which line first. Try: epoch 0, then the last one.",
            )
        weights = snapshots.dense_weights_at(run.arrays, epoch)
        shown_epoch = max([e for e in recorded if e <= epoch] or [recorded[0]])
        title = f"after epoch {shown_epoch}" if shown_epoch else "before training (random weights)"
    else:
        weights = final
        title = "final model"
        st.caption("This run was trained before weight snapshots were recorded: this is the final model's picture. "
                   "Train it again (delete it on the Runs page) to replay its network epoch by epoch.")
    graph = network.network_graph(weights, _toy_columns(config, weights),
                                  shown=[network.shown_units(i) for i in network.unit_importance([k for k, _ in final])])
    activations = list(config.activation_per_layer()) if config.layers else []
    if config.batch_norm:
        st.caption("With batch norm the node heatmaps ignore the normalisation between layers (only the edges are exact).")
    grids = network.layer_grids(weights, activations, bounds, TOY_RESOLUTION, mean, variance)
    grids = [grid[..., layer.shown] for grid, layer in zip(grids, graph.layers, strict=True)]
    st.caption(
        "Each node is a small map of the plane: blue where the neuron's output is positive, orange negative, white zero "
        "(the output nodes: the probability of their class). Each first-layer neuron draws one straight line; later "
        "layers combine them. Edges: blue positive, orange negative weight, thicker = stronger (relative to the "
        "strongest weight at this epoch)."
    )
    figure = charts.network_figure(graph, _toy_labels(graph), grids=grids, bounds=bounds, title=title, row_height=100)
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False}, key=f"toy_network_{run.key}")


# -- convolution step by step ------------------------------------------------------------------


def _cnn_names() -> list[str]:
    runs = resources.mnist_runs()
    if runs.empty:
        return []
    configs = resources.run_configs(runs["key"])
    names = _run_names()
    return [names[key] for key, config in configs.items() if config.arch == "cnn" and key in names]


def _formula(size: int, kernel: int, stride: int, padding: str | int, before: int, after: int) -> str:
    if padding == "same":
        return (f"padding 'same' pads {before} + {after} zeros so that OH = ⌈H / S⌉ = ⌈{size} / {stride}⌉ = "
                f"{network.conv_output_size(size, kernel, stride, padding)}; in the formula: OH = ⌊(H + P_total − FH) / S⌋ + 1 = "
                f"⌊({size} + {before + after} − {kernel}) / {stride}⌋ + 1 = {network.conv_output_size(size, kernel, stride, padding)}")
    p = 0 if padding == "valid" else int(padding)
    return (f"OH = ⌊(H + 2P − FH) / S⌋ + 1 = ⌊({size} + 2·{p} − {kernel}) / {stride}⌋ + 1 = "
            f"{network.conv_output_size(size, kernel, stride, padding)}")


def render_convolution(config: RunConfig) -> None:
    """One filter sliding over one test digit, step by step; the output size for padding / stride / pool choices."""
    st.subheader("Convolution, step by step")
    learned = None
    if config.arch == "cnn":
        try:
            learned = resources_network.first_conv(config.key())
        except LookupError:
            st.warning("This model could not be loaded: only the classic filters are available.", icon="⚠️")
    else:
        cnns = _cnn_names()
        pointer = (f" Pick a CNN in the model picker to slide its own learned filters, e.g. {cnns[0]}." if cnns
                   else " Train a CNN (Train page, architecture CNN) to slide its own learned filters.")
        st.info("This model is an MLP: it has no convolution layer, it looks at all 784 pixels at once." + pointer
                + " Below, the classic hand-made filters show what a convolution does.")
    try:
        images = resources.mnist(config.dataset).x_test
    except FullMnistUnavailable as error:
        st.warning(f"The test digits cannot be loaded ({error}).", icon="⚠️")
        return
    left, middle, right = st.columns(3)
    index = left.number_input(
        "Test digit number", 0, len(images) - 1, value=0, step=1, key="conv_digit",
        help="Which test digit the filter slides over. Try: a few numbers and watch the feature map change.",
    )
    choices = ([f"learned filter {i + 1}" for i in range(learned[0].shape[-1])] if learned is not None else []) + list(network.CLASSIC_KERNELS)
    choice = middle.selectbox(
        "Filter", choices, key="conv_filter",
        help="A filter the network learned in its first convolution layer, or a classic hand-made one. Try: a vertical "
             "edge filter on a 1, then on a 0.",
    )
    if choice in network.CLASSIC_KERNELS:
        kernel, bias = network.CLASSIC_KERNELS[choice], 0.0
    else:
        number = choices.index(choice)
        kernel, bias = learned[0][:, :, 0, number].astype(np.float64), float(learned[1][number])
    padding = right.segmented_control(
        "Padding", PADDING_CHOICES, default="same" if learned is not None else "valid", key="conv_padding",
        format_func=lambda p: p if isinstance(p, str) else f"{p} zero{'s' if p > 1 else ''}",
        help="valid: the filter stays inside the image (the map shrinks); same: zeros around the edge keep the size "
             "(what this project's CNNs use); a number: that many rows of zeros on every side. Try: valid vs same.",
    ) or "valid"
    stride = left.segmented_control(
        "Stride", [1, 2], default=1, key="conv_stride",
        help="How many pixels the filter jumps between steps. Try: 2, and see the feature map halve.",
    ) or 1
    pool_mode = middle.segmented_control(
        "Pooling", ["max", "average"], default="max", key="conv_pool",
        help="After the convolution, each window x window tile of the feature map becomes one number: its largest "
             "value (max) or its mean (average). Try: average, and see the map blur.",
    ) or "max"
    window = right.segmented_control(
        "Pool window", [2, 3], default=2, key="conv_window",
        help="The side of the pooling tile (and its stride). Try: 3, and see the map shrink to a third.",
    ) or 2
    image = np.asarray(images[int(index)], dtype=np.float64) / 255.0  # the models scale pixels to 0-1 first
    size = kernel.shape[0]
    before, after = network.padding_amounts(image.shape[0], size, stride, padding)
    feature_map = network.convolve(image, kernel, stride, padding, bias)
    rows, columns = feature_map.shape
    if feature_map.size == 0:
        st.warning("The filter is larger than the image with this padding: there is no output.")
        return
    step = st.slider(
        "Step: which output pixel the filter computes", 1, rows * columns, value=min(rows * columns, (rows // 2) * columns + columns // 2 + 1),
        key=f"conv_step_{rows}x{columns}",
        help="The filter slides left to right, top to bottom; each step computes one output pixel, and the feature "
             "map fills in up to it. Try: drag slowly across the middle row.",
    )
    filled = step - 1
    out_row, out_column = divmod(filled, columns)
    window_box = network.receptive_field(out_row, out_column, size, stride)
    padded = network.pad(image, before, after)
    figure = charts.convolution_figure(padded, before, kernel, window_box, feature_map, filled, bias)
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False}, key="conv_figure")
    top, left_edge, bottom, right_edge = window_box
    products = padded[top:bottom, left_edge:right_edge] * kernel
    st.markdown(
        f"Output pixel (row {out_row}, column {out_column}) = sum of the {size}×{size} products"
        + (f" + bias {bias:+.3f}" if bias else "") + f" = **{products.sum() + bias:+.3f}**"
        + (" (before the activation)" if learned is not None and choice not in network.CLASSIC_KERNELS else "")
    )
    pooled = network.pool(feature_map, window, pool_mode)
    keras_conv, keras_pooled = resources_network.keras_output_sizes(image.shape[0], size, stride, padding, pool_mode, window)
    agrees = keras_conv == rows and keras_pooled == pooled.shape[0]
    st.markdown(
        f"**Output size:** {_formula(image.shape[0], size, stride, padding, before, after)}, so the feature map is "
        f"{rows}×{columns}; {pool_mode} pooling {window}×{window} gives ⌊({rows} − {window}) / {window}⌋ + 1 = "
        f"{pooled.shape[0]}, a {pooled.shape[0]}×{pooled.shape[1]} map. "
        f"Keras computes {keras_conv}×{keras_conv} and {keras_pooled}×{keras_pooled} for the same layers "
        + ("— the same :green[:material/check_circle:]" if agrees else "— a different size! :red[:material/error:]")
    )
    if pooled.size:
        st.plotly_chart(charts.pooled_figure(pooled, pool_mode, window), width="content", config={"displayModeBar": False},
                        key="conv_pooled")
