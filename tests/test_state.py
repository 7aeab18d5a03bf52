"""URL <-> RunConfig: shareable, short, and forgiving of bad parameters."""

from __future__ import annotations

from core.config import RunConfig
from core.presets import preset
from dashboard.state import decode, encode

BASE = preset("base")


def test_round_trip_through_the_url():
    config = BASE.replace(arch="cnn", layers=2, units=(32, 64), activation=("relu", "tanh"), dropout=0.25, batch_norm=True, learning_rate=3e-4)
    params = encode(config, BASE)
    assert decode(params, BASE) == (config, [])


def test_only_changed_fields_are_written():
    assert encode(BASE, BASE) == {}
    assert encode(BASE.replace(dropout=0.5), BASE) == {"dropout": "0.5"}


def test_toy_user_points_round_trip():
    toy = RunConfig(task="toy", dataset="xor", user_points=((1.5, -2.25, 1), (0.0, 3.0, 0)))
    defaults = RunConfig(task="toy", dataset="xor")
    assert decode(encode(toy, defaults), defaults)[0] == toy


def test_bad_and_unknown_parameters_warn_and_keep_the_rest():
    config, warnings = decode({"layers": "3", "dropout": "lots", "colour": "red", "epochs": "500"}, BASE)
    assert config == BASE.replace(layers=3)
    assert len(warnings) == 3
    assert any("colour" in w for w in warnings) and any("dropout" in w for w in warnings) and any("epochs" in w for w in warnings)


def test_clashing_parameters_apply_one_at_a_time():
    config, warnings = decode({"arch": "cnn", "layers": "6"}, BASE)
    assert config.arch == "cnn" and config.layers == BASE.layers
    assert any("layers" in w for w in warnings)


def test_extra_page_parameters_are_not_warnings():
    config, warnings = decode({"run": "0123456789abcdef"}, BASE, extra=("run",))
    assert config == BASE and warnings == []


def test_list_values_take_the_last():
    assert decode({"layers": ["1", "4"]}, BASE)[0].layers == 4
