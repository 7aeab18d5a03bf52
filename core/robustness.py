"""How robust is a trained MNIST model? Perturb the test digits and watch the accuracy fall.

Seven perturbations with a strength each (Gaussian noise, rotation, shift, scaling, stroke thickness,
an occluding patch, and FGSM, the one-step adversarial attack of Goodfellow et al., 2015). Every
perturbation at strength 0 returns the images unchanged. An accuracy-vs-strength curve runs the model
once per strength on the whole test split through `predict_on_batch` (no per-call overhead), and is
stored with the model's cache entry as an artifact, so each (model, perturbation) is computed once.

Images follow the models' contract: float (N, 28, 28), raw 0-255 pixels, white digit on black.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.evaluation import predict_probabilities

WHITE = 255.0
IMAGE_SHAPE = (28, 28)
FGSM_BATCH = 500  # images per gradient pass: one GradientTape call each
ARTIFACT_PREFIX = "robustness_"


@dataclass(frozen=True)
class Perturbation:
    """One way to damage a digit: its URL name, label, unit, the curve's strengths and the slider's range."""

    name: str
    label: str
    unit: str
    strengths: tuple[float, ...]  # the curve's points, ascending; 0 (the identity) among them
    default: float  # where the gallery's slider starts
    step: float  # the slider's step
    explanation: str  # one sentence for a student: what the strength means
    template: str  # a strength in a sentence, e.g. "{:g}°" -> "30°"

    def describe(self, strength: float) -> str:
        """A strength as a sentence says it: '30°', 'σ = 0.3', '−30 %'."""
        return re.sub(r"-(?=\d)", "−", self.template.format(float(strength)))

    @property
    def in_sentence(self) -> str:
        """The label inside a sentence: 'rotation', but 'FGSM attack'."""
        return self.label if self.label[:2].isupper() else self.label[0].lower() + self.label[1:]

    @property
    def minimum(self) -> float:
        return float(self.strengths[0])

    @property
    def maximum(self) -> float:
        return float(self.strengths[-1])

    def check(self, strength: float) -> float:
        """The strength as a float; ValueError naming the range when it is outside it (or not a number)."""
        try:
            value = float(strength)
        except (TypeError, ValueError):
            raise ValueError(f"{self.label} strength must be a number; got {strength!r}") from None
        if not np.isfinite(value) or not self.minimum <= value <= self.maximum:
            raise ValueError(f"{self.label} strength must be between {self.minimum:g} and {self.maximum:g} {self.unit}; got {strength!r}")
        return value


PERTURBATIONS: dict[str, Perturbation] = {item.name: item for item in (
    Perturbation("noise", "Gaussian noise", "σ (share of full white)", (0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6), 0.3, 0.01,
                 "Random grain added to every pixel; σ = 0.3 means a typical pixel moves by 30 % of full white.",
                 "σ = {:g}"),
    Perturbation("rotation", "Rotation", "degrees", (0, 10, 20, 30, 40, 50, 60, 70, 80), 30, 1,
                 "The digit turned anticlockwise about the image centre.",
                 "{:g}°"),
    Perturbation("shift", "Shift", "pixels", (0, 1, 2, 3, 4, 5, 6, 7, 8), 3, 1,
                 "The digit moved to the right; what leaves the 28x28 frame is lost.",
                 "{:g} px"),
    Perturbation("scale", "Scaling", "% of the size", (-40, -30, -20, -10, 0, 10, 20, 30, 40), -30, 5,
                 "The digit shrunk (−) or enlarged (+) about the image centre.",
                 "{:+g} %"),
    Perturbation("thickness", "Stroke thickness", "pixels (− thinner, + thicker)", (-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2), 1, 0.25,
                 "The pen stroke eroded (−) or dilated (+) by whole pixels, blended in between.",
                 "{:+g} px"),
    Perturbation("occlusion", "Occlusion patch", "pixels (side of a black square)", (0, 2, 4, 6, 8, 10, 12, 14, 16), 8, 1,
                 "A black square over the centre of the image, where MNIST puts the digit's centre of mass.",
                 "{:g} px"),
    Perturbation("fgsm", "FGSM attack", "ε (share of full white)", (0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3), 0.1, 0.01,
                 "Every pixel nudged by ε in the direction that raises this model's loss the most (one gradient step): "
                 "each model is attacked with its own gradient.",
                 "ε = {:g}"),
)}


def perturbation(name: str) -> Perturbation:
    """The Perturbation called `name`; ValueError listing the known names otherwise."""
    try:
        return PERTURBATIONS[name]
    except KeyError:
        raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}") from None


def _as_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"expected MNIST images of shape (N, 28, 28); got {images.shape}: these labs are for MNIST models")
    return images


# -- the perturbations (pure numpy / scipy; FGSM needs the model) ------------------------------


def gaussian_noise(images: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Images plus N(0, (sigma * 255)^2) noise, clipped to 0-255. The same seed gives the same grain at every sigma."""
    noise = np.random.default_rng(seed).standard_normal(images.shape, dtype=np.float32)
    return np.clip(images + noise * np.float32(sigma * WHITE), 0.0, WHITE)


