"""core/boundary.py: grids, per-neuron grids, snapshots, live callback, lookups; the lessons' presets."""

from __future__ import annotations

import numpy as np
import pytest

from core import boundary, grids
from core.config import RunConfig
from core.data import toy_bounds, toy_splits
from core.models import build_model
from core.presets import LESSONS, PRESETS, preset
from core.training import train

BOUNDS = (-15.0, 15.0, -15.0, 15.0)


@pytest.fixture(scope="module")
def xor_run():
    config = RunConfig(task="toy", dataset="xor", layers=2, units=(3, 2), activation="tanh", n_samples=80, epochs=3, batch_size=40, learning_rate=0.03)
    return train(config)


def test_make_grid_is_row_major_with_rows_along_y():
    grid = boundary.make_grid((0, 10, -1, 1), 5)
    points = grid.points
    assert points.shape == (25, 2) and grid.shape == (5, 5)
    np.testing.assert_allclose(points[:5, 1], -1)  # first row: lowest y, x sweeping
    np.testing.assert_allclose(points[:5, 0], [0, 2.5, 5, 7.5, 10])


def test_probability_grid_shape_range_and_sum(xor_run):
    grid = boundary.probability_grid(xor_run.model, BOUNDS, 50)
    assert grid.shape == (50, 50, 2) and grid.dtype == np.float32
    assert (grid >= 0).all() and (grid <= 1).all()
    np.testing.assert_allclose(grid.sum(axis=-1), 1.0, atol=1e-5)


def test_probability_grid_matches_the_model_at_a_grid_point(xor_run):
    grid = boundary.probability_grid(xor_run.model, BOUNDS, 31)
    # Row 0 = y_min, column 30 = x_max.
    expected = boundary.point_probabilities(xor_run.model, np.array([[15.0, -15.0]]))[0]
    np.testing.assert_allclose(grid[0, 30], expected, atol=1e-5)


def test_three_classes_give_three_channels():
    config = RunConfig(task="toy", dataset="three_class", layers=1, units=4, n_samples=60, epochs=1)
    model = build_model(config, toy_splits(config).x_train)
    grid = boundary.probability_grid(model, toy_bounds("three_class"), 20)
    assert grid.shape == (20, 20, 3)
    np.testing.assert_allclose(grid.sum(axis=-1), 1.0, atol=1e-5)


def test_neuron_grids_one_array_per_hidden_layer(xor_run):
    grids = boundary.neuron_grids(xor_run.model, BOUNDS, 24)
    assert [g.shape for g in grids] == [(24, 24, 3), (24, 24, 2)]
    # tanh units live in [-1, 1] and are not constant over the plane.
    for grid in grids:
        assert np.abs(grid).max() <= 1.0 + 1e-6
        assert grid.std() > 0


def test_neuron_grids_match_the_first_layer_by_hand(xor_run):
    model = xor_run.model
    grids = boundary.neuron_grids(model, BOUNDS, 9)
    points = boundary.make_grid(BOUNDS, 9).points
    normalise = model.get_layer("normalise")
    dense = model.get_layer("dense_1")
    scaled = (points - np.asarray(normalise.mean).reshape(1, 2)) / np.sqrt(np.asarray(normalise.variance).reshape(1, 2))
    kernel, bias = (np.asarray(w) for w in dense.get_weights())
    by_hand = np.tanh(scaled @ kernel + bias).reshape(9, 9, -1)
    np.testing.assert_allclose(grids[0], by_hand, atol=1e-4)


def test_logistic_regression_has_no_neuron_grids():
    config = RunConfig(task="toy", dataset="gauss", layers=0, n_samples=40, epochs=1)
    model = build_model(config, toy_splits(config).x_train)
    assert boundary.neuron_grids(model, BOUNDS, 10) == []


def test_snapshot_epochs_every_epoch_or_every_kth_with_the_last():
    assert boundary.snapshot_epochs(5) == [1, 2, 3, 4, 5]
    chosen = boundary.snapshot_epochs(250, limit=100)
    assert chosen[0] == 3 and chosen[-1] == 250 and len(chosen) <= 101


def test_training_records_one_snapshot_per_epoch(xor_run):
    arrays = xor_run.arrays
    assert arrays["snapshot_epochs"].tolist() == [1, 2, 3]
    assert arrays["snapshots"].shape == (3, boundary.SNAPSHOT_RESOLUTION, boundary.SNAPSHOT_RESOLUTION, 2)
    assert arrays["snapshots"].dtype == np.float16
    # The last snapshot is the final model's grid (up to float16 rounding).
    final = boundary.probability_grid(xor_run.model, toy_bounds("xor"), boundary.SNAPSHOT_RESOLUTION)
    np.testing.assert_allclose(arrays["snapshots"][-1].astype(np.float32), final, atol=2e-3)
    np.testing.assert_allclose(boundary.final_snapshot(arrays), final, atol=2e-3)
    assert boundary.final_snapshot({}) is None


def test_live_boundary_calls_back_every_k_epochs_and_at_the_end():
    config = RunConfig(task="toy", dataset="gauss", layers=1, units=2, n_samples=40, epochs=5, batch_size=40)
    seen = []
    live = boundary.LiveBoundary(config, lambda epoch, grid, logs: seen.append((epoch, grid.shape, "loss" in logs)), every=2, resolution=12)
    train(config, extra_callbacks=[live])
    assert [s[0] for s in seen] == [1, 2, 4, 5]
    assert all(shape == (12, 12, 2) and has_loss for _, shape, has_loss in seen)
    assert boundary.live_every(100) == 5 and boundary.live_every(3) == 1


