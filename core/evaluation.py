"""What a trained MNIST model gets wrong, and why: predictions, confusion matrix, errors, saliency.

Test-split predictions are computed once per cached model and stored with its entry (an
artifact), so every later visit reads ~50 KB instead of running the network. The "why" tools
(`saliency`, `feature_maps`, `filters`) work on one image and follow the seed tutorials: the
first conv layer's kernels and the activations of every conv/pool layer for the chosen digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

IMAGE_SHAPE = (28, 28)
# Layer types whose outputs are images (H, W, C) worth showing as feature maps.
_SPATIAL_LAYER_TYPES = ("Conv2D", "MaxPooling2D", "AveragePooling2D")


def _as_image_batch(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.shape != IMAGE_SHAPE:
        raise ValueError(f"expected one 28x28 image, got an array of shape {image.shape}")
    if not np.all(np.isfinite(image)):
        raise ValueError("the image contains NaN or infinite pixels")
    return image[None]


# -- why the network answered what it did -----------------------------------------------------


def saliency(model, image: np.ndarray, class_index: int | None = None, steps: int = 32) -> np.ndarray:
    """Which pixels drove the score of `class_index` (default: the predicted class), as a 28x28 map.

    Integrated gradients (Sundararajan et al., 2017) from a black image to `image`: the average
    gradient of the class probability along that straight path, times the pixel values. Only the
    positive part is kept (pixels that pushed *towards* the class), scaled so the strongest is 1.
    `image` is raw 0-255 pixels, white digit on black, like the test set.
    Returns float32 (28, 28) in [0, 1]; all zeros when nothing pushed towards the class.
    """
    import tensorflow as tf

    batch = _as_image_batch(image)
    if class_index is None:
        class_index = int(np.argmax(np.asarray(model(batch, training=False))[0]))
    n_classes = int(model.output_shape[-1])
    if not 0 <= int(class_index) < n_classes:
        raise ValueError(f"class_index={class_index} is not a class of this model (0..{n_classes - 1})")
    alphas = np.linspace(1.0 / steps, 1.0, steps, dtype=np.float32)[:, None, None]
    path = tf.constant(alphas * batch)  # (steps, 28, 28): the image faded in from black
    with tf.GradientTape() as tape:
        tape.watch(path)
        scores = model(path, training=False)[:, int(class_index)]
    gradients = tape.gradient(scores, path)
    attribution = np.asarray(tf.reduce_mean(gradients, axis=0)) * batch[0]
    attribution = np.nan_to_num(np.maximum(attribution, 0.0), nan=0.0, posinf=0.0)
    peak = float(attribution.max())
    if peak > 0:
        attribution = attribution / peak
    return attribution.astype(np.float32)


def spatial_layers(model) -> list:
    """The conv and pooling layers of a model, in order (empty for an MLP)."""
    return [layer for layer in model.layers if type(layer).__name__ in _SPATIAL_LAYER_TYPES]


def feature_maps(model, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The activations of every conv and pooling layer for one image: [(layer name, (H, W, C))].

    Conv outputs are taken before their activation layer (as Keras computes them); an MLP has
    no such layers and gives an empty list.
    """
    import keras

    layers = spatial_layers(model)
    if not layers:
        return []
    batch = _as_image_batch(image)
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs=inputs, outputs=[layer.output for layer in layers])
    outputs = probe(batch, training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [(layer.name, np.asarray(output)[0]) for layer, output in zip(layers, outputs, strict=True)]


def filters(model, layer: str | None = None) -> np.ndarray:
    """The kernels of a conv layer (default: the first one) as a (k, k, in_channels, out_channels) array.

    Raises ValueError for a model without conv layers or an unknown layer name.
    """
    convolutions = [item for item in model.layers if type(item).__name__ == "Conv2D"]
    if not convolutions:
        raise ValueError("this model has no convolutional layer (it is an MLP): there are no filters to show")
    if layer is None:
        chosen = convolutions[0]
    else:
        matches = [item for item in convolutions if item.name == layer]
        if not matches:
            names = ", ".join(item.name for item in convolutions)
            raise ValueError(f"no conv layer named {layer!r}: choose one of {names}")
        chosen = matches[0]
    return np.asarray(chosen.get_weights()[0], dtype=np.float32)


# -- predictions on the test split, once per model -------------------------------------------

PREDICTIONS_ARTIFACT = "test_predictions"
PREDICT_BATCH = 1000


@dataclass(frozen=True)
class Predictions:
    """A model's answers on a test split: true labels and the (N, n_classes) probabilities."""

    labels: np.ndarray
    probabilities: np.ndarray

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels, dtype=np.int64)
        probabilities = np.asarray(self.probabilities, dtype=np.float32)
        if probabilities.ndim != 2 or labels.shape != (len(probabilities),):
            raise ValueError(f"labels {labels.shape} and probabilities {probabilities.shape} do not match")
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "probabilities", probabilities)

    @property
    def predicted(self) -> np.ndarray:
        return np.argmax(self.probabilities, axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """The probability of the predicted class (top-1 probability)."""
        return self.probabilities.max(axis=1)

    @property
    def wrong(self) -> np.ndarray:
        return self.predicted != self.labels

    @property
    def n_classes(self) -> int:
        return int(self.probabilities.shape[1])

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def accuracy(self) -> float:
        return float(np.mean(~self.wrong)) if len(self) else float("nan")


def predict_probabilities(model, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """(N, n_classes) float32 probabilities, in batches through predict_on_batch (no per-call overhead)."""
    images = np.asarray(images, dtype=np.float32)
    chunks = [np.asarray(model.predict_on_batch(images[start : start + batch_size])) for start in range(0, len(images), batch_size)]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, int(model.output_shape[-1])), np.float32)


