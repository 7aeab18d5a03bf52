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


# -- why a run ended low, and the one-click fix ---------------------------------------------------

LOW_TRAIN_ACCURACY = 0.85  # below this on the training points, the page explains why
STILL_RISING = 0.03  # train accuracy gained over the last fifth of the epochs: "still learning"
MAX_EPOCHS = 200  # the form's upper bound
MIN_EPOCHS_TO_JUDGE = 20  # a shorter run's curve says nothing about capacity: it simply trained too little
BIGGER_LAYERS, BIGGER_UNITS, BIGGER_EPOCHS = 3, 16, 100  # bench/RESULTS-boundary.md: solves the spiral


def _network(config: RunConfig) -> str:
    """'2 hidden layers of 4 units' / 'logistic regression (no hidden layer)'."""
    if not config.layers:
        return "logistic regression (no hidden layer)"
    units = "-".join(str(u) for u in config.units_per_layer())
    return f"{config.layers} hidden layer{'s' if config.layers != 1 else ''} of {units} units"


@dataclass(frozen=True)
class Diagnosis:
    """Why a toy run ended with a low train accuracy (one sentence), and the configuration that fixes it."""

    reason: str
    fix: RunConfig
    fix_label: str


def diagnose(config: RunConfig, history: dict[str, list[float]]) -> Diagnosis | None:
    """Explain a low final train accuracy from the run's own curve; None when it is fine.

    Train accuracy (not test) is what capacity and training time limit. If it gained at least
    STILL_RISING over the last fifth of the epochs, the run stopped while still learning: too few
    epochs (fix: three times as many, at most MAX_EPOCHS); so is a run shorter than MIN_EPOCHS_TO_JUDGE,
    whose curve says nothing yet. If it is flat, more epochs would not
    help: too little capacity (fix: BIGGER_LAYERS layers of BIGGER_UNITS units, BIGGER_EPOCHS
    epochs, never smaller than the run's own).
    """
    accuracy = [float(a) for a in history.get("accuracy") or []]
    if not accuracy or accuracy[-1] >= LOW_TRAIN_ACCURACY:
        return None
    final, window = accuracy[-1], max(1, len(accuracy) // 5)
    gain = final - accuracy[max(0, len(accuracy) - 1 - window)]
    span = f"{window} epoch{'s' if window != 1 else ''}"
    if len(accuracy) < MIN_EPOCHS_TO_JUDGE and config.epochs < MAX_EPOCHS:
        epochs = min(MAX_EPOCHS, max(MIN_EPOCHS_TO_JUDGE * 2, config.epochs * 3))
        return Diagnosis(
            f"Train accuracy is only {final:.0%} after {len(accuracy)} epochs: too few epochs to learn this shape.",
            config.replace(epochs=epochs), f"Train {epochs} epochs instead of {config.epochs}",
        )
    if gain >= STILL_RISING and config.epochs < MAX_EPOCHS:
        epochs = min(MAX_EPOCHS, config.epochs * 3)
        return Diagnosis(
            f"Train accuracy is only {final:.0%} and still rising (+{gain * 100:.0f} points over the last {span}): "
            f"too few epochs, the network had not finished learning.",
            config.replace(epochs=epochs), f"Train {epochs} epochs instead of {config.epochs}",
        )
    widest = max(config.units_per_layer()) if config.layers else 0
    layers, units = max(config.layers, BIGGER_LAYERS), max(widest, BIGGER_UNITS)
    epochs = max(config.epochs, BIGGER_EPOCHS)
    overlap = f" (or the classes overlap: noise {config.noise:g})" if config.noise >= 0.2 else ""
    return Diagnosis(
        f"Train accuracy is only {final:.0%} and no longer rising over the last {span} ({gain * 100:+.0f} points): "
        f"too little capacity, {_network(config)} cannot draw this shape{overlap}.",
        config.replace(layers=layers, units=units, epochs=epochs),
        f"Train {layers} layers of {units} units, {epochs} epochs",
    )


# -- how long a toy training takes ------------------------------------------------------------------

# From two measurements on this machine kind (2 cores, bench/RESULTS-boundary.md): in-process, MLP 8-8
# for 20 epochs took 3.5 s and the old default (4-4, 100 epochs, 7 batches/epoch) 13.2 s on an idle
# machine; through the page's background worker (progress records, live grid) that old default took
# 19 s (issue 16). So: a fixed start (the worker builds and traces the model), then per epoch a fixed
# cost (validation, snapshot, live grid, progress record) plus one per training batch; the fit is
# calibrated to the worker's 19 s.
START_SECONDS = 2.0
EPOCH_SECONDS = 0.11
STEP_SECONDS = 0.008


def estimated_train_seconds(config: RunConfig, n_train: int) -> float:
    """Wall seconds a toy training of `config` on `n_train` points takes on an idle 2-core machine."""
    steps = -(-max(1, n_train) // max(1, config.batch_size))
    return START_SECONDS + config.epochs * (EPOCH_SECONDS + steps * STEP_SECONDS)
