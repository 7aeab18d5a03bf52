"""core.export.keras_code: the pasted code builds the same model and trains with plain Keras."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import RunConfig
from core.export import keras_code
from core.models import build_model
from core.presets import PRESETS


def _exec(code: str) -> dict:
    namespace: dict = {"__name__": "notebook"}
    exec(compile(code, "<exported>", "exec"), namespace)  # noqa: S102 - the point of the test
    return namespace


def _layer_summary(model) -> list[tuple]:
    return [(layer.name, type(layer).__name__, layer.count_params(), getattr(layer, "momentum", None)) for layer in model.layers]


CONFIGS = {
    "mlp-default": RunConfig(),
    "logistic": RunConfig(layers=0),
    "mlp-per-layer": RunConfig(layers=3, units=(128, 32, 8), activation=("relu", "tanh", "gelu"), dropout=0.3, l2=1e-4),
    "mlp-bn-augment": RunConfig(layers=2, units=24, batch_norm=True, augment=True, label_smoothing=0.1, lr_schedule="cosine"),
    "cnn-dense-head": RunConfig(arch="cnn", layers=2, units=(8, 16), kernel_size=5, dense_units=32, dropout=0.5, batch_norm=True),
    "cnn-conv-dropout": RunConfig(arch="cnn", layers=3, units=4, kernel_size=2, conv_dropout=0.25, dropout=0.2, optimizer="sgd"),
    "toy": RunConfig(task="toy", dataset="three_class", layers=2, units=5, activation="tanh", optimizer="rmsprop", lr_schedule="plateau"),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_exported_code_builds_the_same_architecture(name):
    config = CONFIGS[name]
    x_train = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32) if config.task == "toy" else None
    expected = build_model(config, x_train)
    mean = x_train.mean(axis=0) if x_train is not None else None
    variance = x_train.var(axis=0) if x_train is not None else None
    namespace = _exec(keras_code(config, mean, variance))
    model = namespace["model"]
    assert model.count_params() == expected.count_params()
    assert _layer_summary(model) == _layer_summary(expected)
    assert model.output_shape == expected.output_shape


@pytest.mark.parametrize("name", ["seed001-dnn", "seed001-cnn", "seed001-cnn-regularized", "seed000-classic"])
def test_tutorial_presets_export_with_their_parameter_counts(name):
    config = PRESETS[name].config
    namespace = _exec(keras_code(config))
    assert namespace["model"].count_params() == build_model(config).count_params()


def test_exported_training_function_fits_with_plain_keras():
    config = RunConfig(layers=1, units=8, label_smoothing=0.1, early_stopping=True, lr_schedule="cosine", batch_size=32)
    namespace = _exec(keras_code(config))
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, size=(64, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=64)
    history = namespace["train"](namespace["model"], x[:48], y[:48], x[48:], y[48:], epochs=2)
    assert len(history.history["loss"]) == 2
    assert {"val_loss", "val_accuracy"} <= set(history.history)


def test_code_names_the_settings_a_reader_needs():
    config = PRESETS["seed000-classic"].config
    code = keras_code(config)
    assert config.key() in code
    assert "BATCH_SIZE = 50" in code and "EPOCHS = 15" in code
    assert "keras.optimizers.Adam(0.0001)" in code
    assert "neural_lab" not in code.split("import keras", 1)[1].split("name=")[0]  # no project imports
    assert "from core" not in code and "import core" not in code
