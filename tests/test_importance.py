"""core/importance.py on known inputs: the Pareto front of a hand-made set, and importance that finds
the knob that changes accuracy and gives ~0 to one that does not."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import RunConfig
from core.importance import (
    front_order,
    group_codes,
    hyperparameter_table,
    hyperparameter_value,
    importance,
    omega_squared,
    pareto_front,
)


def test_pareto_front_of_a_hand_made_set():
    # (parameters, accuracy): cheaper and more accurate is better.
    points = [
        (100, 0.80),   # 0 front: the cheapest
        (200, 0.90),   # 1 front
        (300, 0.85),   # 2 dominated by 1 (dearer and worse)
        (400, 0.95),   # 3 front: the most accurate
        (500, 0.95),   # 4 dominated by 3 (same accuracy, dearer)
        (150, 0.70),   # 5 dominated by 0
        (400, 0.95),   # 6 equal to 3: kept too
        (50, float("nan")),  # 7 unknown accuracy: never on the front
    ]
    assert np.flatnonzero(pareto_front(points)).tolist() == [0, 1, 3, 6]
    assert front_order(points).tolist() == [0, 1, 3, 6]


def test_pareto_front_edge_cases():
    assert pareto_front(np.empty((0, 2))).tolist() == []
    assert pareto_front([(1, 0.5)]).tolist() == [True]
    # One point best in both: it dominates every other.
    assert np.flatnonzero(pareto_front([(5, 0.9), (1, 0.99), (3, 0.5)])).tolist() == [1]
    assert front_order([(3, 0.9), (1, 0.5), (2, 0.7)]).tolist() == [1, 2, 0]  # drawn cheapest first


def test_a_knob_that_changes_accuracy_matters_and_one_that_does_not_is_about_zero():
    rng = np.random.default_rng(0)
    layers = np.repeat([1, 2, 3], 8)
    seed = np.tile(np.arange(8), 3)  # crossed with layers: a full grid
    accuracy = 0.85 + 0.04 * layers + rng.normal(0, 0.003, len(layers))
    results = {item.label: item for item in importance({"layers": layers.tolist(), "seed": seed.tolist()}, accuracy)}
    assert results["layers"].share > 0.9
    assert results["seed"].share == pytest.approx(0.0, abs=0.02)
    assert [item.label for item in importance({"layers": layers.tolist(), "seed": seed.tolist()}, accuracy)][0] == "layers"


def test_a_constant_accuracy_explains_nothing_and_one_run_per_value_cannot_be_told():
    assert omega_squared(np.array([0, 0, 1, 1]), np.full(4, 0.9)) == 0.0
    assert omega_squared(np.array([0, 1, 2]), np.array([0.1, 0.5, 0.9])) is None  # no run shares a value
    assert omega_squared(np.zeros(5, dtype=int), np.linspace(0.5, 0.9, 5)) is None  # a single group


def test_knobs_that_always_changed_together_are_one_entry_and_unknown_accuracies_are_left_out():
    arch = ["mlp"] * 4 + ["cnn"] * 4
    kernel = [3] * 4 + [5] * 4  # the same split of the runs as arch
    accuracy = [0.90, 0.91, 0.90, 0.91, 0.98, 0.99, 0.98, float("nan")]
    results = importance({"arch": arch, "kernel_size": kernel}, accuracy)
    assert len(results) == 1 and results[0].names == ("arch", "kernel_size") and results[0].label == "arch = kernel_size"
    assert results[0].runs == 7 and results[0].share > 0.9
    with pytest.raises(ValueError, match="values for"):
        importance({"arch": arch[:3]}, accuracy)


def test_many_numeric_values_are_binned_and_booleans_stay_categories():
    codes = group_codes([1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2])  # 8 learning rates > MAX_LEVELS
    assert len(set(codes.tolist())) == 4 and codes.tolist() == sorted(codes.tolist())
    assert group_codes([True, False, True]).tolist() == [1, 0, 1]
    assert group_codes([1, 2, 1]).tolist() == [0, 1, 0]


def test_the_table_keeps_only_what_varies_and_reads_values_as_a_student_names_them():
    configs = [RunConfig(layers=2, units=(64, 16)), RunConfig(layers=2, units=32, train_size=500), RunConfig(layers=2, units=32)]
    table = hyperparameter_table(configs)
    assert table == {"units": ["64-16", 32, 32], "train_size": [3500, 500, 3500]}
    assert hyperparameter_value(RunConfig(arch="cnn", layers=2, units=(16, 32)), "units") == "16-32"
