"""How long a training has left: the one rule every status line follows.

The first epoch is not a fair clock. It carries one-off costs: Keras traces the train and test
steps into graphs and the data pipeline warms up. Measured on this machine (2 cores), an MLP 16 on
the embedded set took about 3 s for epoch 1 and about 0.3 s for each later epoch, so extrapolating
epoch 1 said "about 37 s left" for a run that ended 14 s later (and "about 151 s left" for a 2 s
run of 100 short epochs). So an estimate needs a *timed* epoch: one after the first. Until one has
ended, the only honest sources are a similar cached run's measured epochs, or no estimate at all.

Pure Python (no TensorFlow, no Streamlit): core.jobs and the pages use it, tests/test_eta.py checks it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

WARMUP_EPOCHS = 1  # epochs whose time includes graph tracing and warm-up: never extrapolated

# Settings that decide how long one epoch takes (the rest, e.g. the learning rate, barely matter).
SPEED_FIELDS = ("task", "dataset", "arch", "layers", "units", "kernel_size", "dense_units", "batch_norm", "augment", "batch_size", "n_samples", "train_ratio", "train_size")


def steady_seconds_per_epoch(epoch_seconds: Sequence[float] | None) -> float | None:
    """Seconds per epoch once warm: the median of the epochs after the first; None before one ended.

    The median (not the mean) so one epoch slowed by a neighbour's work does not swing the estimate.
    """
    timed = [float(s) for s in (epoch_seconds or [])[WARMUP_EPOCHS:] if s is not None and s >= 0]
    return statistics.median(timed) if timed else None


def seconds_left(
    epoch_seconds: Sequence[float] | None,
    epochs: int,
    fraction: float,
    reference_seconds_per_epoch: float | None = None,
) -> float | None:
    """Seconds left for a run `fraction` (0..1) through `epochs` epochs, or None when it cannot be known yet.

    Uses the run's own timed epochs (after the first) when there are any, else the steady seconds
    per epoch of a similar cached run (`reference_seconds_per_epoch`), else None: the page then
    says it is still measuring instead of guessing from the warm-up epoch.
    """
    per_epoch = steady_seconds_per_epoch(epoch_seconds)
    if per_epoch is None and reference_seconds_per_epoch is not None and reference_seconds_per_epoch > 0:
        per_epoch = float(reference_seconds_per_epoch)
    if per_epoch is None or epochs <= 0:
        return None
    return max(0.0, per_epoch * epochs * (1.0 - min(1.0, max(0.0, fraction))))


def _speed_signature(config: Mapping[str, Any]) -> tuple:
    def plain(value: Any) -> Any:
        return tuple(value) if isinstance(value, list | tuple) else value

    return tuple(plain(config.get(name)) for name in SPEED_FIELDS)


def same_speed(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """True when two configs (plain dicts) train at the same speed per epoch: same SPEED_FIELDS."""
    return _speed_signature(first) == _speed_signature(second)


def similar_reference(config: Mapping[str, Any], candidates: Iterable[tuple[Mapping[str, Any], Sequence[float] | None]]) -> float | None:
    """Steady seconds per epoch of the first candidate that trains at the same speed as `config`.

    `config` and each candidate's config are plain dicts (RunConfig.to_dict()); each candidate
    comes with its per-epoch seconds (history["seconds"]). Same speed = same SPEED_FIELDS
    (architecture, widths, batch size, data): the epochs count, learning rate or seed do not matter.
    Pass candidates newest first: machines get busier or quieter, the latest measurement is best.
    """
    wanted = _speed_signature(config)
    for candidate, epoch_seconds in candidates:
        if _speed_signature(candidate) == wanted:
            per_epoch = steady_seconds_per_epoch(epoch_seconds)
            if per_epoch is not None:
                return per_epoch
    return None
