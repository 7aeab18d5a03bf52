"""The seed-003 lessons (Takai, "Deep learning with TensorFlow", ch. 2-3) as one-click toy presets.

Each preset reproduces one picture of the tutorial on our seeded version of its data:
logistic regression on two Gaussian blobs; one hidden layer of 2 or 4 units, tanh or ReLU,
on the four blocks (three of class 0, one of class 1); two hidden layers of 2 tanh units on
the XOR quadrants. The tutorial trained full-batch with plain gradient descent for thousands of
steps; here Adam at 0.03 on mini-batches of 16 gets there in at most 200 epochs (a few seconds).

Imported at the bottom of core/config.py, so every user of `PRESETS` (CLI, pages) sees them.
Like core/config.py, this module must not import TensorFlow.
"""

from __future__ import annotations

from core.config import RunConfig, register_preset

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
        "seed 003 ch.3: 1 hidden layer, 2 tanh units on the four blocks: two soft edges, the corner is rounded off",
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
        "seed 003 ch.3: 1 hidden layer, 4 ReLU units on the four blocks: piecewise-straight corner around class 1",
        dict(dataset="blocks", layers=1, units=4, activation="relu", n_samples=130, train_ratio=0.8, epochs=150),
    ),
    (
        "seed003-xor-2layer",
        "seed 003 ch.3: two hidden layers of 2 tanh units solve the XOR quadrants a single layer cannot",
        dict(dataset="xor", layers=2, units=2, activation="tanh", n_samples=120, train_ratio=0.8, epochs=200),
    ),
]

LESSONS: list[str] = [name for name, _, _ in _LESSONS]

for _name, _summary, _overrides in _LESSONS:
    register_preset(_name, _summary, RunConfig(**{**_COMMON, **_overrides}))