def rotate(images: np.ndarray, degrees: float) -> np.ndarray:
    """Each image turned anticlockwise by `degrees` about its centre (bilinear; corners filled black)."""
    from scipy import ndimage

    return np.clip(ndimage.rotate(images, degrees, axes=(2, 1), reshape=False, order=1, mode="constant", cval=0.0), 0.0, WHITE)


def shift(images: np.ndarray, pixels: float) -> np.ndarray:
    """Each image moved right by `pixels` (fractions interpolated); what leaves the frame is lost, black comes in."""
    from scipy import ndimage

    if float(pixels).is_integer():  # whole pixels: an exact copy, no interpolation blur
        moved = np.zeros_like(images)
        step = int(pixels)
        moved[:, :, step:] = images[:, :, : images.shape[2] - step]
        return moved
    return np.clip(ndimage.shift(images, (0, 0, pixels), order=1, mode="constant", cval=0.0), 0.0, WHITE)


def scale(images: np.ndarray, percent: float) -> np.ndarray:
    """Each image shrunk (negative `percent`) or enlarged about its centre (bilinear)."""
    from scipy import ndimage

    factor = 1.0 + percent / 100.0
    centre = (np.array(IMAGE_SHAPE, dtype=np.float64) - 1) / 2
    # affine_transform maps each output pixel o to the input pixel matrix @ o + offset.
    matrix = np.array([1.0, 1.0 / factor, 1.0 / factor])
    offset = np.concatenate([[0.0], centre - centre / factor])
    return np.clip(ndimage.affine_transform(images, matrix, offset=offset, order=1, mode="constant", cval=0.0), 0.0, WHITE)


def thickness(images: np.ndarray, pixels: float) -> np.ndarray:
    """Strokes dilated (positive) or eroded (negative) by `pixels` steps of a 3x3 cross; fractions blend two steps."""
    from scipy import ndimage

    cross = np.zeros((1, 3, 3), dtype=bool)
    cross[0, 1, :] = cross[0, :, 1] = True
    operation = ndimage.grey_dilation if pixels > 0 else ndimage.grey_erosion
    whole, fraction = divmod(abs(float(pixels)), 1.0)
    lower = images
    for _ in range(int(whole)):
        lower = operation(lower, footprint=cross, mode="constant", cval=0.0)
    if fraction == 0:
        return lower
    upper = operation(lower, footprint=cross, mode="constant", cval=0.0)
    return (1.0 - fraction) * lower + fraction * upper


def occlude(images: np.ndarray, side: float) -> np.ndarray:
    """A black square of `side` pixels (rounded) over the centre of each image."""
    size = int(round(side))
    occluded = images.copy()
    if size > 0:
        top = (IMAGE_SHAPE[0] - size) // 2
        left = (IMAGE_SHAPE[1] - size) // 2
        occluded[:, top : top + size, left : left + size] = 0.0
    return occluded


def fgsm_direction(model, images: np.ndarray, labels: np.ndarray, batch_size: int = FGSM_BATCH) -> np.ndarray:
    """The sign of the gradient of the model's loss with respect to each pixel ({-1, 0, 1}, float32 (N, 28, 28)).

    One tf.GradientTape pass per batch of `batch_size` images. FGSM at any ε is then
    clip(images + ε * 255 * direction): the direction does not depend on ε, so a curve needs one pass.
    """
    import tensorflow as tf

    images = _as_images(images)
    labels = np.asarray(labels)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    directions = []
    for start in range(0, len(images), batch_size):
        batch = tf.constant(images[start : start + batch_size])
        with tf.GradientTape() as tape:
            tape.watch(batch)
            probabilities = model(batch, training=False)
            loss = tf.keras.losses.sparse_categorical_crossentropy(labels[start : start + batch_size], probabilities)
        directions.append(np.sign(np.asarray(tape.gradient(loss, batch), dtype=np.float32)))
    return np.concatenate(directions) if directions else np.zeros_like(images)


def fgsm(images: np.ndarray, epsilon: float, direction: np.ndarray) -> np.ndarray:
    """The FGSM images: every pixel moved by epsilon * 255 along `direction` (from fgsm_direction), clipped to 0-255."""
    return np.clip(images + np.float32(epsilon * WHITE) * direction, 0.0, WHITE)


_IMAGE_ONLY: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "noise": gaussian_noise, "rotation": rotate, "shift": shift, "scale": scale, "thickness": thickness, "occlusion": occlude,
}


def perturb(images: np.ndarray, name: str, strength: float, model=None, labels: np.ndarray | None = None,
            direction: np.ndarray | None = None) -> np.ndarray:
    """The images damaged by perturbation `name` at `strength` (float32 (N, 28, 28), 0-255).

    Strength 0 returns an unchanged copy, for every perturbation. FGSM needs the model and the true
    labels (or a `direction` already computed by fgsm_direction). ValueError for an unknown name, a
    strength outside the perturbation's range, or images that are not MNIST-shaped.
    """
    kind = perturbation(name)
    value = kind.check(strength)
    images = _as_images(images)
    if value == 0:
        return images.copy()
    if name != "fgsm":
        return _IMAGE_ONLY[name](images, value).astype(np.float32)
    if direction is None:
        if model is None or labels is None:
            raise ValueError("the FGSM attack needs the model and the true labels")
        direction = fgsm_direction(model, images, labels)
    return fgsm(images, value, direction)