def test_grid_lookup_reads_the_nearest_cell():
    probabilities = np.zeros((3, 3, 2), dtype=np.float32)
    probabilities[..., 0] = 1
    probabilities[2, 0] = [0.2, 0.8]  # top-left: x_min, y_max
    looked_up = boundary.grid_lookup(probabilities, (0, 2, 0, 2), np.array([[0.1, 1.9], [2, 0], [-5, 9]]))
    np.testing.assert_allclose(looked_up, [[0.2, 0.8], [1, 0], [0.2, 0.8]])


def test_architecture_grid_rows_are_layers_columns_units():
    base = RunConfig(task="toy", dataset="xor", layers=2, units=4, activation="tanh")
    grid = grids.layers_by_units(base, [0, 1, 3], [2, 8])
    assert [[(c.layers, c.units_per_layer()) for c in row] for row in grid] == [
        [(0, ()), (0, ())], [(1, (2,)), (1, (8,))], [(3, (2, 2, 2)), (3, (8, 8, 8))]
    ]
    # Logistic regression does not depend on the width: one model for the whole row.
    assert grid[0][0].key() == grid[0][1].key()
    assert all(c.activation_per_layer() in ((), ("tanh",) * c.layers) for row in grid for c in row)


def test_logistic_regression_separates_separable_blobs():
    # Two well separated Gaussians (gauss): logistic regression reaches >= 95 % training accuracy.
    config = RunConfig(task="toy", dataset="gauss", layers=0, n_samples=120, epochs=30, batch_size=16, learning_rate=0.03)
    run = train(config)
    assert run.meta["train_accuracy"] >= 0.95


def test_the_seed003_lessons_are_registered_presets():
    assert LESSONS == [
        "seed003-logistic-blobs", "seed003-blocks-2-tanh", "seed003-blocks-2-relu",
        "seed003-blocks-4-tanh", "seed003-blocks-4-relu", "seed003-xor-2layer", "seed003-xor-4x4",
    ]
    for name in LESSONS:
        config = preset(name)
        assert name in PRESETS and config.task == "toy"
        assert config.epochs <= 200
    assert preset("seed003-logistic-blobs").layers == 0 and preset("seed003-logistic-blobs").dataset == "blobs"
    assert preset("seed003-blocks-2-tanh").units_per_layer() == (2,) and preset("seed003-blocks-2-tanh").activation == "tanh"
    assert preset("seed003-blocks-4-relu").units_per_layer() == (4,) and preset("seed003-blocks-4-relu").activation == "relu"
    assert preset("seed003-xor-2layer").units_per_layer() == (2, 2)
    assert preset("seed003-xor-2layer").batch_size >= 96  # full batch (96 training points), like the tutorial
    assert preset("seed003-xor-4x4").units_per_layer() == (4, 4) and preset("seed003-xor-4x4").dataset == "xor"


def test_lessons_are_visible_to_the_command_line():
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    listing = subprocess.run([sys.executable, "-m", "core", "presets"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    for name in LESSONS:
        assert name in listing.stdout


# -- why a run ended low ------------------------------------------------------------------------

SPIRAL = RunConfig(task="toy", dataset="spiral", layers=2, units=4, activation="tanh", batch_size=16, epochs=30, n_samples=200, train_ratio=0.5)


def test_a_good_run_needs_no_explanation():
    assert boundary.diagnose(SPIRAL, {"accuracy": [0.5, 0.8, 0.95]}) is None
    assert boundary.diagnose(SPIRAL, {}) is None


def test_a_low_flat_curve_is_too_little_capacity_and_the_fix_is_a_bigger_network():
    history = {"accuracy": [0.5] * 5 + [0.70, 0.71, 0.70, 0.71, 0.71] * 5}  # the spiral: 71 %, flat
    diagnosis = boundary.diagnose(SPIRAL, history)
    assert "71 %" in diagnosis.reason.replace("71%", "71 %") and "capacity" in diagnosis.reason
    assert diagnosis.fix.layers == 3 and diagnosis.fix.units == 16 and diagnosis.fix.epochs == 100
    assert diagnosis.fix.dataset == "spiral" and diagnosis.fix.seed == SPIRAL.seed  # the same data
    assert "3 layers of 16 units" in diagnosis.fix_label


def test_a_low_rising_curve_is_too_few_epochs_and_the_fix_is_more_epochs():
    history = {"accuracy": list(np.linspace(0.4, 0.75, 30))}  # still climbing at the end
    diagnosis = boundary.diagnose(SPIRAL, history)
    assert "still rising" in diagnosis.reason and "epochs" in diagnosis.reason
    assert diagnosis.fix == SPIRAL.replace(epochs=90)
    # Already at the form's most epochs: more epochs is no fix, so it says capacity instead.
    assert "capacity" in boundary.diagnose(SPIRAL.replace(epochs=200), {"accuracy": list(np.linspace(0.4, 0.75, 200))}).reason


def test_the_train_time_estimate_grows_with_epochs_and_batches():
    short = boundary.estimated_train_seconds(SPIRAL, 100)
    assert boundary.estimated_train_seconds(SPIRAL.replace(epochs=90), 100) > 2 * short
    assert boundary.estimated_train_seconds(SPIRAL, 1000) > short
    assert boundary.estimated_train_seconds(SPIRAL.replace(batch_size=100), 100) < short


def test_a_short_low_run_is_too_few_epochs_whatever_its_last_epochs_did():
    diagnosis = boundary.diagnose(SPIRAL.replace(epochs=6), {"accuracy": [0.5, 0.45, 0.47, 0.40, 0.47, 0.40]})
    assert "too few epochs" in diagnosis.reason and "capacity" not in diagnosis.reason
    assert diagnosis.fix == SPIRAL.replace(epochs=40)
