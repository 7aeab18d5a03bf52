"""Accuracy vs training-set size: which sizes to train for a configuration, and what the curve says.

The curve answers "would more data help?": one run per size of a stratified subset of the
training split (RunConfig.train_size), every other setting as the student chose except the epochs,
scaled so that each size gets as many weight updates as the whole split; each is tested on the
same test digits. The largest size is the whole split, i.e. the configuration itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from core.config import RANGES, TRAIN_SPLIT_SIZES, RunConfig

# Sizes per MNIST dataset, about doubling each time (the curve is read per doubling, on a log axis).
DATA_SIZES: dict[str, tuple[int, ...]] = {
    "embedded": (250, 500, 1000, 2000, TRAIN_SPLIT_SIZES["embedded"]),
    "full": (500, 1000, 2500, 5000, 10000, 25000, TRAIN_SPLIT_SIZES["full"]),
}
RISING_PER_DOUBLING = 0.01  # test accuracy still gaining >= 1 point per doubling of the data: "still rising"
WIDE_GAP = 0.05  # training accuracy this far above test accuracy: the model memorises its digits
MIN_POINTS = 3  # finished sizes a reading needs
FIT_POINTS = 3  # the largest finished sizes the slope is fitted on (one step alone is within test noise)


def epochs_for(config: RunConfig, size: int) -> int:
    """Epochs that give a `size`-digit subset as many weight updates as `config` gets on the whole split.

    With the epochs held fixed, 250 digits would get 14x fewer updates than 3,500 and the curve would
    show under-training, not a lack of data. Capped at the largest epoch count a config allows.
    """
    whole = TRAIN_SPLIT_SIZES[config.dataset]
    return int(min(RANGES["epochs"][1], max(config.epochs, round(config.epochs * whole / size))))


def size_configs(config: RunConfig) -> list[tuple[int, RunConfig]]:
    """(size, config) for every size of the curve: `config` with train_size set and its epochs scaled by
    epochs_for (the last is the whole split, i.e. `config` itself whatever train_size it had).

    Raises ValueError for toy data: these curves are for MNIST.
    """
    if config.task != "mnist":
        raise ValueError("accuracy vs training-set size is for MNIST: toy 2-D runs set their training share instead")
    whole = config.replace(train_size=0)
    return [(size, whole.replace(train_size=size, epochs=epochs_for(whole, size))) for size in DATA_SIZES[config.dataset]]


def slope_per_doubling(sizes: Sequence[float], accuracies: Sequence[float]) -> float:
    """Least-squares slope of accuracy against log2(size): accuracy gained per doubling of the data."""
    x = np.log2(np.asarray(sizes, dtype=float))
    y = np.asarray(accuracies, dtype=float)
    if len(x) < 2 or np.ptp(x) == 0:
        raise ValueError("a slope needs at least two different sizes")
    return float(np.polyfit(x, y, 1)[0])


def reading(sizes: Sequence[int], train_accuracy: Sequence[float], test_accuracy: Sequence[float]) -> str:
    """One sentence on the curve: still rising (more data would help), flat with a wide train/test gap
    (memorising), or flat and close (capacity-limited). Unfinished sizes carry NaN and are skipped."""
    points = sorted(
        (size, train, test)
        for size, train, test in zip(sizes, train_accuracy, test_accuracy, strict=True)
        if test is not None and math.isfinite(test)
    )
    if len(points) < MIN_POINTS:
        more = MIN_POINTS - len(points)
        return f"A reading needs at least {MIN_POINTS} finished sizes: {len(points)} so far, {more} more to go."
    recent = points[-FIT_POINTS:]
    gain = slope_per_doubling([p[0] for p in recent], [p[2] for p in recent])
    largest, train, test = points[-1]
    per_doubling = f"{gain * 100:+.1f} points of test accuracy per doubling of the data at the largest sizes"
    if gain >= RISING_PER_DOUBLING:
        return f"Test still rising ({per_doubling}): more data would help."
    gap = train - test if train is not None and math.isfinite(train) else float("nan")
    if gap > WIDE_GAP:
        return (
            f"Flat ({per_doubling}) while training accuracy is {gap * 100:.0f} points above test at {largest:,} digits: "
            "the model memorises its digits; more of the same data helps little, regularisation (dropout, L2, augment) may."
        )
    return f"Flat ({per_doubling}) with training close to test: capacity-limited; a bigger model (or longer training) would help more than more data."