def stored_predictions(key: str, labels: np.ndarray | None = None) -> Predictions | None:
    """The test predictions stored with a cache entry, or None (never computed, unreadable, or for other labels)."""
    from core import cache

    arrays = cache.load_artifact(key, PREDICTIONS_ARTIFACT)
    if not arrays or "probabilities" not in arrays or "labels" not in arrays:
        return None
    try:
        stored = Predictions(arrays["labels"], arrays["probabilities"])
    except ValueError:
        return None
    if labels is not None and not np.array_equal(stored.labels, np.asarray(labels)):
        return None  # the test split changed since: these answers belong to other digits
    if not np.all(np.isfinite(stored.probabilities)):
        return None
    return stored


def test_predictions(key: str, model, images: np.ndarray, labels: np.ndarray) -> Predictions:
    """The model's predictions on (images, labels): read from its cache entry, else computed once and stored.

    `model` may be a zero-argument callable returning the model, so a cached answer never loads it.
    """
    from core import cache

    stored = stored_predictions(key, labels)
    if stored is not None:
        return stored
    if callable(model) and not hasattr(model, "predict_on_batch"):
        model = model()
    result = Predictions(labels, predict_probabilities(model, images))
    cache.store_artifact(key, PREDICTIONS_ARTIFACT, {"labels": result.labels, "probabilities": result.probabilities})
    return result


test_predictions.__test__ = False  # not a pytest test, despite its name


# -- what the errors look like ----------------------------------------------------------------


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """(n_classes, n_classes) int64 counts: row = true class, column = predicted class."""
    labels, predicted = np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    if labels.shape != predicted.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predicted.shape} differ in length")
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def row_normalised(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its total (share of each true class predicted as each class); empty rows stay 0."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def per_class_metrics(predictions: Predictions) -> pd.DataFrame:
    """One row per class: support, correct, recall (= accuracy on that class), precision, errors."""
    matrix = confusion_matrix(predictions.labels, predictions.predicted, predictions.n_classes)
    correct = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted_as = matrix.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, correct / np.maximum(support, 1), np.nan)
        precision = np.where(predicted_as > 0, correct / np.maximum(predicted_as, 1), np.nan)
    return pd.DataFrame(
        {
            "class": np.arange(predictions.n_classes),
            "support": support,
            "correct": correct,
            "errors": support - correct,
            "recall": recall,
            "precision": precision,
        }
    )


SORTS = ("confidence", "index")


def _sample_table(predictions: Predictions, indices: np.ndarray) -> pd.DataFrame:
    predicted = predictions.predicted[indices]
    return pd.DataFrame(
        {
            "index": indices.astype(np.int64),
            "true": predictions.labels[indices],
            "predicted": predicted,
            "confidence": predictions.confidence[indices].astype(np.float64),
            "true_probability": predictions.probabilities[indices, predictions.labels[indices]].astype(np.float64),
        }
    )


def misclassified(
    predictions: Predictions, true_class: int | None = None, predicted_class: int | None = None, sort: str = "confidence"
) -> pd.DataFrame:
    """The wrong test samples: columns index, true, predicted, confidence (of the wrong answer), true_probability.

    Filter by true and/or predicted class; sort "confidence" puts the most confident mistakes
    first, "index" keeps test-set order.
    """
    if sort not in SORTS:
        raise ValueError(f"sort={sort!r}: choose one of {', '.join(SORTS)}")
    for name, value in (("true_class", true_class), ("predicted_class", predicted_class)):
        if value is not None and not 0 <= int(value) < predictions.n_classes:
            raise ValueError(f"{name}={value} is not a class (0..{predictions.n_classes - 1})")
    mask = predictions.wrong.copy()
    if true_class is not None:
        mask &= predictions.labels == int(true_class)
    if predicted_class is not None:
        mask &= predictions.predicted == int(predicted_class)
    table = _sample_table(predictions, np.flatnonzero(mask))
    if sort == "confidence":
        table = table.sort_values(["confidence", "index"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)


def correct_but_unsure(predictions: Predictions, limit: int | None = None) -> pd.DataFrame:
    """Correctly classified samples with the lowest top-1 probability first (the near misses)."""
    table = _sample_table(predictions, np.flatnonzero(~predictions.wrong))
    table = table.sort_values(["confidence", "index"], kind="stable").reset_index(drop=True)
    return table if limit is None else table.head(limit)


@dataclass(frozen=True)
class ErrorComparison:
    """How a second model's errors differ from a first's on the same test digits (index arrays)."""

    fixed: np.ndarray  # wrong for the first, right for the second
    introduced: np.ndarray  # right for the first, wrong for the second
    both_wrong: np.ndarray


def compare_errors(first: Predictions, second: Predictions) -> ErrorComparison:
    """Which test errors the second model fixes and which it introduces (both on the same test split)."""
    if len(first) != len(second) or not np.array_equal(first.labels, second.labels):
        raise ValueError("the two models were tested on different digits (different datasets): they cannot be compared")
    return ErrorComparison(
        fixed=np.flatnonzero(first.wrong & ~second.wrong),
        introduced=np.flatnonzero(~first.wrong & second.wrong),
        both_wrong=np.flatnonzero(first.wrong & second.wrong),
    )
