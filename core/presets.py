"""The presets: the tutorials' models (MNIST) and the seed-003 lessons (toy 2-D), in one place.

MNIST presets reproduce the seed tutorials' models (their parameter counts equal the tutorials'
summaries) plus `best`, chosen on the validation split (bench/RESULTS-presets.md).

The seed-003 lessons (Takai, "Deep learning with TensorFlow", ch. 2-3) as one-click toy presets.
Each preset reproduces one picture of the tutorial on our seeded version of its data:
logistic regression on two Gaussian blobs; one hidden layer of 2 or 4 units, tanh or ReLU,
on the four blocks (three of class 0, one of class 1); two hidden layers of 2 tanh units on
the XOR quadrants. The tutorial trained full-batch with plain gradient descent for thousands of
steps; here Adam at 0.03 on mini-batches of 16 gets there in at most 200 epochs (2-30 s on 2 cores,
core.boundary.estimated_train_seconds).

What the data shows (train accuracy at the last epoch over seeds 0-4, measured on this code):
- blocks: every variant (2 or 4 units, tanh or ReLU) reaches 88-98 %; 2 tanh units do not fail,
  they draw a different shape (two soft edges, a rounded corner) than 4 ReLU units (straight
  pieces, a sharp corner). The tutorial too got 91 % with 2 tanh units.
- XOR with the tutorial's 2-2 tanh network is fragile: with seed 0 it stays at 77 % (one quadrant
  wrong) whatever the setting tried (Adam 0.01/0.03/0.1, batch 16 or full batch, SGD 0.1, 200
  epochs); full batch solves seeds 1-4 (84-93 %), batch 16 only 2 of 5. Two layers of 4 tanh
  units reach 93-96 % on all five seeds in 100 epochs (the quadrants overlap: about 90 % is the
  best a perfect boundary can do on fresh points).

Like core/config.py, this module must not import TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.config import RunConfig


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    config: RunConfig


def _preset(name: str, summary: str, **overrides: Any) -> Preset:
    return Preset(name, summary, RunConfig(**overrides))


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        _preset("base", "MLP 64-64 relu, Adam 1e-3, 10 epochs: a quick default", layers=2, units=64, epochs=10),
        _preset(
            "seed001-dnn",
            "seed 001: Keras DNN Dense 64-16-10 relu, Adam, batch 128, 50 epochs",
            arch="mlp", layers=2, units=(64, 16), activation="relu", optimizer="adam", batch_size=128, epochs=50,
        ),
        _preset(
            "seed001-cnn",
            "seed 001: Conv 64 and 128 (2x2, same) each with 2x2 max-pool, softmax head, Adam, batch 128, 20 epochs",
            arch="cnn", layers=2, units=(64, 128), kernel_size=2, dense_units=0, batch_size=128, epochs=20,
        ),
        _preset(
            "seed001-cnn-regularized",
            "seed 001: Conv 32-64-128-256 (2x2), max-pool + Dropout 0.5 after each, L2 0.01 everywhere, 30 epochs",
            arch="cnn", layers=4, units=(32, 64, 128, 256), kernel_size=2, dense_units=0, conv_dropout=0.5,
            l2=0.01, batch_size=128, epochs=30,
        ),
        _preset(
            "seed000-classic",
            "seed 000: Conv 32 5x5 -> pool -> Conv 64 5x5 -> pool -> Dense 1024 -> Dropout 0.5, Adam 1e-4, batch 50",
            arch="cnn", layers=2, units=(32, 64), kernel_size=5, dense_units=1024, dropout=0.5,
            learning_rate=1e-4, batch_size=50, epochs=15,
        ),
        _preset(
            "best",
            "best on 5k digits: Conv 32-64-128 (3x3) each with pool + dropout 0.1, Dense 128 + dropout 0.4, "
            "augmentation (shift 10 %, rotate 10 deg, zoom 10 %), Adam 1e-3 cosine to 0 over 40 epochs, batch 32, "
            "label smoothing 0.1",
            # No early stopping: on the validation split it cut the cosine schedule short (stopped at
            # epoch 22 of 30, lr still 2e-4); the last low-rate epochs are where the augmented model settles.
            # Batch 32 + conv dropout 0.1 chosen on validation (0.992 vs 0.990 for batch 64 without it).
            # No batch norm: without it validation was higher for each of seeds 0, 1, 2 (0.994/0.994/0.990
            # vs 0.992/0.990/0.986), and `train --preset best` takes 175 CPU-s instead of 280 (bench/RESULTS-presets.md).
            arch="cnn", layers=3, units=(32, 64, 128), kernel_size=3, dense_units=128, dropout=0.4, conv_dropout=0.1,
            batch_norm=False, augment=True, lr_schedule="cosine", label_smoothing=0.1, batch_size=32, epochs=40,
            early_stopping=False,
        ),
    ]
}


def preset(name: str) -> RunConfig:
    """The RunConfig of a named preset; an unknown name raises ValueError listing the names."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name].config


# -- the seed-003 toy lessons -------------------------------------------------------------



# What every lesson shares: the seed's Adam, a learning rate that converges in seconds.
_COMMON = dict(task="toy", optimizer="adam", learning_rate=0.03, batch_size=16, seed=0)

