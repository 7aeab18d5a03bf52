"""What a trained MNIST model gets wrong, and why: predictions, confusion matrix, errors, saliency.

Test-split predictions are computed once per cached model and stored with its entry (an
artifact), so every later visit reads ~50 KB instead of running the network. The "why" tools
(`saliency`, `feature_maps`, `filters`) work on one image and follow the seed tutorials: the
first conv layer's kernels and the activations of every conv/pool layer for the chosen digit.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

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
