"""The network as a picture, and convolution step by step: the maths behind dashboard/views/network.py.

Pure numpy (Keras is only touched by the two readers `dense_stack` and `input_normalisation`,
which take an already loaded model):

- which units of a layer to draw (at most ~16, the rest summarised as "+N"), edge lists from
  Dense kernels, node positions;
- a numpy forward pass of the Dense layers over a grid of the plane, so a toy run's per-neuron
  heatmaps can be recomputed from the weights of any recorded epoch;
- every block's output shape and parameter count from a RunConfig (MLP and CNN), as Keras builds it;
- convolution arithmetic: output sizes for padding / stride / pooling choices, padding amounts,
  a 2-D cross-correlation (what Keras' Conv2D computes) with the receptive field of each output
  pixel, and pooling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.config import RunConfig

MAX_UNITS_SHOWN = 16
IMAGE_SIZE = 28

# -- which units to draw ---------------------------------------------------------------------------


def unit_importance(kernels: list[np.ndarray]) -> list[np.ndarray]:
    """How much each unit of each layer (inputs first, outputs last) is wired in: the sum of |weights| in and out.

    `kernels[i]` has shape (units of layer i, units of layer i + 1); the result has len(kernels) + 1 arrays.
    """
    if not kernels:
        return []
    magnitudes = [np.abs(np.asarray(kernel, dtype=np.float64)) for kernel in kernels]
    importance = [magnitudes[0].sum(axis=1)]
    for previous, following in zip(magnitudes[:-1], magnitudes[1:], strict=True):
        importance.append(previous.sum(axis=0) + following.sum(axis=1))
    importance.append(magnitudes[-1].sum(axis=0))
    return importance


def shown_units(importance: np.ndarray, limit: int = MAX_UNITS_SHOWN) -> np.ndarray:
    """Indices (ascending) of the units to draw: all when they fit, else the `limit` most wired-in ones."""
    importance = np.asarray(importance, dtype=np.float64).ravel()
    if len(importance) <= limit:
        return np.arange(len(importance))
    # A stable sort: equally important units keep their order, so the choice does not flicker.
    strongest = np.argsort(-importance, kind="stable")[:limit]
    return np.sort(strongest)


@dataclass(frozen=True)
class GraphLayer:
    """One column of the picture: a name, its full width, which units are drawn, and their positions."""

    name: str
    size: int
    shown: np.ndarray
    y: np.ndarray  # vertical position of each shown unit

    @property
    def hidden(self) -> int:
        """How many units are summarised as "+N"."""
        return self.size - len(self.shown)


@dataclass(frozen=True)
class Graph:
    """Layers (columns) and edges: edge k joins unit `source[k]` of column `column[k]` to unit `target[k]` of
    the next column (indices into each column's shown units), with weight `weight[k]`."""

    layers: list[GraphLayer]
    column: np.ndarray
    source: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    biases: list[np.ndarray] = field(default_factory=list)  # bias of each shown unit, per column (inputs: zeros)


def node_positions(count: int, spread: float = 1.0) -> np.ndarray:
    """`count` positions evenly spaced and centred on 0, one unit apart (times `spread`), top to bottom."""
    return (np.arange(count, dtype=np.float64)[::-1] - (count - 1) / 2) * spread


def network_graph(
    weights: list[tuple[np.ndarray, np.ndarray]],
    names: list[str],
    limit: int = MAX_UNITS_SHOWN,
    shown: list[np.ndarray] | None = None,
) -> Graph:
    """The picture of a stack of Dense layers: columns of units (at most `limit` each) and every edge between drawn units.

    `weights` holds (kernel, bias) per Dense layer, input side first; `names` one name per column
    (len(weights) + 1). `shown` fixes which units to draw (e.g. chosen once on the final weights so
    the picture does not reshuffle between epochs); by default the most wired-in units.
    """
    if not weights:
        raise ValueError("a network without Dense layers has nothing to draw")
    kernels = [np.asarray(kernel, dtype=np.float32) for kernel, _ in weights]
    for first, second in zip(kernels[:-1], kernels[1:], strict=True):
        if first.shape[1] != second.shape[0]:
            raise ValueError(f"kernels {first.shape} and {second.shape} do not chain")
    sizes = [kernels[0].shape[0]] + [kernel.shape[1] for kernel in kernels]
    if len(names) != len(sizes):
        raise ValueError(f"{len(names)} names for {len(sizes)} columns")
    if shown is None:
        shown = [shown_units(importance, limit) for importance in unit_importance(kernels)]
    shown = [np.asarray(indices, dtype=np.int64) for indices in shown]
    layers = [GraphLayer(name, size, indices, node_positions(len(indices))) for name, size, indices in zip(names, sizes, shown, strict=True)]
    columns, sources, targets, values = [], [], [], []
    for column, kernel in enumerate(kernels):
        block = kernel[np.ix_(shown[column], shown[column + 1])]
        rows, cols = np.indices(block.shape)
        columns.append(np.full(block.size, column))
        sources.append(rows.ravel())
        targets.append(cols.ravel())
        values.append(block.ravel())
    biases = [np.zeros(len(shown[0]), dtype=np.float32)] + [
        np.asarray(bias, dtype=np.float32)[shown[index + 1]] for index, (_, bias) in enumerate(weights)
    ]
    return Graph(layers, np.concatenate(columns), np.concatenate(sources), np.concatenate(targets), np.concatenate(values), biases)


# -- a numpy forward pass (toy runs: per-neuron heatmaps at any recorded epoch) ----------------


def activate(name: str, values: np.ndarray) -> np.ndarray:
    """Keras' activation `name` (relu, tanh, sigmoid, elu, gelu, softmax, linear) applied with numpy."""
    values = np.asarray(values, dtype=np.float64)
    if name == "relu":
        return np.maximum(values, 0.0)
    if name == "tanh":
        return np.tanh(values)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-values))
    if name == "elu":
        return np.where(values > 0, values, np.expm1(np.minimum(values, 0.0)))
    if name == "gelu":
        from scipy.special import erf

        return 0.5 * values * (1.0 + erf(values / math.sqrt(2.0)))
    if name == "softmax":
        shifted = np.exp(values - values.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    if name in ("linear", None, ""):
        return values
    raise ValueError(f"unknown activation {name!r}")


def forward(
    weights: list[tuple[np.ndarray, np.ndarray]],
    activations: list[str],
    inputs: np.ndarray,
    mean: np.ndarray | None = None,
    variance: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Every layer's output for `inputs` (N, features): one (N, units) array per hidden layer, then the
    softmax probabilities. The inputs are first normalised with (mean, variance) when given, as the toy
    models' Normalization layer does. `activations` names one activation per hidden layer.
    """
    if len(activations) != len(weights) - 1:
        raise ValueError(f"{len(activations)} activations for {len(weights) - 1} hidden layers")
    values = np.asarray(inputs, dtype=np.float64)
    if mean is not None and variance is not None:
        values = (values - np.asarray(mean, dtype=np.float64)) / np.sqrt(np.maximum(np.asarray(variance, dtype=np.float64), 1e-12))
    outputs = []
    for index, (kernel, bias) in enumerate(weights):
        values = values @ np.asarray(kernel, dtype=np.float64) + np.asarray(bias, dtype=np.float64)
        values = activate(activations[index] if index < len(activations) else "softmax", values)
        outputs.append(values.astype(np.float32))
    return outputs


def plane_grid(bounds: tuple[float, float, float, float], resolution: int) -> np.ndarray:
    """(resolution * resolution, 2) points over the plane, rows = y (the same order as core.boundary.make_grid)."""
    x_min, x_max, y_min, y_max = bounds
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def layer_grids(
    weights: list[tuple[np.ndarray, np.ndarray]],
    activations: list[str],
    bounds: tuple[float, float, float, float],
    resolution: int = 24,
    mean: np.ndarray | None = None,
    variance: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Every unit's value over the plane: (resolution, resolution, units) per column of the picture,
    inputs first (the normalised x1, x2), then each hidden layer, then the output probabilities."""
    points = plane_grid(bounds, resolution)
    normalised = points
    if mean is not None and variance is not None:
        normalised = (points - np.asarray(mean)) / np.sqrt(np.maximum(np.asarray(variance, dtype=np.float64), 1e-12))
    outputs = forward(weights, activations, points, mean, variance)
    return [np.asarray(out, dtype=np.float32).reshape(resolution, resolution, -1) for out in [normalised, *outputs]]


# -- reading a loaded Keras model (no TensorFlow import here: the model is passed in) ---------------


def dense_stack(model) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of every Dense layer of a model, input side first (the same order the snapshots use)."""
    layers = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    return [(np.asarray(layer.kernel, dtype=np.float32), np.asarray(layer.bias, dtype=np.float32)) for layer in layers]


def input_normalisation(model) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, variance) of a toy model's Normalization layer, or None when it has none."""
    for layer in model.layers:
        if type(layer).__name__ == "Normalization":
            mean = np.asarray(layer.mean, dtype=np.float64).reshape(-1)
            variance = np.asarray(layer.variance, dtype=np.float64).reshape(-1)
            return mean, variance
    return None


# -- blocks of a model: shapes and parameter counts from the config ------------------------------


@dataclass(frozen=True)
class Block:
    """One stage of the network as Keras builds it: its name, kind, output shape (no batch axis) and parameters."""

    name: str
    kind: str  # "input" | "conv" | "batch_norm" | "pool" | "flatten" | "dense" | "output"
    shape: tuple[int, ...]
    params: int
    detail: str = ""


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: str | int = "valid") -> int:
    """Output width of a convolution over `size` pixels, as Keras computes it.

    padding "valid": floor((H - K) / S) + 1; "same": ceil(H / S); a whole number P: zero padding of
    P pixels on each side, then valid: floor((H + 2P - K) / S) + 1 (the textbook OH = (H + 2P - FH) / S + 1).
    Returns 0 when the kernel does not fit.
    """
    if kernel < 1 or stride < 1 or size < 1:
        raise ValueError(f"size {size}, kernel {kernel} and stride {stride} must be at least 1")
    if padding == "same":
        return math.ceil(size / stride)
    extra = 0 if padding == "valid" else int(padding)
    if extra < 0:
        raise ValueError(f"padding {padding!r}: choose 'valid', 'same' or a zero-padding width >= 0")
    span = size + 2 * extra - kernel
    return span // stride + 1 if span >= 0 else 0


def padding_amounts(size: int, kernel: int, stride: int = 1, padding: str | int = "valid") -> tuple[int, int]:
    """Zero pixels added (before, after) along one axis. "same" pads like TensorFlow: the odd pixel goes after."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = max((conv_output_size(size, kernel, stride, "same") - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2
    return int(padding), int(padding)


def pool_output_size(size: int, window: int, stride: int | None = None) -> int:
    """Output width of a pooling layer without padding (Keras' default, stride = window): floor((H - W) / S) + 1."""
    stride = stride or window
    return (size - window) // stride + 1 if size >= window else 0


def pad(image: np.ndarray, before: int, after: int) -> np.ndarray:
    """A 2-D image with `before` zero rows/columns on the top/left and `after` on the bottom/right."""
    return np.pad(np.asarray(image, dtype=np.float64), ((before, after), (before, after)))


def receptive_field(row: int, column: int, kernel: int, stride: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), bottom/right exclusive, of the padded-input window that output pixel (row, column) sees."""
    top, left = row * stride, column * stride
    return top, left, top + kernel, left + kernel


def convolve(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str | int = "valid", bias: float = 0.0) -> np.ndarray:
    """What one filter of Keras' Conv2D computes on a one-channel image (a cross-correlation: the kernel is not flipped),
    before the activation: out[r, c] = sum(window * kernel) + bias."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    size = kernel.shape[0]
    before, after = padding_amounts(image.shape[0], size, stride, padding)
    padded = pad(image, before, after)
    rows = conv_output_size(image.shape[0], size, stride, padding)
    columns = conv_output_size(image.shape[1], size, stride, padding)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))[::stride, ::stride][:rows, :columns]
    return np.einsum("rcij,ij->rc", windows, kernel) + bias


