"""Reading a result: what a training history (and a confusion matrix) says, as structured findings.

Pure functions over plain data: a Keras-style history dict (`loss`, `val_loss`, `accuracy`,
`val_accuracy`, one value per epoch) and, optionally, a confusion matrix (rows = true class,
columns = predicted class). Each rule returns a `Finding` (what it saw, at which epoch, the
numbers) or nothing; the dashboard words them (dashboard/views/readings.py). No streamlit, no
TensorFlow.

The rules, in the order a student should act on them:
- `learning_rate_too_high`: the loss became NaN/infinite, shot above EXPLODED_LOSS (then often sits at
  a guess's level: accuracy 1 in 10), or ended higher than it started.
- `overfitting`: train accuracy well above validation, or validation loss climbing from its best.
- `underfitting`: both accuracies low (train too): the model has not learnt the training set yet;
  `still_rising` says whether more epochs would help (else: more capacity or a better rate).
- `saturation`: the validation accuracy stopped moving from epoch k on; the later epochs were spent.
- `weak_spot` (confusion matrix): a class most often mistaken for one other class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EXPLODED_LOSS = 10.0  # cross-entropy above this: the right class got < 0.005 % on average (a guess over 10 classes: 2.3)
GAP_POINTS = 0.03  # train - validation accuracy above this: overfitting
VAL_LOSS_RISE = 0.10  # validation loss 10 % above its best (and the best epoch not the last): overfitting
LOW_ACCURACY = 0.90  # below this on train AND validation: underfitting (MNIST networks reach 95 %+ in a few epochs)
STILL_RISING = 0.005  # accuracy gained per epoch over the last epochs: "still rising"
FLAT_TOLERANCE = 0.005  # within this of the best validation accuracy counts as "flat"
MIN_FLAT_EPOCHS = 3  # saturation needs this many epochs after it flattened...
FLAT_SHARE = 0.3  # ...and at least this share of the run
WEAK_SPOT_SHARE = 0.05  # a class mistaken for another in at least 5 % of its test images...
WEAK_SPOT_COUNT = 3  # ...and at least this many times
MAX_FINDINGS = 3  # a reading is 1-3 sentences


@dataclass(frozen=True)
class Finding:
    """One thing a result shows. `rule` names it; `epoch` (1-based) is where it starts, if anywhere;
    `values` holds the numbers the sentence quotes."""

    rule: str
    epoch: int | None = None
    values: dict[str, Any] = field(default_factory=dict)


def _series(history: Mapping[str, Sequence[float]] | None, name: str) -> list[float]:
    if not history:
        return []
    return [float(v) for v in history.get(name, []) or []]


def _finite(values: Sequence[float]) -> bool:
    return all(math.isfinite(v) for v in values)


def learning_rate_too_high(history: Mapping[str, Sequence[float]]) -> Finding | None:
    """The loss went NaN/infinite (epoch of the first one), shot above EXPLODED_LOSS (epoch of its peak),
    or the last training loss is above the first.

    A too-high learning rate makes the steps overshoot: the loss jumps up instead of down, or the
    weights blow up (Adam at 1.0 on the default MLP: loss 980 in epoch 1, then stuck at 2.3 with 10 %
    accuracy, a guess). Validation loss counts too (its NaN means the same).
    """
    for name in ("loss", "val_loss"):
        values = _series(history, name)
        for index, value in enumerate(values):
            if not math.isfinite(value):
                return Finding("learning_rate_too_high", index + 1, {"metric": name, "nan": True})
    loss = _series(history, "loss")
    if loss and max(loss) > EXPLODED_LOSS:
        peak = int(np.argmax(loss))
        return Finding("learning_rate_too_high", peak + 1, {"metric": "loss", "nan": False, "peak": loss[peak], "first": loss[0], "last": loss[-1]})
    if len(loss) >= 2 and loss[-1] > loss[0] * 1.05:
        peak = int(np.argmax(loss))
        return Finding("learning_rate_too_high", peak + 1, {"metric": "loss", "nan": False, "first": loss[0], "last": loss[-1]})
    return None


def overfitting(history: Mapping[str, Sequence[float]]) -> Finding | None:
    """Train accuracy above validation by more than GAP_POINTS at the last epoch, or validation loss
    more than VAL_LOSS_RISE above its minimum (reached before the last epoch). `epoch` is the best
    validation-loss epoch: from there on, training learnt the training set rather than digits."""
    train, val = _series(history, "accuracy"), _series(history, "val_accuracy")
    val_loss = _series(history, "val_loss")
    if not val_loss and not (train and val):
        return None
    if not _finite(val_loss):
        return None
    gap = train[-1] - val[-1] if train and val else 0.0
    best = int(np.argmin(val_loss)) if val_loss else None
    rise = (val_loss[-1] / val_loss[best] - 1.0) if best is not None and val_loss[best] > 0 else 0.0
    rising = best is not None and best < len(val_loss) - 1 and rise > VAL_LOSS_RISE
    if gap <= GAP_POINTS and not rising:
        return None
    values = {"gap": gap, "val_loss_rise": rise}
    if train and val:
        values.update(train=train[-1], validation=val[-1])
    return Finding("overfitting", None if best is None else best + 1, values)


def underfitting(history: Mapping[str, Sequence[float]], low: float = LOW_ACCURACY) -> Finding | None:
    """Train and validation accuracy both below `low` at the last epoch: the model has not even learnt
    the training set. `still_rising` (last epochs gained > STILL_RISING per epoch): more epochs will
    help; flat: it needs more capacity (units, layers) or a better learning rate."""
    train, val = _series(history, "accuracy"), _series(history, "val_accuracy")
    if not train or not _finite(train) or not _finite(val):
        return None
    last_val = val[-1] if val else train[-1]
    if train[-1] >= low or last_val >= low:
        return None
    watched = val or train
    window = min(3, len(watched) - 1)
    slope = (watched[-1] - watched[-1 - window]) / window if window > 0 else 0.0
    return Finding(
        "underfitting", len(train), {"train": train[-1], "validation": last_val, "still_rising": slope > STILL_RISING, "per_epoch": slope}
    )


def saturation(history: Mapping[str, Sequence[float]]) -> Finding | None:
    """The (validation) accuracy reached within FLAT_TOLERANCE of its best at epoch k and the run went on
    for at least MIN_FLAT_EPOCHS and FLAT_SHARE of its epochs after that: those epochs bought nothing.
    `epoch` is k."""
    values = _series(history, "val_accuracy") or _series(history, "accuracy")
    if len(values) < MIN_FLAT_EPOCHS + 2 or not _finite(values):
        return None
    best = max(values)
    flat_from = next(index for index, value in enumerate(values) if value >= best - FLAT_TOLERANCE)
    # It must stay flat: a late dip and recovery is not "flat from k".
    if any(value < best - 2 * FLAT_TOLERANCE for value in values[flat_from:]):
        return None
    after = len(values) - 1 - flat_from
    if after < MIN_FLAT_EPOCHS or after < FLAT_SHARE * len(values) or flat_from == 0:
        return None
    return Finding("saturation", flat_from + 1, {"epochs": len(values), "accuracy": values[flat_from], "spare_epochs": after})


def weak_spots(confusion: np.ndarray | Sequence[Sequence[int]], limit: int = 2) -> list[Finding]:
    """The worst (true, predicted) confusions: a true class mistaken for one other class in at least
    WEAK_SPOT_SHARE of its images and WEAK_SPOT_COUNT times, most frequent first (at most `limit`)."""
    matrix = np.asarray(confusion, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
        return []
    totals = matrix.sum(axis=1)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    found = []
    for true_class in range(matrix.shape[0]):
        if totals[true_class] <= 0:
            continue
        predicted = int(np.argmax(off[true_class]))
        count = int(off[true_class, predicted])
        share = count / totals[true_class]
        if count >= WEAK_SPOT_COUNT and share >= WEAK_SPOT_SHARE:
            found.append(Finding("weak_spot", None, {
                "true": true_class, "predicted": predicted, "count": count, "total": int(totals[true_class]), "share": share,
            }))
    found.sort(key=lambda f: (-f.values["share"], -f.values["count"]))
    return found[:limit]


def read(
    history: Mapping[str, Sequence[float]] | None,
    confusion: np.ndarray | None = None,
    limit: int = MAX_FINDINGS,
    low: float = LOW_ACCURACY,
) -> list[Finding]:
    """Every finding for a result, most urgent first, at most `limit`; `low` is underfitting's threshold.

    A too-high learning rate hides everything else (its other numbers mean nothing); overfitting and
    underfitting exclude each other by their thresholds; saturation is said only when nothing more
    urgent was; confusion weak spots come last.
    """
    findings: list[Finding] = []
    if history:
        exploded = learning_rate_too_high(history)
        if exploded is not None:
            findings.append(exploded)
        else:
            for finding in (overfitting(history), underfitting(history, low)):
                if finding is not None:
                    findings.append(finding)
            flat = saturation(history)
            if flat is not None and not any(f.rule == "underfitting" for f in findings):
                findings.append(flat)
    if confusion is not None and not any(f.rule == "learning_rate_too_high" for f in findings):
        findings.extend(weak_spots(confusion))
    return findings[:limit]
