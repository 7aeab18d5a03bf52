"""The model contract: raw 0-255 pixels in, probabilities out, self-contained .keras files."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from core.config import RunConfig
from core.data import load_mnist
from core.models import build_model, layer_table
from core.presets import preset


@pytest.mark.parametrize("name", ["seed001-dnn", "seed001-cnn", "seed001-cnn-regularized", "seed000-classic"])
def test_presets_build_with_the_tutorial_parameter_counts(name):
    expected = {"seed001-dnn": 51_450, "seed001-cnn": 95_946, "seed001-cnn-regularized": 175_210, "seed000-classic": 3_274_634}
    assert build_model(preset(name)).count_params() == expected[name]


def test_raw_pixels_in_probabilities_out():
    model = build_model(RunConfig(arch="cnn", layers=1, units=4))
    images = load_mnist().x_test[:5]
    probabilities = np.asarray(model.predict_on_batch(images))
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_same_config_same_initial_weights():
    config = RunConfig(layers=1, units=8, seed=3)
    first = [w.copy() for w in build_model(config).get_weights()]
    second = build_model(config).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    other = build_model(config.replace(seed=4)).get_weights()
    assert not np.array_equal(first[0], other[0])


def test_saved_model_loads_with_plain_keras_in_a_fresh_process(tmp_path):
    config = RunConfig(arch="cnn", layers=1, units=4, augment=True, batch_norm=True, dropout=0.2, dense_units=8)
    model = build_model(config)
    path = tmp_path / "model.keras"
    model.save(path)
    images = load_mnist().x_test[:3]
    np.save(tmp_path / "images.npy", images)
    expected = np.asarray(model.predict_on_batch(images))
    np.save(tmp_path / "expected.npy", expected)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path = [p for p in sys.path if p not in ("", ".")]
        import numpy as np, keras
        model = keras.models.load_model({str(path)!r})  # safe_mode on
        out = np.asarray(model.predict_on_batch(np.load({str(tmp_path / "images.npy")!r})))
        np.testing.assert_allclose(out, np.load({str(tmp_path / "expected.npy")!r}), rtol=1e-4, atol=1e-6)
        assert "core" not in sys.modules
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_toy_models_take_raw_coordinates():
    config = RunConfig(task="toy", dataset="blobs", layers=0)
    points = np.array([[10.0, 11.0], [18.0, 20.0]], dtype=np.float32)
    model = build_model(config, points)
    probabilities = np.asarray(model.predict_on_batch(points))
    assert probabilities.shape == (2, 2)
    assert [row["layer"] for row in layer_table(model)][0] == "normalise"
