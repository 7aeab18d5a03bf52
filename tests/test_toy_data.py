"""Toy 2-D datasets: shapes, labels, class shares, determinism, the seed's Gaussians, degenerate splits."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import TOY_DATASETS, RunConfig
from core.data import load_data, make_toy, toy_bounds, toy_splits


@pytest.mark.parametrize("dataset", TOY_DATASETS)
def test_every_dataset_has_the_asked_size_labels_and_both_classes(dataset):
    points, labels = make_toy(dataset, n_samples=150, noise=0.0, seed=3)
    n_classes = 3 if dataset == "three_class" else 2
    assert points.shape == (150, 2) and points.dtype == np.float32
    assert labels.shape == (150,) and labels.dtype == np.int64
    assert set(np.unique(labels)) == set(range(n_classes))
    assert np.isfinite(points).all()
    # Most points lie inside the plot window the page draws.
    x_min, x_max, y_min, y_max = toy_bounds(dataset)
    inside = (points[:, 0] >= x_min) & (points[:, 0] <= x_max) & (points[:, 1] >= y_min) & (points[:, 1] <= y_max)
    assert inside.mean() > 0.9


@pytest.mark.parametrize("dataset", TOY_DATASETS)
def test_same_seed_same_points_other_seed_other_points(dataset):
    a, la = make_toy(dataset, 80, 0.1, seed=5)
    b, lb = make_toy(dataset, 80, 0.1, seed=5)
    c, _ = make_toy(dataset, 80, 0.1, seed=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.allclose(a, c)


def test_balanced_datasets_are_balanced():
    for dataset in ("xor", "circle", "spiral", "gauss"):
        _, labels = make_toy(dataset, 200, seed=0)
        assert abs(int((labels == 0).sum()) - int((labels == 1).sum())) <= 2, dataset
    _, labels = make_toy("three_class", 300, seed=0)
    assert np.bincount(labels).tolist() == [100, 100, 100]


def test_seed_blobs_follow_the_tutorial_means_variances_and_shares():
    # seed 003: class 0 n=20 ~ N((10, 11), 20 I); class 1 n=15 ~ N((18, 20), 22 I); scaled to n_samples.
    points, labels = make_toy("blobs", n_samples=3500, seed=1)
    assert int((labels == 0).sum()) == 2000 and int((labels == 1).sum()) == 1500
    np.testing.assert_allclose(points[labels == 0].mean(axis=0), [10, 11], atol=0.4)
    np.testing.assert_allclose(points[labels == 1].mean(axis=0), [18, 20], atol=0.4)
    np.testing.assert_allclose(points[labels == 0].var(axis=0), [20, 20], rtol=0.12)
    np.testing.assert_allclose(points[labels == 1].var(axis=0), [22, 22], rtol=0.12)


def test_seed_blocks_are_three_class0_blocks_and_one_class1_block():
    # seed 003: (7,7) n15, (22,7) n15, (7,22) n10 as class 0, (20,20) n25 as class 1, var 22.
    points, labels = make_toy("blocks", n_samples=6500, seed=2)
    assert int((labels == 1).sum()) == 2500
    np.testing.assert_allclose(points[labels == 1].mean(axis=0), [20, 20], atol=0.4)
    zeros = points[labels == 0]
    # The class-0 mean is the share-weighted mean of its three blocks: (15*(7,7)+15*(22,7)+10*(7,22))/40.
    np.testing.assert_allclose(zeros.mean(axis=0), [(15 * 7 + 15 * 22 + 10 * 7) / 40, (15 * 7 + 15 * 7 + 10 * 22) / 40], atol=0.4)


def test_xor_quadrants_share_a_class_on_opposite_corners():
    points, labels = make_toy("xor", n_samples=4000, seed=0)
    same_sign = np.sign(points[:, 0]) == np.sign(points[:, 1])
    # Class 1 at (-7,-7) and (7,7), var 18: most class-1 points have same-sign coordinates.
    assert same_sign[labels == 1].mean() > 0.85
    assert (~same_sign[labels == 0]).mean() > 0.85
    np.testing.assert_allclose(np.abs(points).mean(axis=0), [7, 7], atol=0.6)


def test_noise_moves_points():
    clean, _ = make_toy("gauss", 200, noise=0.0, seed=0)
    noisy, _ = make_toy("gauss", 200, noise=0.5, seed=0)
    assert np.abs(noisy - clean).mean() > 1.0


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="unknown toy dataset"):
        make_toy("moons", 100)


def test_splits_follow_the_train_ratio_and_keep_user_points_in_training():
    config = RunConfig(task="toy", dataset="xor", n_samples=100, train_ratio=0.7, user_points=((1.0, 2.0, 1), (-3.0, 4.0, 0)))
    splits = toy_splits(config)
    assert len(splits.y_train) == 70 + 2 and len(splits.y_test) == 30
    np.testing.assert_allclose(splits.x_train[-2:], [[1, 2], [-3, 4]])
    assert splits.y_train[-2:].tolist() == [1, 0]
    # Test doubles as validation (TensorFlow Playground's "test loss").
    np.testing.assert_array_equal(splits.x_val, splits.x_test)
    assert load_data(config).sizes == splits.sizes


def test_a_split_without_a_class_raises_a_clear_error():
    # 10 blob points at 10 % training share: one training point, so a class must be missing.
    config = RunConfig(task="toy", dataset="blobs", n_samples=10, train_ratio=0.1)
    with pytest.raises(ValueError, match="has no points of class"):
        toy_splits(config)


def test_user_points_can_rescue_an_empty_class():
    config = RunConfig(task="toy", dataset="blobs", n_samples=10, train_ratio=0.1)
    with pytest.raises(ValueError):
        toy_splits(config)
    splits = toy_splits(config.replace(user_points=((5.0, 5.0, 0), (25.0, 25.0, 1))))
    assert set(splits.y_train.tolist()) == {0, 1}
