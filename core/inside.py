"""The maths behind "Inside the network": stable projections, histograms over epochs, dead units.

Everything here is numpy in, numpy out (scikit-learn only for the optional t-SNE).

- Stable axes: the embedding of every epoch is projected on the principal axes of the *final*
  epoch (`fit_pca` once, `project` every epoch), so when a point moves between epochs it is the
  network that moved it, not a new projection.
- Distributions: a layer's weights or activations at one epoch are summarised by their quantiles
  (`quantile_summary`, a few hundred numbers whatever the layer's size); `histograms` turns the
  quantiles of every epoch into counts on one common set of bins, the rows of a heatmap/ridgeline.
- Dead units: a ReLU unit whose output is 0 for every probe input passes no gradient and, unless
  its inputs change, never comes back (`dead_units`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

QUANTILE_LEVELS = np.linspace(0.0, 1.0, 129)


# -- stable projection --------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """Principal axes fitted on one set of points: x -> (x - mean) @ components.T."""

    mean: np.ndarray  # (D,)
    components: np.ndarray  # (K, D), orthonormal rows, most variance first
    explained: np.ndarray  # (K,) share of the fitted points' variance along each axis


def fit_pca(points: np.ndarray, components: int = 2) -> Projection:
    """Principal component analysis of (N, D) points, keeping `components` axes (fewer if D or N is smaller).

    Signs are fixed (the largest loading of each axis is positive) so that refitting the same
    data never mirrors the picture.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or len(points) == 0:
        raise ValueError("fit_pca needs a non-empty (N, D) array")
    mean = points.mean(axis=0)
    centred = points - mean
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    keep = max(1, min(components, axes.shape[0]))
    axes = axes[:keep]
    signs = np.sign(axes[np.arange(keep), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    variance = singular**2
    total = variance.sum()
    explained = variance[:keep] / total if total > 0 else np.zeros(keep)
    return Projection(mean.astype(np.float32), axes.astype(np.float32), explained.astype(np.float32))


def project(projection: Projection, points: np.ndarray) -> np.ndarray:
    """(N, D) points in the coordinates of `projection`: (N, K) float32."""
    points = np.asarray(points, dtype=np.float32)
    return (points - projection.mean) @ projection.components.T


def project_epochs(activations: np.ndarray, components: int = 2) -> tuple[np.ndarray, Projection]:
    """Project (E, N, D) activations of every epoch on the final epoch's principal axes -> ((E, N, K), projection).

    A run that diverged has non-numbers in its last epochs: the axes are then fitted on the last
    epoch that is all finite, and the broken epochs stay non-numbers. Raises ValueError when no
    epoch is finite.
    """
    activations = np.asarray(activations, dtype=np.float32)
    finite = [i for i in range(len(activations)) if np.all(np.isfinite(activations[i]))]
    if not finite:
        raise ValueError("no epoch has finite activations")
    projection = fit_pca(activations[finite[-1]], components)
    return np.stack([project(projection, epoch) for epoch in activations]), projection


def random_reduction(width: int, target: int, seed: int = 0) -> np.ndarray:
    """A fixed (width, target) matrix with orthonormal columns: a seeded random projection.

    Used before storing very wide layers (a CNN's flattened features): distances between points
    are kept approximately (Johnson-Lindenstrauss), so the later PCA sees nearly the same cloud.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((width, target)))
    return q.astype(np.float32)


def tsne_available() -> bool:
    """True when scikit-learn (a dependency of mlxtend) is installed."""
    return importlib.util.find_spec("sklearn") is not None


def tsne(points: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """t-SNE of (N, D) points to (N, 2). Its axes mean nothing and change with every fit: one epoch only."""
    from sklearn.manifold import TSNE

    points = np.asarray(points, dtype=np.float32)
    perplexity = min(perplexity, max(2.0, (len(points) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(points).astype(np.float32)


# -- distributions over epochs ------------------------------------------------------------------


def quantile_summary(values: np.ndarray, levels: np.ndarray = QUANTILE_LEVELS) -> np.ndarray:
    """The quantiles of all `values` at `levels` (float32): a layer's distribution in a few hundred bytes."""
    values = np.asarray(values, dtype=np.float32).ravel()
    values = np.sort(values[np.isfinite(values)])
    if len(values) == 0:
        return np.full(len(levels), np.nan, dtype=np.float32)
    # One sort, then linear interpolation between order statistics (np.quantile's default method).
    positions = np.asarray(levels, dtype=np.float64) * (len(values) - 1)
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, len(values) - 1)
    return (values[low] + (positions - low) * (values[high] - values[low])).astype(np.float32)


def common_edges(quantiles: np.ndarray, bins: int = 40, clip: float = 0.005) -> np.ndarray:
    """Bin edges shared by every epoch, covering the middle (1 - 2*clip) of every epoch's values."""
    quantiles = np.asarray(quantiles, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, quantiles.shape[-1])
    low_index, high_index = int(np.searchsorted(levels, clip)), int(np.searchsorted(levels, 1 - clip))
    finite = quantiles[np.all(np.isfinite(quantiles), axis=-1)]
    if len(finite) == 0:
        return np.linspace(-1.0, 1.0, bins + 1)
    low, high = float(finite[:, low_index].min()), float(finite[:, min(high_index, finite.shape[1] - 1)].max())
    if not high > low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def histograms(quantiles: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of values in each bin, per epoch: (E, Q) quantiles -> (E, len(edges) - 1), rows sum to <= 1.

    The cumulative distribution is read from the quantiles (linear between them); values outside
    the edges are not counted. A point mass (e.g. the zeros of ReLU units) lands in the bin that
    holds it.
    """
    quantiles = np.atleast_2d(np.asarray(quantiles, dtype=np.float64))
    edges = np.asarray(edges, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, quantiles.shape[-1])
    rows = []
    for row in quantiles:
        if not np.all(np.isfinite(row)):
            rows.append(np.full(len(edges) - 1, np.nan))
            continue
        rows.append(np.diff(_cumulative_share(row, levels, edges)))
    return np.clip(np.stack(rows), 0.0, 1.0)


def _cumulative_share(quantiles: np.ndarray, levels: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Share of values < each of `at`, from sorted quantiles (linear between neighbouring quantiles)."""
    last = np.searchsorted(quantiles, at, side="left") - 1  # the last quantile < the point
    inside = (last >= 0) & (last < len(quantiles) - 1)
    share = np.where(last < 0, 0.0, 1.0)
    i = last[inside]
    step = (at[inside] - quantiles[i]) / (quantiles[i + 1] - quantiles[i])  # quantiles[i] < point <= quantiles[i+1]
    share[inside] = levels[i] + step * (levels[i + 1] - levels[i])
    return share


# -- dead units and gradients -------------------------------------------------------------------


def dead_units(activations: np.ndarray) -> np.ndarray:
    """Which units never fire: (N, ..., units) outputs of a ReLU layer on N probe inputs -> (units,) bool.

    A unit (a neuron of a dense layer, a channel of a convolution, counted over every position)
    is dead when its output is <= 0 for every probe input.
    """
    activations = np.asarray(activations)
    if activations.ndim < 2:
        raise ValueError("dead_units needs (N, ..., units) activations")
    peak = activations.reshape(-1, activations.shape[-1]).max(axis=0)
    return peak <= 0


def dead_share(activations: np.ndarray) -> float:
    """Share (0-1) of the layer's units that never fire on the probe inputs."""
    return float(dead_units(activations).mean())


def gradient_norm(gradients: list[np.ndarray]) -> float:
    """Euclidean norm of all gradient arrays of one layer together (kernel and bias)."""
    return float(np.sqrt(sum(float(np.sum(np.square(np.asarray(g, dtype=np.float64)))) for g in gradients)))


RELU_FAMILY = ("relu",)


def is_relu_family(activation: str) -> bool:
    """True for activations whose units can die (output exactly 0 for all negative inputs)."""
    return activation in RELU_FAMILY


# -- an MLP in numpy: the probe and one batch's gradients without TensorFlow ----------------------
#
# Tracing a TensorFlow function costs ~0.3-2 s per training, more than a whole 10-epoch MLP
# training on the embedded set takes; numpy answers the 1,000-digit probe and a 128-digit
# gradient in a few ms. A step is one of:
#   ("scale", factor) | ("flatten",) | ("dense", kernel, bias) | ("affine", scale, shift)
#   (batch norm at inference) | ("activation", name) | ("identity",)


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))
    if name == "gelu":
        from scipy.special import erf

        return 0.5 * z * (1.0 + erf(z / np.sqrt(2.0)))
    if name == "softmax":
        shifted = np.exp(z - z.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    if name == "linear":
        return z
    raise ValueError(f"unknown activation {name!r}")


def _activation_slope(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "tanh":
        return 1.0 - a**2
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "elu":
        return np.where(z > 0, 1.0, a + 1.0)
    if name == "gelu":
        from scipy.special import erf

        return 0.5 * (1.0 + erf(z / np.sqrt(2.0))) + z * np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)
    if name == "linear":
        return np.ones_like(z)
    raise ValueError(f"unknown activation {name!r}")


def mlp_forward(steps: list[tuple], x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run the steps on x; returns (every step's input, every step's output), float32."""
    inputs, outputs = [], []
    h = np.asarray(x, dtype=np.float32)
    for step in steps:
        inputs.append(h)
        kind = step[0]
        if kind == "scale":
            h = h * np.float32(step[1])
        elif kind == "flatten":
            h = h.reshape(len(h), -1)
        elif kind == "dense":
            h = h @ step[1] + step[2]
        elif kind == "affine":
            h = h * step[1] + step[2]
        elif kind == "activation":
            h = _activate(step[1], h).astype(np.float32)
        elif kind != "identity":
            raise ValueError(f"unknown step {kind!r}")
        outputs.append(h)
    return inputs, outputs


def mlp_gradient_norms(steps: list[tuple], x: np.ndarray, labels: np.ndarray, label_smoothing: float = 0.0) -> list[float]:
    """Norm of the cross-entropy gradient (mean over the batch) for every dense step's kernel and bias.

    The last step must be the softmax activation; `labels` are integer classes. Backpropagation by
    hand: softmax + cross-entropy gives (p - target) / batch at the logits, then each step's
    Jacobian in reverse order. Regularisation terms are not included (the data's gradient only).
    """
    inputs, outputs = mlp_forward(steps, x)
    probabilities = outputs[-1].astype(np.float64)
    classes = probabilities.shape[-1]
    target = np.eye(classes)[np.asarray(labels, dtype=np.int64)]
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    if steps[-1] != ("activation", "softmax"):
        raise ValueError("the last step must be the softmax")
    upstream = (probabilities - target) / len(probabilities)  # at the softmax's input
    norms: list[float] = []
    for index in range(len(steps) - 2, -1, -1):
        step, given = steps[index], inputs[index].astype(np.float64)
        kind = step[0]
        if kind == "dense":
            kernel_gradient, bias_gradient = given.T @ upstream, upstream.sum(axis=0)
            norms.append(float(np.sqrt(np.sum(kernel_gradient**2) + np.sum(bias_gradient**2))))
            upstream = upstream @ np.asarray(step[1], dtype=np.float64).T
        elif kind == "activation":
            upstream = upstream * _activation_slope(step[1], given, outputs[index].astype(np.float64))
        elif kind == "affine":
            upstream = upstream * step[1]
        elif kind == "scale":
            upstream = upstream * step[1]
        elif kind == "flatten":
            upstream = upstream.reshape(given.shape)
    return norms[::-1]
