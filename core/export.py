"""keras_code(config) -> the plain Keras code of a RunConfig, to paste into a notebook.

The text builds the same architecture as `core.models.build_model` (same layers, same parameter
count) as one literate `keras.Sequential([...])`, followed by a `train(...)` function with the
same compile and fit settings. It uses nothing from this project, only `keras` (and `math`).
"""

from __future__ import annotations

from collections.abc import Sequence

from core import models
from core.config import RunConfig
from core.training import EARLY_STOPPING_PATIENCE


def _batch_norm(index: int) -> str:
    momentum = getattr(models, "BATCH_NORM_MOMENTUM", None)  # follow build_model's choice
    argument = f"momentum={momentum:g}, " if momentum is not None else ""
    return f'keras.layers.BatchNormalization({argument}name="batch_norm_{index}"),'


def _regularizer(config: RunConfig) -> str:
    return f", kernel_regularizer=keras.regularizers.l2({config.l2:g})" if config.l2 else ""


def _dense_block(config: RunConfig, units: int, activation: str, index: int) -> list[str]:
    lines = [f'keras.layers.Dense({units}{_regularizer(config)}, name="dense_{index}"),']
    if config.batch_norm:
        lines.append(_batch_norm(index))
    lines.append(f'keras.layers.Activation("{activation}", name="{activation}_{index}"),')
    if config.dropout:
        lines.append(f'keras.layers.Dropout({config.dropout:g}, name="dropout_{index}"),')
    return lines


def _conv_block(config: RunConfig, filters: int, activation: str, index: int) -> list[str]:
    lines = [
        f'keras.layers.Conv2D({filters}, {config.kernel_size}, padding="same"{_regularizer(config)}, name="conv_{index}"),'
    ]
    if config.batch_norm:
        lines.append(_batch_norm(index))
    lines.append(f'keras.layers.Activation("{activation}", name="{activation}_{index}"),')
    lines.append(f'keras.layers.MaxPooling2D(2, name="pool_{index}"),')
    if config.conv_dropout:
        lines.append(f'keras.layers.Dropout({config.conv_dropout:g}, name="conv_dropout_{index}"),')
    return lines


AUGMENTATION = [
    "# Augmentation: active only while training (small shifts, rotations, zoom).",
    'keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", name="augment_shift"),',
    'keras.layers.RandomRotation(0.03, fill_mode="constant", name="augment_rotate"),',
    'keras.layers.RandomZoom(0.1, fill_mode="constant", name="augment_zoom"),',
]


def _input_lines(config: RunConfig, toy_mean: Sequence[float] | None, toy_variance: Sequence[float] | None) -> list[str]:
    if config.task == "toy":
        mean = ", ".join(f"{v:.6g}" for v in (toy_mean if toy_mean is not None else (0.0, 0.0)))
        variance = ", ".join(f"{v:.6g}" for v in (toy_variance if toy_variance is not None else (1.0, 1.0)))
        return [
            "# Raw (x, y) coordinates in; standardised with the training points' mean and variance.",
            'keras.Input((2,), name="coordinates"),',
            f'keras.layers.Normalization(mean=[{mean}], variance=[{variance}], name="normalise"),',
        ]
    lines = [
        "# Raw 28x28 pixels 0-255 in (white digit on black, like MNIST); scaling is part of the model.",
        'keras.Input((28, 28), name="pixels"),',
        'keras.layers.Rescaling(1.0 / 255, name="scale_0_1"),',
    ]
    if config.arch == "cnn":
        lines.append('keras.layers.Reshape((28, 28, 1), name="add_channel"),')
        if config.augment:
            lines += AUGMENTATION
    else:
        if config.augment:
            lines.append('keras.layers.Reshape((28, 28, 1), name="add_channel"),')
            lines += AUGMENTATION
        lines.append('keras.layers.Flatten(name="flatten"),')
    return lines


def _layer_lines(config: RunConfig, toy_mean, toy_variance) -> list[str]:
    lines = _input_lines(config, toy_mean, toy_variance)
    units, activations = config.units_per_layer(), config.activation_per_layer()
    if config.arch == "mlp":
        for index, (width, activation) in enumerate(zip(units, activations, strict=False), start=1):
            lines += _dense_block(config, width, activation, index)
    else:
        for index, (filters, activation) in enumerate(zip(units, activations, strict=False), start=1):
            lines += _conv_block(config, filters, activation, index)
        lines.append('keras.layers.Flatten(name="flatten"),')
        if config.dense_units:
            lines += _dense_block(config, config.dense_units, activations[-1], config.layers + 1)
        elif config.dropout:
            lines.append(f'keras.layers.Dropout({config.dropout:g}, name="dropout_head"),')
    lines.append(
        f'keras.layers.Dense({config.n_classes}, activation="softmax"{_regularizer(config)}, name="probabilities"),'
    )
    return lines


