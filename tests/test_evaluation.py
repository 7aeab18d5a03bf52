"""core/evaluation.py: predictions cached with the entry, confusion matrix, errors, saliency, feature maps."""

from __future__ import annotations

import numpy as np
import pytest

from core import cache
from core.config import RunConfig

TINY_MLP = RunConfig(arch="mlp", layers=1, units=16, epochs=1, batch_size=256)
TINY_CNN = RunConfig(arch="cnn", layers=2, units=4, epochs=1, batch_size=256)


@pytest.fixture(scope="module")
def mlp_run():
    # Trained into the session cache (conftest points NEURAL_LAB_CACHE_DIR at a temp folder).
    return cache.get_or_train(TINY_MLP)


@pytest.fixture(scope="module")
def cnn_run():
    return cache.get_or_train(TINY_CNN)


@pytest.fixture(scope="module")
def test_images():
    from core.data import load_mnist

    splits = load_mnist("embedded")
    return splits.x_test, splits.y_test


# -- saliency, feature maps, filters (also used by the Draw page) ------------------------------


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_saliency_is_a_finite_normalised_28x28_map(which, mlp_run, cnn_run, test_images):
    from core.evaluation import saliency

    model = (mlp_run if which == "mlp" else cnn_run).model
    image = test_images[0][0]
    result = saliency(model, image)
    assert result.shape == (28, 28)
    assert result.dtype == np.float32
    assert np.all(np.isfinite(result))
    assert result.min() >= 0.0
    assert result.max() == pytest.approx(1.0)


def test_saliency_lights_only_inked_pixels_and_depends_on_the_class(mlp_run, test_images):
    from core.evaluation import saliency

    image = test_images[0][0]
    # gradient x input: a black pixel (0) can never be credited.
    maps = [saliency(mlp_run.model, image, class_index=c) for c in range(10)]
    for item in maps:
        assert np.all(item[image == 0] == 0)
    assert not np.allclose(maps[0], maps[1])


def test_saliency_rejects_bad_input(mlp_run):
    from core.evaluation import saliency

    with pytest.raises(ValueError, match="28x28"):
        saliency(mlp_run.model, np.zeros((20, 20)))
    with pytest.raises(ValueError, match="class_index"):
        saliency(mlp_run.model, np.zeros((28, 28)), class_index=10)
    with pytest.raises(ValueError, match="NaN"):
        saliency(mlp_run.model, np.full((28, 28), np.nan))


def test_saliency_of_a_blank_image_is_all_zero(mlp_run):
    from core.evaluation import saliency

    assert not saliency(mlp_run.model, np.zeros((28, 28))).any()


def test_feature_maps_of_a_loaded_cnn_have_one_entry_per_conv_and_pool_layer(cnn_run, test_images):
    from core.evaluation import feature_maps

    loaded = cache.load(TINY_CNN)  # a model read back from disk, as the pages get it
    assert loaded is not None and loaded.cached
    maps = feature_maps(loaded.model, test_images[0][3])
    assert [name for name, _ in maps] == ["conv_1", "pool_1", "conv_2", "pool_2"]
    shapes = [array.shape for _, array in maps]
    assert shapes == [(28, 28, 4), (14, 14, 4), (14, 14, 4), (7, 7, 4)]
    assert all(np.all(np.isfinite(array)) for _, array in maps)
    # pool_1 really is the max-pool of the activated conv_1 output (relu, then 2x2 max).
    activated = np.maximum(maps[0][1], 0)
    pooled = activated.reshape(14, 2, 14, 2, 4).max(axis=(1, 3))
    np.testing.assert_allclose(maps[1][1], pooled, rtol=1e-5, atol=1e-5)


def test_feature_maps_of_an_mlp_are_empty(mlp_run, test_images):
    from core.evaluation import feature_maps

    assert feature_maps(mlp_run.model, test_images[0][0]) == []


def test_filters_are_the_first_conv_kernels(cnn_run):
    from core.evaluation import filters

    first = filters(cnn_run.model)
    assert first.shape == (3, 3, 1, 4)
    second = filters(cnn_run.model, "conv_2")
    assert second.shape == (3, 3, 4, 4)
    np.testing.assert_array_equal(first, cnn_run.model.get_layer("conv_1").get_weights()[0])


def test_filters_explain_what_is_missing(mlp_run, cnn_run):
    from core.evaluation import filters

    with pytest.raises(ValueError, match="no convolutional layer"):
        filters(mlp_run.model)
    with pytest.raises(ValueError, match="conv_1, conv_2"):
        filters(cnn_run.model, "dense_9")
