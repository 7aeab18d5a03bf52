"""What mattered over the cached runs: which hyperparameter moved test accuracy, and the Pareto front.

Importance is the main-effect part of fANOVA computed straight from the runs, with no fitted model:
group the runs by one hyperparameter's value, and ask how much of the spread in test accuracy the
group means explain. On a full grid that is exactly fANOVA's main effect; on a handful of runs the
raw share is biased upwards (a value tried once "explains" its own run), so we use omega squared,
which subtracts what noise alone would explain and is ~0 for a hyperparameter that changes nothing.

Pure numpy; the Runs page's "What mattered" section (dashboard/views/runs_analysis.py) draws it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.config import TRAIN_SPLIT_SIZES, RunConfig

MIN_RUNS = 8  # below this, an importance is mostly noise: the page asks for more runs instead
MAX_LEVELS = 6  # a numeric hyperparameter with more distinct values is cut into QUANTILE_BINS groups
QUANTILE_BINS = 4

# The RunConfig fields a student can change for MNIST (the toy-data fields are reset for MNIST runs).
HYPERPARAMETERS = (
    "dataset", "arch", "layers", "units", "activation", "kernel_size", "dense_units", "conv_dropout", "dropout", "l2",
    "batch_norm", "augment", "optimizer", "learning_rate", "lr_schedule", "label_smoothing", "batch_size", "epochs",
    "early_stopping", "seed", "train_size",
)
LOG_SCALE = frozenset({"learning_rate", "l2", "train_size"})  # spread over decades: a log axis reads them


@dataclass(frozen=True)
class Importance:
    """How much one hyperparameter (or several that always changed together) explains of the accuracy spread.

    `share` is omega squared in 0..1 (None when it cannot be told: every run has its own value, so
    nothing is left to measure the noise with). `names` has more than one name when those
    hyperparameters split the runs into exactly the same groups: the runs cannot tell them apart.
    """

    names: tuple[str, ...]
    share: float | None
    groups: int  # how many distinct values (or bins) the runs have
    runs: int

    @property
    def label(self) -> str:
        return " = ".join(self.names)


def _plain(value: Any) -> Any:
    """A config value as one comparable scalar: per-layer tuples become '64-16'."""
    if isinstance(value, tuple):
        return "-".join(str(item) for item in value)
    return value


def hyperparameter_value(config: RunConfig, name: str) -> Any:
    """The value of `name` a student would name: units '64-16', train_size 0 read as the whole split."""
    if name == "train_size":
        return config.train_size or TRAIN_SPLIT_SIZES.get(config.dataset, 0)
    if name in ("units", "activation"):
        values = config.units_per_layer() if name == "units" else config.activation_per_layer()
        return "-".join(str(v) for v in values) if len(set(values)) > 1 else (values[0] if values else "none")
    return _plain(getattr(config, name))


def hyperparameter_table(configs: Sequence[RunConfig], names: Sequence[str] = HYPERPARAMETERS) -> dict[str, list]:
    """{name: one value per config} for the hyperparameters whose value differs between the configs
    (a setting every run shares explains nothing and is left out), in `names` order."""
    table = {}
    for name in names:
        values = [hyperparameter_value(config, name) for config in configs]
        if len({repr(value) for value in values}) > 1:
            table[name] = values
    return table


def is_numeric(values: Sequence[Any]) -> bool:
    """Whether every value is a real number (bools are categories: on/off)."""
    return all(isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
               for value in values)


def group_codes(values: Sequence[Any]) -> np.ndarray:
    """One integer group per run: the distinct values, or QUANTILE_BINS quantile bins for a numeric
    hyperparameter with more than MAX_LEVELS distinct values (one run per value would explain itself)."""
    if is_numeric(values):
        numbers = np.asarray(values, dtype=np.float64)
        distinct = np.unique(numbers)
        if len(distinct) > MAX_LEVELS:
            edges = np.quantile(numbers, np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1])
            return np.searchsorted(np.unique(edges), numbers, side="right")
        return np.searchsorted(distinct, numbers)
    labels = [repr(value) for value in values]
    index = {label: position for position, label in enumerate(sorted(set(labels)))}
    return np.array([index[label] for label in labels], dtype=np.int64)


def omega_squared(codes: np.ndarray, accuracy: np.ndarray) -> float | None:
    """The share of the accuracy's variance the group means explain, corrected for chance (one-way
    ANOVA's omega squared, clipped at 0). None when there is one group or no run shares a group."""
    codes = np.asarray(codes)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    groups = np.unique(codes)
    runs, levels = len(accuracy), len(groups)
    if levels < 2 or runs - levels < 1:
        return None
    mean = accuracy.mean()
    total = float(((accuracy - mean) ** 2).sum())
    if total <= 0:
        return 0.0  # every run scored the same: nothing to explain
    between = sum(float((codes == g).sum()) * (accuracy[codes == g].mean() - mean) ** 2 for g in groups)
    within_mean_square = (total - between) / (runs - levels)
    share = (between - (levels - 1) * within_mean_square) / (total + within_mean_square)
    return float(min(max(share, 0.0), 1.0))


def importance(table: Mapping[str, Sequence[Any]], accuracy: Sequence[float]) -> list[Importance]:
    """Per hyperparameter of `table` ({name: one value per run}), its share of the spread of `accuracy`
    (one per run, NaN = unknown: that run is left out). Most important first; those that cannot be
    told last. Hyperparameters that split the runs into the same groups are merged into one entry."""
    accuracy = np.asarray(accuracy, dtype=np.float64)
    known = np.isfinite(accuracy)
    merged: dict[tuple[int, ...], list[str]] = {}
    for name, values in table.items():
        if len(values) != len(accuracy):
            raise ValueError(f"{name} has {len(values)} values for {len(accuracy)} accuracies")
        kept = [value for value, keep in zip(values, known, strict=True) if keep]
        if not kept:
            continue
        codes = group_codes(kept)
        # The same partition whatever the numbering: relabel groups by first appearance.
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        canonical = tuple(np.argsort(np.argsort(first))[inverse].tolist())
        merged.setdefault(canonical, []).append(name)
    results = []
    for canonical, names in merged.items():
        codes = np.asarray(canonical)
        results.append(Importance(tuple(names), omega_squared(codes, accuracy[known]), len(set(canonical)), int(known.sum())))
    return sorted(results, key=lambda item: (item.share is None, -(item.share or 0.0), item.label))


def pareto_front(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Boolean mask of the non-dominated points of an (n, 2) array of (cost, accuracy): lower cost and
    higher accuracy are better. A point is dominated when another is at least as good in both and
    better in one; equal points are all kept. Points with a NaN are never on the front."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    cost, score = points[:, 0], points[:, 1]
    valid = np.isfinite(cost) & np.isfinite(score)
    front = np.zeros(len(points), dtype=bool)
    best = -np.inf
    best_cost = np.nan
    # Cheapest first, and among equal costs the most accurate first: a point is on the front when it
    # beats every cheaper one (or ties the best at the very same cost).
    for index in np.lexsort((-score, cost)):
        if not valid[index]:
            continue
        if score[index] > best:
            front[index], best, best_cost = True, score[index], cost[index]
        elif score[index] == best and cost[index] == best_cost:
            front[index] = True
    return front


def front_order(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Indices of the Pareto-front points sorted by cost (the order to draw the front's line in)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    indices = np.flatnonzero(pareto_front(points))
    return indices[np.argsort(points[indices, 0], kind="stable")]