def pool(feature_map: np.ndarray, window: int, mode: str = "max") -> np.ndarray:
    """Max or average pooling with stride = window and no padding (Keras' MaxPooling2D / AveragePooling2D default)."""
    feature_map = np.asarray(feature_map, dtype=np.float64)
    rows, columns = (pool_output_size(n, window) for n in feature_map.shape)
    if rows == 0 or columns == 0:
        return np.zeros((rows, columns))
    cropped = feature_map[: rows * window, : columns * window].reshape(rows, window, columns, window)
    if mode == "max":
        return cropped.max(axis=(1, 3))
    if mode == "average":
        return cropped.mean(axis=(1, 3))
    raise ValueError(f"pooling {mode!r}: choose 'max' or 'average'")


CLASSIC_KERNELS: dict[str, np.ndarray] = {
    "vertical edge (Sobel)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    "horizontal edge (Sobel)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    "blur (box)": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
}


def blocks(config: RunConfig) -> list[Block]:
    """The network of `config` as Keras builds it (core.models.build_model), stage by stage, for MNIST:
    output shapes and parameter counts (batch norm counts its 2 moving statistics too, as Keras does)."""
    if config.task != "mnist":
        raise ValueError("blocks() describes MNIST networks; a toy network is drawn unit by unit")
    stages = [Block("input", "input", (IMAGE_SIZE, IMAGE_SIZE, 1) if config.arch == "cnn" else (IMAGE_SIZE * IMAGE_SIZE,), 0,
                    "28×28 pixels" if config.arch == "cnn" else "784 pixels, flattened")]
    activations = config.activation_per_layer()
    if config.arch == "cnn":
        height = width = IMAGE_SIZE
        channels = 1
        for index, (filters, activation) in enumerate(zip(config.units_per_layer(), activations, strict=False), start=1):
            k = config.kernel_size
            height, width = conv_output_size(height, k, 1, "same"), conv_output_size(width, k, 1, "same")
            stages.append(Block(f"conv_{index}", "conv", (height, width, filters), k * k * channels * filters + filters,
                                f"{filters} filters {k}×{k}, {activation}"))
            if config.batch_norm:
                stages.append(Block(f"batch_norm_{index}", "batch_norm", (height, width, filters), 4 * filters, "batch norm"))
            height, width = pool_output_size(height, 2), pool_output_size(width, 2)
            stages.append(Block(f"pool_{index}", "pool", (height, width, filters), 0, "max-pool 2×2"))
            channels = filters
        features = height * width * channels
        stages.append(Block("flatten", "flatten", (features,), 0, "flatten"))
        dense = [config.dense_units] if config.dense_units else []
        dense_activations = [activations[-1]] * len(dense)
        first_index = config.layers + 1
    else:
        features = IMAGE_SIZE * IMAGE_SIZE
        dense = list(config.units_per_layer()) if config.layers else []
        dense_activations = list(activations) if config.layers else []
        first_index = 1
    for offset, (units, activation) in enumerate(zip(dense, dense_activations, strict=True)):
        stages.append(Block(f"dense_{first_index + offset}", "dense", (units,), features * units + units, f"{units} units, {activation}"))
        if config.batch_norm:
            stages.append(Block(f"batch_norm_{first_index + offset}", "batch_norm", (units,), 4 * units, "batch norm"))
        features = units
    stages.append(Block("probabilities", "output", (config.n_classes,), features * config.n_classes + config.n_classes, "softmax"))
    return stages


