"""build_model(config) -> keras.Model, written like the tutorials: one short Sequential.

The contract every cached model honours: MNIST models take float32 (N, 28, 28) raw 0-255 pixels
(white on black) and return (N, 10) probabilities; toy models take raw (N, 2) coordinates and
return (N, n_classes) probabilities. Scaling, reshaping and augmentation are layers inside the
model, so a saved `model.keras` loads and predicts with plain Keras and no project code.
"""

from __future__ import annotations

import keras
import numpy as np

from core.config import RunConfig

# Keras' default momentum (0.99) needs ~500 steps before the moving statistics forget their
# initial values; a 3,500-digit epoch is only ~30-55 steps, so short runs predicted one class at
# inference (moving variance ~25x too large). 0.9 settles in ~50 steps.
BATCH_NORM_MOMENTUM = 0.9


def _regularizer(config: RunConfig):
    return keras.regularizers.l2(config.l2) if config.l2 else None


def _dense_block(config: RunConfig, units: int, activation: str, index: int) -> list:
    block = [keras.layers.Dense(units, kernel_regularizer=_regularizer(config), name=f"dense_{index}")]
    if config.batch_norm:
        block.append(keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"batch_norm_{index}"))
    block.append(keras.layers.Activation(activation, name=f"{activation}_{index}"))
    if config.dropout:
        block.append(keras.layers.Dropout(config.dropout, name=f"dropout_{index}"))
    return block


def _conv_block(config: RunConfig, filters: int, activation: str, index: int) -> list:
    block = [
        keras.layers.Conv2D(
            filters, config.kernel_size, padding="same", kernel_regularizer=_regularizer(config), name=f"conv_{index}"
        )
    ]
    if config.batch_norm:
        block.append(keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"batch_norm_{index}"))
    block.append(keras.layers.Activation(activation, name=f"{activation}_{index}"))
    block.append(keras.layers.MaxPooling2D(2, name=f"pool_{index}"))
    if config.conv_dropout:
        block.append(keras.layers.Dropout(config.conv_dropout, name=f"conv_dropout_{index}"))
    return block


def _augmentation() -> list:
    # Small shifts, rotations and zoom; Keras applies these only when training=True.
    return [
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", name="augment_shift"),
        keras.layers.RandomRotation(0.03, fill_mode="constant", name="augment_rotate"),
        keras.layers.RandomZoom(0.1, fill_mode="constant", name="augment_zoom"),
    ]


def _input_layers(config: RunConfig, x_train: np.ndarray | None) -> list:
    if config.task == "toy":
        if x_train is None or len(x_train) == 0:
            raise ValueError("a toy model needs its training points to set the input normalisation")
        mean = x_train.mean(axis=0)
        variance = np.maximum(x_train.var(axis=0), 1e-6)
        return [
            keras.Input((2,), name="coordinates"),
            keras.layers.Normalization(mean=mean.tolist(), variance=variance.tolist(), name="normalise"),
        ]
    head = [keras.Input((28, 28), name="pixels"), keras.layers.Rescaling(1.0 / 255, name="scale_0_1")]
    if config.arch == "cnn":
        head.append(keras.layers.Reshape((28, 28, 1), name="add_channel"))
        if config.augment:
            head += _augmentation()
    else:
        if config.augment:
            head += [keras.layers.Reshape((28, 28, 1), name="add_channel")] + _augmentation()
        head.append(keras.layers.Flatten(name="flatten"))
    return head


def build_model(config: RunConfig, x_train: np.ndarray | None = None) -> keras.Model:
    """A fresh, uncompiled model for `config` (seeded: same config -> same initial weights).

    `x_train` is needed for toy data only (its mean and variance become the normalisation layer).
    """
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    layers = _input_layers(config, x_train)
    units, activations = config.units_per_layer(), config.activation_per_layer()
    if config.arch == "mlp":
        for index, (width, activation) in enumerate(zip(units, activations, strict=False), start=1):
            layers += _dense_block(config, width, activation, index)
    else:
        for index, (filters, activation) in enumerate(zip(units, activations, strict=False), start=1):
            layers += _conv_block(config, filters, activation, index)
        layers.append(keras.layers.Flatten(name="flatten"))
        if config.dense_units:
            layers += _dense_block(config, config.dense_units, activations[-1], config.layers + 1)
        elif config.dropout:
            layers.append(keras.layers.Dropout(config.dropout, name="dropout_head"))
    layers.append(
        keras.layers.Dense(config.n_classes, activation="softmax", kernel_regularizer=_regularizer(config), name="probabilities")
    )
    return keras.Sequential(layers, name=f"neural_lab_{config.arch}")


def make_optimizer(config: RunConfig, steps_per_epoch: int):
    """The optimizer, with a cosine-decayed learning rate when config.lr_schedule == 'cosine'."""
    rate = config.learning_rate
    if config.lr_schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=max(1, steps_per_epoch * config.epochs))
    if config.optimizer == "adam":
        return keras.optimizers.Adam(rate)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(rate)
    return keras.optimizers.SGD(rate, momentum=0.9)


def compile_model(model: keras.Model, config: RunConfig, steps_per_epoch: int) -> keras.Model:
    """Compile for integer labels; label smoothing needs one-hot targets, handled by the loss choice."""
    if config.label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        metric = keras.metrics.CategoricalAccuracy(name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=loss, metrics=[metric])
    return model


def layer_table(model: keras.Model) -> list[dict]:
    """One row per layer: name, type, output shape, parameter count (for the result panel)."""
    rows = []
    for layer in model.layers:
        try:
            shape = str(tuple(layer.output.shape))
        except (AttributeError, ValueError):
            shape = ""
        rows.append({"layer": layer.name, "type": type(layer).__name__, "output shape": shape, "parameters": layer.count_params()})
    return rows


def predict_fn(model: keras.Model):
    """A fast predictor: numpy in, numpy probabilities out (predict_on_batch, ~1 ms; model.predict costs ~40 ms)."""

    def predict(inputs: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict_on_batch(np.asarray(inputs, dtype=np.float32)))

    return predict
