"""RunConfig: validation, stable keys, round trips, presets."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from core.config import SCHEMA_VERSION, RunConfig, decode_value, expected
from core.presets import PRESETS, preset
from tests.helpers import REPO


def test_key_is_16_hex_and_equal_for_equal_configs():
    a, b = RunConfig(layers=3, units=32), RunConfig(layers=3, units=32)
    assert a.key() == b.key()
    assert len(a.key()) == 16 and int(a.key(), 16) >= 0


def test_key_is_stable_across_processes():
    config = preset("seed001-cnn")
    code = "from core.presets import preset; print(preset('seed001-cnn').key())"
    other = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    assert other == config.key()


# One changed value per field: every field must change the key.
CHANGES = {
    "task": ("toy", None), "dataset": ("full", {}), "arch": ("cnn", {}), "layers": (3, {}),
    "units": (32, {}), "activation": ("tanh", {}), "kernel_size": (5, {}), "dense_units": (128, {}),
    "conv_dropout": (0.25, {}), "dropout": (0.5, {}), "l2": (0.01, {}), "batch_norm": (True, {}), "augment": (True, {}),
    "optimizer": ("sgd", {}), "learning_rate": (0.01, {}), "lr_schedule": ("cosine", {}), "label_smoothing": (0.1, {}),
    "batch_size": (32, {}), "epochs": (3, {}), "early_stopping": (True, {}), "seed": (7, {}),
    "noise": (0.2, {"task": "toy", "dataset": "xor"}), "train_ratio": (0.7, {"task": "toy", "dataset": "xor"}),
    "n_samples": (300, {"task": "toy", "dataset": "xor"}), "user_points": (((1.0, 2.0, 1),), {"task": "toy", "dataset": "xor"}),
    "train_size": (500, {}),
}


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(RunConfig)])
def test_every_field_changes_the_key(field):
    value, context = CHANGES[field]
    if context is None:  # task: the datasets of the two tasks differ, so both change together
        assert RunConfig().replace(task=value, dataset="blobs").key() != RunConfig().key()
        return
    base = RunConfig().replace(**context) if context else RunConfig()
    assert base.replace(**{field: value}).key() != base.key()


def test_equivalent_forms_share_a_key():
    assert RunConfig(layers=2, units=(64, 64)).key() == RunConfig(layers=2, units=64).key()
    assert RunConfig(layers=2, activation=["relu", "relu"]).key() == RunConfig(layers=2).key()
    assert RunConfig(dropout=0).key() == RunConfig(dropout=0.0).key()


def test_toy_fields_do_not_split_mnist_keys():
    assert RunConfig(noise=0.3).key() == RunConfig().key()


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"layers": 7}, "layers=7"),
        ({"arch": "cnn", "layers": 5}, "layers=5"),
        ({"units": 0}, "units=0"),
        ({"units": 2048}, "units=2048"),
        ({"layers": 2, "units": (64, 32, 16)}, "units has 3 values"),
        ({"activation": "swish"}, "activation='swish'"),
        ({"dropout": 0.9}, "dropout=0.9"),
        ({"l2": -1.0}, "l2=-1.0"),
        ({"learning_rate": 2.0}, "learning_rate=2.0"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"epochs": 201}, "epochs=201"),
        ({"optimizer": "adagrad"}, "optimizer='adagrad'"),
        ({"dataset": "cifar"}, "dataset='cifar'"),
        ({"task": "toy", "dataset": "xor", "arch": "cnn"}, "arch='cnn'"),
        ({"task": "toy", "dataset": "xor", "augment": True}, "augment"),
        ({"batch_norm": "yes"}, "batch_norm"),
        ({"epochs": 2.5}, "epochs=2.5"),
        ({"learning_rate": float("nan")}, "learning_rate=nan"),
    ],
)
def test_invalid_values_name_the_field_and_range(changes, fragment):
    with pytest.raises(ValueError) as error:
        RunConfig().replace(**changes)
    assert fragment in str(error.value)


def test_dict_round_trip_and_json():
    config = RunConfig(task="toy", dataset="xor", layers=2, units=(4, 2), activation=("tanh", "relu"), user_points=((1.5, -2.0, 1),))
    data = json.loads(json.dumps(config.to_dict()))
    assert RunConfig.from_dict(data) == config
    assert RunConfig.from_dict(data).key() == config.key()


@pytest.mark.parametrize("bad", [{"bogus": 1}, {"layers": [1, 2]}, "layers=2", None, {"units": {"a": 1}}, {"user_points": [[1]]}])
def test_from_dict_rejects_unknown_or_malformed(bad):
    with pytest.raises(ValueError):
        RunConfig.from_dict(bad)


def test_seed_presets_match_the_tutorials():
    dnn = preset("seed001-dnn")
    assert (dnn.arch, dnn.units_per_layer(), dnn.batch_size, dnn.epochs) == ("mlp", (64, 16), 128, 50)
    cnn = preset("seed001-cnn")
    assert (cnn.arch, cnn.units_per_layer(), cnn.kernel_size, cnn.dense_units) == ("cnn", (64, 128), 2, 0)
    regularized = preset("seed001-cnn-regularized")
    assert regularized.units_per_layer() == (32, 64, 128, 256) and regularized.conv_dropout == 0.5 and regularized.l2 == 0.01
    classic = preset("seed000-classic")
    assert (classic.units_per_layer(), classic.kernel_size, classic.dense_units, classic.dropout) == ((32, 64), 5, 1024, 0.5)
    assert (classic.learning_rate, classic.batch_size) == (1e-4, 50)


def test_presets_command_lists_every_preset():
    result = subprocess.run([sys.executable, "-m", "core", "presets"], cwd=REPO, capture_output=True, text=True, check=True)
    for name in PRESETS:
        assert name in result.stdout


def test_schema_version_is_part_of_the_key(monkeypatch):
    import core.config

    before = RunConfig().key()
    monkeypatch.setattr(core.config, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    assert RunConfig().key() != before


@pytest.mark.parametrize(
    "name, text, reason",
    [("layers", "abc", "not a whole number"), ("dropout", "lots", "not a number"), ("dropout", "inf", "not a finite number"),
     ("units", "64,x", "e.g. 64,16"), ("user_points", "1:2", "x:y:class"), ("batch_norm", "maybe", "expected 1 or 0")],
)
def test_decode_value_refuses_in_plain_words(name, text, reason):
    with pytest.raises(ValueError) as error:
        decode_value(name, text)
    assert reason in str(error.value) and "invalid literal" not in str(error.value)


def test_expected_says_what_each_field_takes():
    assert expected("layers") == "a whole number from 0 to 6"
    assert expected("layers", arch="cnn") == "a whole number from 1 to 4 for a CNN"
    assert expected("dataset", task="mnist") == "one of embedded, full for task=mnist"
    assert all(expected(name) != "a valid value" for name in RunConfig.__dataclass_fields__)
