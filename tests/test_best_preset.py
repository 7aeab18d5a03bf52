"""The `best` preset: augmentation only while training, a quick smoke training, and every preset's model contract."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from core.config import RunConfig
from core.data import Splits, load_mnist
from core.models import build_model
from core.presets import PRESETS, preset
from core.training import train

MNIST_PRESETS = [name for name, p in PRESETS.items() if p.config.task == "mnist"]


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_mnist("embedded").x_test[:8]


def test_best_is_a_cnn_with_the_robust_options():
    best = preset("best")
    assert best.arch == "cnn" and best.dataset == "embedded"
    assert best.augment and best.dropout > 0 and best.conv_dropout > 0 and best.label_smoothing > 0
    assert best.lr_schedule != "constant"


def _augmentation_layers(model):
    layers = [layer for layer in model.layers if layer.name.startswith("augment_")]
    assert [layer.name for layer in layers] == ["augment_shift", "augment_rotate", "augment_zoom"]
    return layers


def test_augmentation_changes_images_in_training_only(digits):
    model = build_model(preset("best"))
    scaled = (digits / 255.0).reshape(-1, 28, 28, 1).astype("float32")

    def augment(images, training):
        for layer in _augmentation_layers(model):
            images = layer(images, training=training)
        return np.asarray(images)

    np.testing.assert_array_equal(augment(scaled, training=False), scaled)
    moved = augment(scaled, training=True)
    assert moved.shape == scaled.shape
    assert np.abs(moved - scaled).mean() > 0.01  # shifted/rotated/zoomed digits differ visibly
    assert not np.array_equal(moved, augment(scaled, training=True))  # a new random draw each time


def test_best_model_is_deterministic_at_inference_and_random_in_training(digits):
    model = build_model(preset("best"))
    first = np.asarray(model.predict_on_batch(digits))
    second = np.asarray(model.predict_on_batch(digits))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(np.asarray(model(digits, training=False)), first)
    assert not np.allclose(np.asarray(model(digits, training=True)), first)  # augmentation + dropout active


def test_best_trains_one_tiny_epoch_on_a_slice():
    full = load_mnist("embedded")
    small = Splits(full.x_train[:256], full.y_train[:256], full.x_val[:64], full.y_val[:64], full.x_test[:64], full.y_test[:64], full.source)
    config = preset("best").replace(epochs=1)
    run = train(config, splits=small)
    assert run.meta["epochs_run"] == 1
    assert len(run.history["val_accuracy"]) == 1
    assert 0.0 <= run.test_accuracy <= 1.0
    probabilities = np.asarray(run.model.predict_on_batch(small.x_test[:4]))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_batch_norm_model_predicts_sensibly_after_a_short_training():
    # With Keras' default BN momentum (0.99) the moving statistics were still near their initial
    # values after two short epochs and the model answered one class for every digit.
    full = load_mnist("embedded")
    small = Splits(full.x_train[:1500], full.y_train[:1500], full.x_val, full.y_val, full.x_test[:200], full.y_test[:200], full.source)
    config = RunConfig(arch="cnn", layers=2, units=(8, 16), dense_units=32, batch_norm=True, batch_size=64, epochs=2)
    run = train(config, splits=small)
    assert run.meta["val_accuracy"] > 0.6
    assert len(np.unique(np.asarray(run.model.predict_on_batch(small.x_test)).argmax(axis=1))) >= 8


def test_every_preset_honours_the_model_contract(tmp_path, digits):
    """Raw 0-255 (N, 28, 28) float32 in, (N, 10) probabilities out; loads with plain Keras, no project code."""
    raw = np.asarray(digits, dtype=np.float32)
    assert raw.max() > 1.0  # really raw pixels, not pre-scaled
    np.save(tmp_path / "digits.npy", raw)
    expected = {}
    for name in MNIST_PRESETS:
        model = build_model(preset(name))
        probabilities = np.asarray(model.predict_on_batch(raw))
        assert probabilities.shape == (len(raw), 10), name
        assert probabilities.min() >= 0.0, name
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5, err_msg=name)
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}.npy", probabilities)
        expected[name] = str(tmp_path / f"{name}.keras")
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path = [p for p in sys.path if p not in ("", ".", {str(tmp_path)!r})]
        import numpy as np, keras
        digits = np.load({str(tmp_path / "digits.npy")!r})
        for name, path in json.loads({json.dumps(json.dumps(expected))}).items():
            model = keras.models.load_model(path)  # safe_mode on, no custom objects
            out = np.asarray(model.predict_on_batch(digits))
            np.testing.assert_allclose(out, np.load(path[:-len(".keras")] + ".npy"), rtol=1e-4, atol=1e-6, err_msg=name)
        assert not any(m == "core" or m.startswith("core.") for m in sys.modules)
        print("loaded", len(json.loads({json.dumps(json.dumps(expected))})))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"loaded {len(MNIST_PRESETS)}" in result.stdout
