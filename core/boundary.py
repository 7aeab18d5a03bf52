"""Decision boundaries of 2-D (toy) models: probability grids and per-epoch snapshots.

Everything here is numpy in, numpy out. Grids are evaluated with `predict_on_batch` (about 1 ms
for 10k points) rather than `model.predict` (about 40 ms of fixed overhead per call).
"""

from __future__ import annotations

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


def probability_grid(model: keras.Model, bounds: tuple[float, float, float, float], resolution: int = 200) -> np.ndarray:
    """Class probabilities over the plane: float32 (resolution, resolution, n_classes), rows = y."""
    grid = make_grid(bounds, resolution)
    probabilities = np.asarray(model.predict_on_batch(grid.points), dtype=np.float32)
    return probabilities.reshape(*grid.shape, -1)


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
            probabilities = np.asarray(self.model.predict_on_batch(self.points))
            self.epochs.append(epoch + 1)
            self.grids.append(probabilities.reshape(self.resolution, self.resolution, -1).astype(np.float16))

    def arrays(self) -> dict[str, np.ndarray]:
        if not self.grids:
            return {}
        return {"snapshot_epochs": np.asarray(self.epochs, dtype=np.int32), "snapshots": np.stack(self.grids)}