def parameter_count(config: RunConfig) -> int:
    """All parameters of the network of `config` (what keras' model.count_params() reports)."""
    return sum(block.params for block in blocks(config))


def first_conv_weights(model) -> tuple[np.ndarray, np.ndarray] | None:
    """(kernels (k, k, in_channels, filters), biases (filters,)) of a model's first Conv2D layer; None for an MLP."""
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D":
            kernel, bias = layer.get_weights()[:2] if layer.use_bias else (layer.get_weights()[0], None)
            filters = kernel.shape[-1]
            return np.asarray(kernel, dtype=np.float32), np.asarray(bias if bias is not None else np.zeros(filters), dtype=np.float32)
    return None


def keras_output_sizes(size: int, kernel: int, stride: int, padding: str | int, pool_mode: str, window: int) -> tuple[int, int]:
    """(conv output width, pooled width) as Keras itself computes them for the same layers (imports Keras: the
    page shows it beside the formula; tests/test_network_core.py checks the formula over every choice)."""
    import keras

    layers = [keras.Input((size, size, 1))]
    if not isinstance(padding, str):
        layers.append(keras.layers.ZeroPadding2D(int(padding)))
    layers.append(keras.layers.Conv2D(1, kernel, strides=stride, padding="same" if padding == "same" else "valid"))
    conv = keras.Sequential(layers).output_shape[1]
    pooling = keras.layers.MaxPooling2D(window) if pool_mode == "max" else keras.layers.AveragePooling2D(window)
    try:
        pooled = keras.Sequential([*layers, pooling]).output_shape[1]
    except ValueError:  # a map smaller than the window: Keras refuses the layer
        pooled = 0
    return int(conv), int(pooled or 0)