def _optimizer_lines(config: RunConfig) -> list[str]:
    rate = f"{config.learning_rate:g}"
    lines = []
    if config.lr_schedule == "cosine":
        lines.append(f"learning_rate = keras.optimizers.schedules.CosineDecay({rate}, decay_steps=steps_per_epoch * EPOCHS)")
        rate = "learning_rate"
    if config.optimizer == "adam":
        lines.append(f"optimizer = keras.optimizers.Adam({rate})")
    elif config.optimizer == "rmsprop":
        lines.append(f"optimizer = keras.optimizers.RMSprop({rate})")
    else:
        lines.append(f"optimizer = keras.optimizers.SGD({rate}, momentum=0.9)")
    return lines


def _training_lines(config: RunConfig) -> list[str]:
    smoothing = config.label_smoothing
    lines = [
        "def train(model, x_train, y_train, x_val, y_val, epochs=EPOCHS):",
        '    """Compile and fit as Neural Lab did; labels are integer classes."""',
        "    steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)",
    ]
    lines += ["    " + line for line in _optimizer_lines(config)]
    if smoothing:
        lines += [
            f"    loss = keras.losses.CategoricalCrossentropy(label_smoothing={smoothing:g})",
            '    metric = keras.metrics.CategoricalAccuracy(name="accuracy")',
            f"    y_train = keras.utils.to_categorical(y_train, {config.n_classes})",
            f"    y_val = keras.utils.to_categorical(y_val, {config.n_classes})",
        ]
    else:
        lines += [
            "    loss = keras.losses.SparseCategoricalCrossentropy()",
            '    metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")',
        ]
    lines.append("    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])")
    callbacks = []
    if config.early_stopping:
        callbacks.append(
            f'keras.callbacks.EarlyStopping(monitor="val_loss", patience={EARLY_STOPPING_PATIENCE}, restore_best_weights=True)'
        )
    if config.lr_schedule == "plateau":
        callbacks.append('keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-6)')
    lines.append("    callbacks = [" + ", ".join(callbacks) + "]")
    lines += [
        "    return model.fit(",
        "        x_train, y_train, validation_data=(x_val, y_val),",
        "        batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, callbacks=callbacks,",
        "    )",
    ]
    return lines


def _usage_lines(config: RunConfig) -> list[str]:
    if config.task == "toy":
        return [
            "# Usage: x_* are (N, 2) float32 coordinates, y_* integer classes.",
            "# history = train(model, x_train, y_train, x_val, y_val)",
        ]
    return [
        "# Usage (downloads MNIST once, 11 MB):",
        "# (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()",
        "# x_train, x_test = x_train.astype(\"float32\"), x_test.astype(\"float32\")  # raw 0-255 pixels",
        "# history = train(model, x_train[5000:], y_train[5000:], x_train[:5000], y_train[:5000])",
        "# model.evaluate(x_test, y_test)",
    ]


def keras_code(
    config: RunConfig,
    toy_mean: Sequence[float] | None = None,
    toy_variance: Sequence[float] | None = None,
) -> str:
    """Plain `keras.Sequential` code for `config`: same layers and parameter count as build_model.

    For toy data the normalisation constants come from the training points (`toy_mean`,
    `toy_variance`, as build_model computes them); without them the code uses 0 and 1.
    """
    layers = "\n".join("    " + line for line in _layer_lines(config, toy_mean, toy_variance))
    parts = [
        f"# Neural Lab model {config.key()}: {config.describe()}",
        "import math",
        "",
        "import keras",
        "",
        f"BATCH_SIZE = {config.batch_size}",
        f"EPOCHS = {config.epochs}",
        f"keras.utils.set_random_seed({config.seed})",
        "",
        f'model = keras.Sequential([\n{layers}\n], name="neural_lab_{config.arch}")',
        "model.summary()",
        "",
        "",
        "\n".join(_training_lines(config)),
        "",
        "",
        "\n".join(_usage_lines(config)),
    ]
    return "\n".join(parts) + "\n"
