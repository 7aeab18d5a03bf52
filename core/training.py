"""train(config, listener=...) -> Run: fit a model and forward progress to whoever listens.

A listener is any callable taking a TrainingEvent. It sees "start", one "batch" per step,
one "epoch" per epoch (with the metrics so far) and "end". To stop a run, the listener raises
StopTraining (or sets `event.stop = True`): the run ends after the current batch and is returned
with `stopped_at` set. Stopped runs are never cached: the cache holds only runs that trained the
epochs their config asked for (early stopping included, since that is part of the config).
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.config import SCHEMA_VERSION, RunConfig
from core.data import Splits, load_data
from core.eta import seconds_left
from core.models import build_model, compile_model
from core.snapshots import collect_arrays, make_recorders

EARLY_STOPPING_PATIENCE = 5


class StopTraining(Exception):
    """Raised by a listener to end the training after the current batch."""


@dataclass
class TrainingEvent:
    kind: str  # "waiting" | "start" | "batch" | "epoch" | "end"
    epoch: int = 0  # 1-based; 0 before the first epoch
    epochs: int = 0
    batch: int = 0  # 1-based within the epoch
    steps: int = 0  # batches per epoch
    elapsed: float = 0.0  # seconds since training started
    metrics: dict[str, float] = field(default_factory=dict)  # the last epoch's metrics
    history: dict[str, list[float]] = field(default_factory=dict)
    stop: bool = False  # a listener may set this to stop the run

    @property
    def fraction(self) -> float:
        """Overall progress in [0, 1]."""
        if not self.epochs:
            return 0.0
        done = (self.epoch - 1) + (self.batch / self.steps if self.steps else 0.0) if self.kind == "batch" else self.epoch
        return min(1.0, max(0.0, done / self.epochs))

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left by core.eta's rule: None until an epoch after the (warm-up) first one was timed."""
        return seconds_left(self.history.get("seconds"), self.epochs, self.fraction)


Listener = Callable[[TrainingEvent], Any]


@dataclass
class Run:
    """A trained (or loaded) model with everything known about it."""

    config: RunConfig
    model: keras.Model
    history: dict[str, list[float]]
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    cached: bool = False  # True when loaded from the cache instead of trained now
    stopped_at: int | None = None  # epoch at which a listener stopped it (never cached)
    path: Path | None = None
    notes: list[str] = field(default_factory=list)  # warnings for the user (e.g. a corrupt entry was retrained)

    @property
    def key(self) -> str:
        return self.config.key()

    @property
    def test_accuracy(self) -> float:
        return float(self.meta.get("test_accuracy", float("nan")))


class ForwardingCallback(keras.callbacks.Callback):
    """Forwards Keras' batch and epoch hooks to a listener as TrainingEvents."""

    def __init__(self, listener: Listener | None, epochs: int, steps: int):
        super().__init__()
        self.listener, self.epochs, self.steps = listener, epochs, steps
        self.history: dict[str, list[float]] = {}
        self.stopped_at: int | None = None
        self._epoch = 0
        self._start = self._epoch_start = 0.0

    def _emit(self, kind: str, batch: int = 0) -> None:
        if self.listener is None:
            return
        last = {name: values[-1] for name, values in self.history.items() if values}
        event = TrainingEvent(kind, self._epoch, self.epochs, batch, self.steps, time.perf_counter() - self._start, last, self.history)
        try:
            self.listener(event)
            stop = event.stop
        except StopTraining:
            stop = True
        if stop and kind != "end" and self.stopped_at is None:
            self.stopped_at = self._epoch
            self.model.stop_training = True

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._emit("start")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.listener is not None:
            self._emit("batch", batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        logs["seconds"] = time.perf_counter() - self._epoch_start
        try:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except (AttributeError, TypeError, ValueError):
            pass
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))
        self._emit("epoch")

    def on_train_end(self, logs=None):
        self._emit("end")


def targets(config: RunConfig, labels: np.ndarray) -> np.ndarray:
    """Labels as the loss wants them: integers, or one-hot when label smoothing is on."""
    return keras.utils.to_categorical(labels, config.n_classes) if config.label_smoothing else labels


def versions() -> dict[str, str]:
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__, "python": platform.python_version()}


def train(
    config: RunConfig,
    listener: Listener | None = None,
    splits: Splits | None = None,
    extra_callbacks: list | None = None,
) -> Run:
    """Train `config` from scratch (no cache involved) and evaluate it on the held-out test split."""
    splits = splits if splits is not None else load_data(config)
    model = build_model(config, splits.x_train)
    steps = math.ceil(len(splits.y_train) / config.batch_size)
    compile_model(model, config, steps)
    forwarder = ForwardingCallback(listener, config.epochs, steps)
    callbacks: list = [forwarder]
    early = None
    if config.early_stopping:
        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=EARLY_STOPPING_PATIENCE, restore_best_weights=True)
        callbacks.append(early)
    if config.lr_schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-6))
    snapshots = None
    if config.task == "toy":
        from core.boundary import SnapshotRecorder

        snapshots = SnapshotRecorder(config, splits)
        callbacks.append(snapshots)
    recorders = make_recorders(config, splits)  # inside the network: weights, activations, gradients per epoch
    callbacks += recorders
    callbacks += extra_callbacks or []

    started = time.perf_counter()
    model.fit(
        splits.x_train, targets(config, splits.y_train),
        validation_data=(splits.x_val, targets(config, splits.y_val)),
        batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0, callbacks=callbacks,
    )
    train_seconds = time.perf_counter() - started

    probabilities = np.asarray(model.predict_on_batch(splits.x_test)) if len(splits.y_test) <= 20000 else model.predict(splits.x_test, verbose=0)
    test_accuracy = float(np.mean(probabilities.argmax(axis=1) == splits.y_test))
    test_loss = float(np.mean(-np.log(np.clip(probabilities[np.arange(len(splits.y_test)), splits.y_test], 1e-12, 1.0))))
    history = forwarder.history
    val_loss = history.get("val_loss", [])
    best_epoch = int(np.argmin(val_loss)) + 1 if val_loss else 0
    epochs_run = len(history.get("loss", []))
    meta = {
        "key": config.key(),
        "schema": SCHEMA_VERSION,
        "description": config.describe(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_seconds": round(train_seconds, 3),
        "seconds_per_epoch": round(train_seconds / max(1, epochs_run), 4),
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "early_stopped_at": early.stopped_epoch + 1 if early is not None and early.stopped_epoch else None,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        # The model we keep is the best epoch's with early stopping (weights restored), else the last.
        "val_accuracy": float(history["val_accuracy"][(best_epoch if early else epochs_run) - 1]) if epochs_run else float("nan"),
        "train_accuracy": float(history["accuracy"][-1]) if history.get("accuracy") else float("nan"),
        "params": int(model.count_params()),
        "data_source": splits.source,
        "data_sizes": splits.sizes,
        "versions": versions(),
    }
    arrays = snapshots.arrays() if snapshots is not None else {}
    arrays.update(collect_arrays(recorders))
    return Run(config=config, model=model, history=history, meta=meta, arrays=arrays, stopped_at=forwarder.stopped_at)