_LESSONS: list[tuple[str, str, dict]] = [
    (
        "seed003-logistic-blobs",
        "seed 003 ch.2: logistic regression (no hidden layer) on two Gaussian blobs, a straight boundary",
        dict(dataset="blobs", layers=0, n_samples=70, train_ratio=0.8, epochs=100),
    ),
    (
        "seed003-blocks-2-tanh",
        "seed 003 ch.3: 1 hidden layer, 2 tanh units on the four blocks: two soft edges, the corner is rounded off "
        "(88-98 % train over seeds 0-4, as good as 4 ReLU units: the shape differs, not the score)",
        dict(dataset="blocks", layers=1, units=2, activation="tanh", n_samples=130, train_ratio=0.8, epochs=150),
    ),
    (
        "seed003-blocks-2-relu",
        "seed 003 ch.3: 1 hidden layer, 2 ReLU units on the four blocks: two half-planes",
        dict(dataset="blocks", layers=1, units=2, activation="relu", n_samples=130, train_ratio=0.8, epochs=150),
    ),
    (
        "seed003-blocks-4-tanh",
        "seed 003 ch.3: 1 hidden layer, 4 tanh units on the four blocks: more edges wrap class 1 tighter",
        dict(dataset="blocks", layers=1, units=4, activation="tanh", n_samples=130, train_ratio=0.8, epochs=150),
    ),
    (
        "seed003-blocks-4-relu",
        "seed 003 ch.3: 1 hidden layer, 4 ReLU units on the four blocks: piecewise-straight corner around class 1 "
        "(89-98 % train over seeds 0-4)",
        dict(dataset="blocks", layers=1, units=4, activation="relu", n_samples=130, train_ratio=0.8, epochs=150),
    ),
    (
        "seed003-xor-2layer",
        "seed 003 ch.3: the tutorial's two hidden layers of 2 tanh units on the XOR quadrants, full batch like the "
        "tutorial. Fragile: with seed 0 it gets stuck with one quadrant wrong (77 %); seeds 1-4 reach 84-93 % "
        "(the tutorial: 94 %). Change the seed, or load the 4x4 lesson",
        dict(dataset="xor", layers=2, units=2, activation="tanh", n_samples=120, train_ratio=0.8, epochs=200, batch_size=128),
    ),
    (
        "seed003-xor-4x4",
        "seed 003 ch.3, made reliable: two hidden layers of 4 tanh units solve the XOR quadrants on every seed "
        "tried (93-96 % train, seeds 0-4): spare units make a bad start much less likely",
        dict(dataset="xor", layers=2, units=4, activation="tanh", n_samples=120, train_ratio=0.8, epochs=100),
    ),
]

LESSONS: list[str] = [name for name, _, _ in _LESSONS]

# The decision-boundary page's starting point (no URL parameters): XOR, two layers of 4 tanh units.
# 30 epochs (was 100: 19 s through the page's worker, although the page promised "a few seconds"):
# over seeds 0-4, 91-96 % train and 85-92 % test accuracy, the same lesson as 100 epochs (92-97 % /
# 86-95 %); about 7 s on 2 cores (core.boundary.estimated_train_seconds, bench/RESULTS-boundary.md).
# About 90 % is the best possible on fresh points: the quadrants overlap.
BOUNDARY_DEFAULTS = RunConfig(
    task="toy", dataset="xor", layers=2, units=4, activation="tanh", optimizer="adam", learning_rate=0.03,
    batch_size=16, epochs=30, n_samples=200, train_ratio=0.5,
)

for _name, _summary, _overrides in _LESSONS:
    PRESETS[_name] = Preset(_name, _summary, RunConfig(**{**_COMMON, **_overrides}))

# -- "Inside the network": the lesson pairs (MNIST) -----------------------------------------------
# Vanishing gradients: six sigmoid layers vs the same six with ReLU (plain SGD, so the optimizer does
# not rescale the tiny gradients away as Adam would). Dying units: the same ReLU net with a learning
# rate far too high. The Inside page trains each pair with one click and compares them layer by layer.
_DEEP = dict(task="mnist", arch="mlp", layers=6, units=64, optimizer="sgd", learning_rate=0.05, batch_size=64, epochs=10)
_INSIDE_LESSONS = [
    Preset("lesson-deep-sigmoid", "lesson: 6 sigmoid layers of 64, SGD 0.05: the gradient fades on its way back to the first "
           "layers (vanishing gradients), so they hardly learn", RunConfig(**{**_DEEP, "activation": "sigmoid"})),
    Preset("lesson-deep-relu", "lesson: the same 6 layers with ReLU: the gradient reaches every layer and the net learns",
           RunConfig(**{**_DEEP, "activation": "relu"})),
    # Measured (seed 0): dead units per layer 80/53/67/70/67/100 % after epoch 4, accuracy 10 %; at 0.5 the run diverges.
    Preset("lesson-relu-high-lr", "lesson: the same ReLU net at a learning rate 4x too high (SGD 0.2): most units die "
           "(never fire again) and the net stops learning", RunConfig(**{**_DEEP, "activation": "relu", "learning_rate": 0.2})),
]
for _preset_item in _INSIDE_LESSONS:
    PRESETS[_preset_item.name] = _preset_item
# (title, first preset, second preset, what to look at) of each one-click pair on the Inside page.
INSIDE_LESSON_PAIRS: list[tuple[str, str, str, str]] = [
    ("Vanishing gradients", "lesson-deep-sigmoid", "lesson-deep-relu", "gradient norm per layer"),
    ("Dying ReLUs", "lesson-deep-relu", "lesson-relu-high-lr", "dead units per layer"),
]
