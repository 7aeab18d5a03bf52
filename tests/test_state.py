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


# -- warnings in plain words ------------------------------------------------------------------


def test_a_word_for_a_number_says_what_the_parameter_takes():
    config, warnings = decode({"layers": "abc"}, BASE)
    assert config == BASE
    assert warnings == ["layers must be a whole number from 0 to 6; got 'abc'"]


def test_out_of_range_values_say_the_range_for_the_architecture():
    assert decode({"epochs": "500"}, BASE)[1] == ["epochs must be a whole number from 1 to 200; got '500'"]
    assert decode({"arch": "cnn", "layers": "6"}, BASE)[1] == ["layers must be a whole number from 1 to 4 for a CNN; got '6'"]
    assert decode({"dropout": "lots"}, BASE)[1] == ["dropout must be a number from 0 to 0.8; got 'lots'"]


def test_a_toy_task_without_a_toy_dataset_names_the_task():
    config, warnings = decode({"task": "toy"}, RunConfig())
    assert config == RunConfig()
    assert len(warnings) == 1 and warnings[0].startswith("task=toy needs a toy dataset too, e.g. dataset=xor")
    assert "embedded" not in warnings[0]


def test_a_dataset_that_does_not_fit_the_task_names_the_dataset():
    config, warnings = decode({"task": "toy", "dataset": "full"}, RunConfig())
    assert config == RunConfig()
    assert len(warnings) == 1 and warnings[0].startswith("dataset must be one of blobs, blocks") and "got 'full'" in warnings[0]
    assert decode({"dataset": "xor"}, RunConfig())[1] == ["dataset must be one of embedded, full for task=mnist; got 'xor'"]


def test_the_real_clash_is_named_when_task_and_dataset_fit():
    config, warnings = decode({"task": "toy", "dataset": "xor", "arch": "cnn"}, RunConfig())
    assert (config.task, config.dataset, config.arch) == ("toy", "xor", "mlp")
    assert len(warnings) == 1 and warnings[0].startswith("arch was ignored") and "toy data needs arch='mlp'" in warnings[0]


def test_a_long_value_is_cut_in_the_warning():
    warnings = decode({"units": "x" * 500, "x" * 300: "1"}, BASE)[1]
    assert len(warnings) == 2
    assert all(len(w) < 200 for w in warnings)
    assert any("got '" + "x" * 20 + "…'" in w for w in warnings)


# -- bad parameters leave the address bar, on every page --------------------------------------


def _url_app(defaults_name: str) -> None:
    from core.config import RunConfig
    from core.presets import BOUNDARY_DEFAULTS
    from dashboard import state

    defaults = {"train": RunConfig(), "boundary": BOUNDARY_DEFAULTS}[defaults_name]
    state.config_from_url(defaults, extra=("compare",) if defaults_name == "train" else ())


def _open(defaults_name: str, params: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_url_app, args=(defaults_name,), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def test_the_train_defaults_clean_bad_parameters_out_of_the_url():
    at = _open("train", {"layers": "abc", "epochs": "3", "colour": "red", "compare": "0123456789abcdef"})
    assert not at.exception
    assert [w.value for w in at.warning][0] == "layers must be a whole number from 0 to 6; got 'abc'"
    assert dict(at.query_params) == {"epochs": "3", "compare": "0123456789abcdef"}


def test_the_boundary_defaults_clean_bad_parameters_out_of_the_url():
    at = _open("boundary", {"task": "mnist", "noise": "0.1", "units": "x" * 500})
    assert not at.exception
    assert len(at.warning) == 2 and any("task=mnist needs an MNIST dataset" in w.value for w in at.warning)
    assert dict(at.query_params) == {"noise": "0.1"}


def test_good_parameters_stay_as_they_are():
    at = _open("train", {"epochs": "3", "units": "64,16", "layers": "2"})
    assert not at.exception and not at.warning
    assert dict(at.query_params) == {"epochs": "3", "units": "64,16", "layers": "2"}


def test_every_page_declares_its_own_parameters():
    from dashboard.state import PAGE_EXTRAS

    assert PAGE_EXTRAS["training"] == ("compare",) and PAGE_EXTRAS["draw"] == ("run",)
    assert set(PAGE_EXTRAS["explorer"]) == {"compare", "true", "pred", "sort", "digit"}
    assert decode({"run": "0123456789abcdef", "digit": "3"}, BASE, extra=PAGE_EXTRAS["draw"])[1] == ["Unknown URL parameter 'digit' was ignored."]
