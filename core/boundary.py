"""Decision boundaries of 2-D (toy) models: probability grids, per-neuron grids, per-epoch snapshots.

Everything here is numpy in, numpy out. Grids are evaluated with one compiled function per model
whose input shape is (None, 2): `model.predict` costs ~40 ms of fixed overhead per call, and
`predict_on_batch` retraces (~200-300 ms) for every new number of points (60x60 live, 100x100
snapshot, 200x200 main plot, N data points), while this traces once and then answers 40k points
in a few ms (bench/boundary.py).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import keras
import numpy as np

from core.config import RunConfig
from core.data import Splits, toy_bounds

SNAPSHOT_RESOLUTION = 100
MAX_SNAPSHOTS = 100


@dataclass(frozen=True)
class Grid:
    """A regular grid over the plane: xs (W,), ys (H,), points (H*W, 2) in row-major order."""

    xs: np.ndarray
    ys: np.ndarray

    @property
    def points(self) -> np.ndarray:
        xx, yy = np.meshgrid(self.xs, self.ys)
        return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ys), len(self.xs)


def make_grid(bounds: tuple[float, float, float, float], resolution: int) -> Grid:
    x_min, x_max, y_min, y_max = bounds
    return Grid(np.linspace(x_min, x_max, resolution, dtype=np.float32), np.linspace(y_min, y_max, resolution, dtype=np.float32))


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(model: keras.Model, name: str, build):
    # Per-model cache kept outside the model: an attribute on a Keras model would be tracked
    # (and could end up in a saved file).
    entry = _COMPILED.setdefault(model, {})
    if name not in entry:
        entry[name] = build()
    return entry[name]


def _point_function(model: keras.Model, outputs_of=None):
    import tensorflow as tf

    target = outputs_of if outputs_of is not None else model
    return tf.function(
        lambda points: target(points, training=False), input_signature=[tf.TensorSpec([None, 2], tf.float32)], reduce_retracing=True
    )


def predict_points(model: keras.Model, points: np.ndarray) -> np.ndarray:
    """Model output at (N, 2) points as float32 numpy, through the model's cached compiled function."""
    function = _compiled(model, "predict", lambda: _point_function(model))
    return np.asarray(function(np.asarray(points, dtype=np.float32).reshape(-1, 2)), dtype=np.float32)


def probability_grid(model: keras.Model, bounds: tuple[float, float, float, float], resolution: int = 200) -> np.ndarray:
    """Class probabilities over the plane: float32 (resolution, resolution, n_classes), rows = y."""
    grid = make_grid(bounds, resolution)
    return predict_points(model, grid.points).reshape(*grid.shape, -1)


def snapshot_epochs(epochs: int, limit: int = MAX_SNAPSHOTS) -> list[int]:
    """Which epochs (1-based) get a snapshot: all of them, or every k-th for long runs (last one always)."""
    step = max(1, int(np.ceil(epochs / limit)))
    chosen = list(range(step, epochs + 1, step))
    if not chosen or chosen[-1] != epochs:
        chosen.append(epochs)
    return chosen


class SnapshotRecorder(keras.callbacks.Callback):
    """Records the probability grid (float16, 100x100) at chosen epochs so replay needs no retraining."""

    def __init__(self, config: RunConfig, splits: Splits, resolution: int = SNAPSHOT_RESOLUTION):
        super().__init__()
        self.points = make_grid(toy_bounds(config.dataset), resolution).points
        self.resolution = resolution
        self.wanted = set(snapshot_epochs(config.epochs))
        self.epochs: list[int] = []
        self.grids: list[np.ndarray] = []

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 in self.wanted:
            probabilities = predict_points(self.model, self.points)
            self.epochs.append(epoch + 1)
            self.grids.append(probabilities.reshape(self.resolution, self.resolution, -1).astype(np.float16))

    def arrays(self) -> dict[str, np.ndarray]:
        if not self.grids:
            return {}
        return {"snapshot_epochs": np.asarray(self.epochs, dtype=np.int32), "snapshots": np.stack(self.grids)}


# -- inside the network ------------------------------------------------------------------------


def hidden_activation_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The activation layer of every hidden dense layer, in order (named `<activation>_<i>` by build_model)."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Activation) and layer.name != "probabilities"]


def _feature_model(model: keras.Model):
    """A compiled function returning every hidden activation (built once per model), or None."""
    layers = hidden_activation_layers(model)
    if not layers:
        return None

    def build():
        features = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in layers], name="hidden_activations")
        return _point_function(model, outputs_of=features)

    return _compiled(model, "features", build)


def neuron_grids(model: keras.Model, bounds: tuple[float, float, float, float], resolution: int = 60) -> list[np.ndarray]:
    """The activation of every hidden neuron over the plane.

    Returns one float32 array (resolution, resolution, units) per hidden layer (rows = y, like
    `probability_grid`); an empty list for a model without hidden layers (logistic regression).
    """
    features = _feature_model(model)
    if features is None:
        return []
    grid = make_grid(bounds, resolution)
    outputs = features(grid.points)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(out, dtype=np.float32).reshape(*grid.shape, -1) for out in outputs]


# -- predictions at the data points -------------------------------------------------------------


def point_probabilities(model: keras.Model, points: np.ndarray) -> np.ndarray:
    """Class probabilities (N, n_classes) at given (N, 2) points (fast path, no model.predict)."""
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(points) == 0:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    return predict_points(model, points)


# -- live boundary during training ---------------------------------------------------------------


class LiveBoundary(keras.callbacks.Callback):
    """Calls `on_grid(epoch, probabilities, logs)` every `every` epochs (and at the last one).

    The page passes a plain function that redraws a placeholder; the grid is coarse (default
    60x60, ~1 ms) so redrawing does not slow the training down noticeably.
    """

    def __init__(self, config: RunConfig, on_grid, every: int = 5, resolution: int = 60):
        super().__init__()
        self.on_grid, self.every, self.epochs = on_grid, max(1, int(every)), config.epochs
        self.points = make_grid(toy_bounds(config.dataset), resolution).points
        self.resolution = resolution

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.epochs and done != 1:
            return
        probabilities = predict_points(self.model, self.points)
        self.on_grid(done, probabilities.reshape(self.resolution, self.resolution, -1), dict(logs or {}))


def live_every(epochs: int, frames: int = 20) -> int:
    """Redraw interval in epochs so a run shows about `frames` live boundaries."""
    return max(1, int(np.ceil(epochs / frames)))


# -- small multiples -----------------------------------------------------------------------------


def final_snapshot(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """The last recorded probability grid of a run (float32), or None for runs without snapshots."""
    snapshots = arrays.get("snapshots")
    if snapshots is None or len(snapshots) == 0:
        return None
    return np.asarray(snapshots[-1], dtype=np.float32)


def grid_lookup(probabilities: np.ndarray, bounds: tuple[float, float, float, float], points: np.ndarray) -> np.ndarray:
    """Probabilities at (N, 2) points read from a grid (nearest cell): predictions at a replayed epoch."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    height, width = probabilities.shape[:2]
    x_min, x_max, y_min, y_max = bounds
    columns = np.clip(np.round((points[:, 0] - x_min) / (x_max - x_min) * (width - 1)), 0, width - 1).astype(int)
    rows = np.clip(np.round((points[:, 1] - y_min) / (y_max - y_min) * (height - 1)), 0, height - 1).astype(int)
    return probabilities[rows, columns]
