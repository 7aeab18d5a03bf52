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


# -- predictions, confusion matrix, errors -----------------------------------------------------


def _handmade():
    from core.evaluation import Predictions

    # 6 samples: labels 0,0,1,1,2,2 ; sample 1 wrongly 1 (0.9), sample 3 wrongly 2 (0.6), sample 5 wrongly 1 (0.5)
    probabilities = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.05, 0.9, 0.05],
            [0.2, 0.7, 0.1],
            [0.1, 0.3, 0.6],
            [0.3, 0.3, 0.4],
            [0.2, 0.5, 0.3],
        ],
        dtype=np.float32,
    )
    return Predictions(np.array([0, 0, 1, 1, 2, 2]), probabilities)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    from core.evaluation import confusion_matrix, row_normalised

    predictions = _handmade()
    matrix = confusion_matrix(predictions.labels, predictions.predicted, 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 1], [0, 1, 1]])
    np.testing.assert_allclose(row_normalised(matrix), [[0.5, 0.5, 0], [0, 0.5, 0.5], [0, 0.5, 0.5]])
    np.testing.assert_array_equal(row_normalised(np.zeros((2, 2))), np.zeros((2, 2)))


def test_misclassified_filters_and_sorts():
    from core.evaluation import misclassified

    predictions = _handmade()
    table = misclassified(predictions)
    assert list(table["index"]) == [1, 3, 5]  # most confident mistake first: 0.9, 0.6, 0.5
    assert list(misclassified(predictions, sort="index")["index"]) == [1, 3, 5]
    assert list(misclassified(predictions, true_class=1)["index"]) == [3]
    assert list(misclassified(predictions, predicted_class=1)["index"]) == [1, 5]
    assert list(misclassified(predictions, true_class=2, predicted_class=1)["index"]) == [5]
    assert misclassified(predictions, true_class=0, predicted_class=2).empty
    row = table.iloc[0]
    assert (row["true"], row["predicted"]) == (0, 1)
    assert row["confidence"] == pytest.approx(0.9) and row["true_probability"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="sort"):
        misclassified(predictions, sort="random")
    with pytest.raises(ValueError, match="true_class=7"):
        misclassified(predictions, true_class=7)


def test_correct_but_unsure_puts_the_lowest_top1_first():
    from core.evaluation import correct_but_unsure

    table = correct_but_unsure(_handmade())
    assert list(table["index"]) == [4, 2, 0]  # 0.4, 0.7, 0.8
    assert (table["true"] == table["predicted"]).all()
    assert len(correct_but_unsure(_handmade(), limit=2)) == 2


def test_per_class_metrics():
    from core.evaluation import per_class_metrics

    table = per_class_metrics(_handmade())
    assert list(table["support"]) == [2, 2, 2]
    assert list(table["recall"]) == [0.5, 0.5, 0.5]
    np.testing.assert_allclose(table["precision"], [1.0, 1 / 3, 0.5])


def test_compare_errors_fixed_and_introduced():
    from core.evaluation import Predictions, compare_errors

    first = _handmade()
    better = first.probabilities.copy()
    better[1] = [0.9, 0.05, 0.05]  # fixes sample 1
    better[0] = [0.1, 0.8, 0.1]  # breaks sample 0
    comparison = compare_errors(first, Predictions(first.labels, better))
    assert list(comparison.fixed) == [1]
    assert list(comparison.introduced) == [0]
    assert list(comparison.both_wrong) == [3, 5]
    with pytest.raises(ValueError, match="different digits"):
        compare_errors(first, Predictions(first.labels[:3], better[:3]))


def test_predictions_on_the_real_test_split_agree_with_argmax_and_are_stored_once(cnn_run, test_images, monkeypatch):
    from core import evaluation

    images, labels = test_images
    predictions = evaluation.test_predictions(TINY_CNN.key(), cnn_run.model, images, labels)
    assert predictions.probabilities.shape == (1000, 10)
    direct = np.argmax(cnn_run.model.predict_on_batch(images[:200]), axis=1)
    np.testing.assert_array_equal(predictions.predicted[:200], direct)
    matrix = evaluation.confusion_matrix(predictions.labels, predictions.predicted)
    assert matrix.sum() == 1000
    assert np.trace(matrix) == int((~predictions.wrong).sum())
    errors = evaluation.misclassified(predictions)
    assert len(errors) == matrix.sum() - np.trace(matrix)
    assert (errors["predicted"].to_numpy() == predictions.predicted[errors["index"]]).all()
    assert (errors["predicted"] != errors["true"]).all()

    # A second call reads the stored artifact: the model is never asked (nor even loaded).
    calls = []
    monkeypatch.setattr(evaluation, "predict_probabilities", lambda *a, **k: calls.append(1))
    again = evaluation.test_predictions(TINY_CNN.key(), lambda: pytest.fail("model loaded"), images, labels)
    assert calls == []
    np.testing.assert_array_equal(again.probabilities, predictions.probabilities)


def test_stored_predictions_for_other_labels_or_corrupt_files_are_recomputed(mlp_run, test_images):
    from core import evaluation

    images, labels = test_images
    key = TINY_MLP.key()
    evaluation.test_predictions(key, mlp_run.model, images, labels)
    assert evaluation.stored_predictions(key, labels) is not None
    assert evaluation.stored_predictions(key, labels[::-1]) is None
    artifact = cache.entry_path(key) / "artifacts" / "test_predictions.npz"
    artifact.write_bytes(b"not a zip file")
    assert evaluation.stored_predictions(key, labels) is None
    again = evaluation.test_predictions(key, mlp_run.model, images, labels)  # recomputed and stored again
    assert again.probabilities.shape == (1000, 10)
    assert evaluation.stored_predictions(key, labels) is not None