# -- accuracy vs strength ---------------------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    """A model's test accuracy at each strength of one perturbation."""

    perturbation: str
    strengths: np.ndarray  # float, ascending
    accuracy: np.ndarray  # float in [0, 1], one per strength

    def at(self, strength: float) -> float:
        """The accuracy at `strength`, read off the curve (linear between measured strengths)."""
        return float(np.interp(float(strength), self.strengths, self.accuracy))

    @property
    def score(self) -> float:
        """The mean accuracy over the strength range (area under the curve / its width): one number to rank models by."""
        width = float(self.strengths[-1] - self.strengths[0])
        if width <= 0:
            return float(self.accuracy.mean())
        area = np.sum((self.accuracy[1:] + self.accuracy[:-1]) / 2 * np.diff(self.strengths))
        return float(area / width)


def accuracy_curve(model, images: np.ndarray, labels: np.ndarray, name: str,
                   progress: Callable[[float], None] | None = None) -> Curve:
    """The model's accuracy on `images` damaged by perturbation `name` at each of its strengths.

    One predict_on_batch pass per strength (1,000-image batches); FGSM adds one gradient pass.
    `progress`, if given, is called with the share done (0-1) after each strength.
    """
    kind = perturbation(name)
    images = _as_images(images)
    labels = np.asarray(labels)
    direction = fgsm_direction(model, images, labels) if name == "fgsm" else None
    accuracy = []
    for done, strength in enumerate(kind.strengths, start=1):
        damaged = perturb(images, name, strength, direction=direction)
        predicted = np.argmax(predict_probabilities(model, damaged), axis=1)
        accuracy.append(float(np.mean(predicted == labels)) if len(labels) else float("nan"))
        if progress is not None:
            progress(done / len(kind.strengths))
    return Curve(name, np.asarray(kind.strengths, dtype=np.float64), np.asarray(accuracy, dtype=np.float64))


def stored_curve(key: str, name: str, labels: np.ndarray) -> Curve | None:
    """The curve stored with a cache entry, or None (never computed, unreadable, for other strengths or other test digits)."""
    from core import cache

    kind = perturbation(name)
    arrays = cache.load_artifact(key, ARTIFACT_PREFIX + name)
    if not arrays or not {"strengths", "accuracy", "labels"} <= set(arrays):
        return None
    strengths, accuracy = np.asarray(arrays["strengths"], dtype=np.float64), np.asarray(arrays["accuracy"], dtype=np.float64)
    if strengths.shape != (len(kind.strengths),) or not np.allclose(strengths, kind.strengths) or accuracy.shape != strengths.shape:
        return None  # the perturbation's strengths changed since
    if not np.array_equal(arrays["labels"], np.asarray(labels)) or not np.all((accuracy >= 0) & (accuracy <= 1)):
        return None
    return Curve(name, strengths, accuracy)


def curve(key: str, model, images: np.ndarray, labels: np.ndarray, name: str,
          progress: Callable[[float], None] | None = None) -> Curve:
    """The model's curve for perturbation `name`: read from its cache entry, else computed once and stored.

    `model` may be a zero-argument callable returning the model, so a stored curve never loads it.
    """
    from core import cache

    stored = stored_curve(key, name, labels)
    if stored is not None:
        return stored
    if callable(model) and not hasattr(model, "predict_on_batch"):
        model = model()
    result = accuracy_curve(model, images, labels, name, progress)
    cache.store_artifact(key, ARTIFACT_PREFIX + name, {"strengths": result.strengths, "accuracy": result.accuracy,
                                                       "labels": np.asarray(labels)})
    return result


@dataclass(frozen=True)
class Ranking:
    """Which model held up best under one perturbation, and by how much (mean accuracy over the strengths)."""

    best: str
    best_score: float
    runner_up: str | None
    runner_up_score: float | None

    @property
    def margin(self) -> float | None:
        """How many accuracy points (0-1) the best model keeps above the runner-up, on average."""
        return None if self.runner_up_score is None else self.best_score - self.runner_up_score


def rank(curves: dict[str, Curve]) -> Ranking:
    """The most robust of several models' curves (by mean accuracy over the strengths) and the next one."""
    if not curves:
        raise ValueError("no curves to rank")
    ordered = sorted(curves.items(), key=lambda item: item[1].score, reverse=True)
    best, best_curve = ordered[0]
    if len(ordered) == 1:
        return Ranking(best, best_curve.score, None, None)
    runner_up, runner_up_curve = ordered[1]
    return Ranking(best, best_curve.score, runner_up, runner_up_curve.score)


def gallery_indices(labels: np.ndarray) -> np.ndarray:
    """One test digit per class (the first of each), in class order: the gallery shows every digit once."""
    labels = np.asarray(labels)
    return np.array([int(np.flatnonzero(labels == digit)[0]) for digit in np.unique(labels)], dtype=np.int64)
