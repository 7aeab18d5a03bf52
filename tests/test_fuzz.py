"""Bad input, generated: the config parser, the URL parser, the command line and the upload decoder
only ever answer with a result or a clear refusal (ValueError / warnings / exit 2 / UploadError)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import cli
from core.config import RunConfig
from dashboard.state import decode, encode

REPO = Path(__file__).resolve().parent.parent
FIELDS = [f.name for f in dataclasses.fields(RunConfig)]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["relu", "tanh", "mnist", "toy", "xor", "cnn", "mlp", "adam", "embedded", "blobs"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
field_names = st.sampled_from(FIELDS) | st.text(max_size=12)


@FUZZ
@given(st.dictionaries(field_names, values, max_size=8))
def test_from_dict_returns_a_config_or_raises_value_error(data):
    try:
        config = RunConfig.from_dict(data)
    except ValueError as error:
        assert str(error)  # a message a person can read
        return
    assert isinstance(config, RunConfig)
    assert len(config.key()) == 16
    assert RunConfig.from_dict(config.to_dict()) == config  # what was accepted round-trips


@FUZZ
@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers()), st.tuples(st.text())))
def test_from_dict_refuses_non_mappings(data):
    with pytest.raises(ValueError):
        RunConfig.from_dict(data)


url_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["1", "0", "2", "-1", "1e309", "nan", "inf", "0.5", "3,4", "64,16", "relu,tanh", "1:2:0;3:4:1", "x" * 5000]),
    st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?(,[0-9]{1,3}){0,3}", fullmatch=True),
)
url_params = st.dictionaries(field_names | st.just("run"), url_text | st.lists(url_text, max_size=3), max_size=10)


@FUZZ
@given(url_params)
def test_the_url_parser_always_returns_a_valid_config_with_warnings(params):
    defaults = RunConfig(epochs=5)
    try:
        config, warnings = decode(params, defaults, extra=("run",))
    except ValueError:  # allowed by the contract, though decode promises to turn problems into warnings
        return
    assert isinstance(config, RunConfig)
    assert all(isinstance(w, str) and w for w in warnings)
    # Whatever survived is a config the URL can express again, without a warning.
    again, again_warnings = decode(encode(config, defaults), defaults)
    assert again == config and again_warnings == []


simple_values = {
    "layers": st.integers(0, 6), "units": st.sampled_from([1, 8, 16, 64, 128, 1024]), "dropout": st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.8]),
    "learning_rate": st.sampled_from([1e-5, 1e-4, 3e-4, 1e-3, 0.01, 0.1, 1.0]), "batch_size": st.integers(1, 1024),
    "epochs": st.integers(1, 200), "seed": st.integers(0, 2**31 - 1), "activation": st.sampled_from(["relu", "tanh", "sigmoid", "elu", "gelu"]),
    "batch_norm": st.booleans(), "optimizer": st.sampled_from(["adam", "sgd", "rmsprop"]),
}


@FUZZ
@given(st.fixed_dictionaries({}, optional=simple_values))
def test_a_shared_url_restores_the_same_model_key(changes):
    defaults = RunConfig()
    config = defaults.replace(**changes)
    restored, warnings = decode(encode(config, defaults), defaults)
    assert warnings == [] and restored.key() == config.key()


# -- the command line -------------------------------------------------------------------------

flag_names = st.sampled_from([f"--{flag}" for flag in cli.CONFIG_FLAGS.values()])
bad_text = st.one_of(
    st.text(min_size=1, max_size=12).filter(lambda t: not t.startswith("-")),
    st.sampled_from(["nan", "inf", "-3", "99999", "1e400", "0", "1,2,3,4,5,6,7,8", "relu,relu", "x", "", "None", "1.5"]),
)


class WouldTrain(Exception):
    """Raised instead of training: the arguments were accepted."""


@FUZZ
@given(st.lists(st.tuples(flag_names, bad_text), min_size=1, max_size=3), st.sampled_from(["train", "pretrain", "sweep"]))
def test_cli_values_either_exit_2_with_one_line_or_reach_training(monkeypatch, capsys, flags, command):
    from core import cache

    def would_train(*args, **kwargs):
        raise WouldTrain

    argv = [command]
    for flag, text in flags:
        argv += [f"{flag}={text}"]
    if command != "train":
        argv += ["--grid", "seed=1,2"]
    with monkeypatch.context() as patch:
        patch.setattr(cache, "get_or_train", would_train)
        try:
            code = cli.main(argv)
        except WouldTrain:
            return
        except SystemExit as exit_:  # argparse
            code = exit_.code
    captured = capsys.readouterr()
    assert code == 2, (argv, code)
    assert captured.err.strip(), "exit 2 must say why"
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "args, says",
    [
        (["train", "--units", "0"], "units"),
        (["train", "--activation", "softmaxx"], "activation"),
        (["train", "--learning-rate", "nan"], "learning_rate"),
        (["sweep", "--grid", "layers=1,99"], "layers"),
        (["sweep", "--grid", "bogus=1"], "bogus"),
        (["sweep", "--grid", "layers=1", "--cpus-per-trial", "0"], "cpus-per-trial"),
    ],
)
def test_cli_subprocess_bad_values_exit_2_and_write_nothing(cache_dir, args, says):
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir))
    result = subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], lines
    assert [p.name for p in cache_dir.iterdir() if not p.name.startswith(".")] == []


# -- uploads ----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_upload_bytes_decode_or_are_refused(data):
    from core.preprocess import UploadError, decode_upload

    try:
        image = decode_upload(data)
    except UploadError as error:
        assert str(error)
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4
