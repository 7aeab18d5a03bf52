"""RunConfig: the one description of a training run, its validation, presets and stable key.

Everything that changes the trained model is a field here, so that equal configs always mean
equal models and `key()` can name a cache folder. Nothing in this module imports TensorFlow:
the dashboard parses URLs into configs on every rerun and must stay fast.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

# Bump when a change to training, the data split or the saved layout makes old entries wrong.
SCHEMA_VERSION = 1

TASKS = ("mnist", "toy")
MNIST_DATASETS = ("embedded", "full")
TOY_DATASETS = ("blobs", "blocks", "xor", "circle", "spiral", "gauss", "three_class")
ARCHS = ("mlp", "cnn")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
LR_SCHEDULES = ("constant", "plateau", "cosine")

MAX_UNITS = 1024
MAX_USER_POINTS = 200
# Digits in the training split of each MNIST dataset (core.data builds the splits); train_size picks a subset.
TRAIN_SPLIT_SIZES = {"embedded": 3500, "full": 55000}
MIN_TRAIN_SIZE = 10  # one digit per class


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


# name -> (lowest, highest, whole numbers only) of every numeric field; a CNN's layers are CNN_LAYERS.
RANGES: dict[str, tuple[float, float, bool]] = {
    "layers": (0, 6, True), "units": (1, MAX_UNITS, True), "kernel_size": (1, 7, True), "dense_units": (0, 2048, True),
    "conv_dropout": (0.0, 0.8, False), "dropout": (0.0, 0.8, False), "l2": (0.0, 0.1, False),
    "learning_rate": (1e-5, 1.0, False), "label_smoothing": (0.0, 0.3, False), "batch_size": (1, 1024, True),
    "epochs": (1, 200, True), "seed": (0, 2**31 - 1, True), "noise": (0.0, 0.5, False), "train_ratio": (0.1, 0.9, False),
    "n_samples": (10, 2000, True), "train_size": (0, max(TRAIN_SPLIT_SIZES.values()), True),
}
CNN_LAYERS = (1, 4)


class FieldError(ValueError):
    """A value outside its own field's range or choices; `field` names it (a clash of fields is a plain ValueError)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _check_range(name: str, value: Any, low: float, high: float, integer: bool = False) -> None:
    kind_ok = _is_int(value) if integer else _is_number(value)
    if not kind_ok or not (low <= value <= high):
        kind = "an integer" if integer else "a number"
        raise FieldError(name, f"{name}={value!r} is out of range: must be {kind} from {low} to {high}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise FieldError(name, f"{name}={value!r} is not allowed: choose one of {', '.join(choices)}")


@dataclass(frozen=True)
class RunConfig:
    """A hyperparameter combination. Frozen, validated on creation, hashable, URL-serialisable.

    `units` and `activation` are either one value for every layer or a tuple with one value per
    layer. For a CNN, `layers` counts conv blocks (conv -> [batch norm] -> max-pool ->
    [conv_dropout]), `units` are the filters per block and `dense_units` is the optional hidden
    dense layer of the head (0 = straight to the softmax). `dropout` applies to hidden dense
    layers (and to the flattened features of a CNN without a dense head).
    """

    task: str = "mnist"
    dataset: str = "embedded"
    arch: str = "mlp"
    layers: int = 2
    units: int | tuple[int, ...] = 64
    activation: str | tuple[str, ...] = "relu"
    kernel_size: int = 3
    dense_units: int = 0
    conv_dropout: float = 0.0
    dropout: float = 0.0
    l2: float = 0.0
    batch_norm: bool = False
    augment: bool = False
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    label_smoothing: float = 0.0
    batch_size: int = 128
    epochs: int = 10
    early_stopping: bool = False
    seed: int = 0
    # Toy (2-D) data only; reset to defaults for MNIST so they never split the cache.
    noise: float = 0.0
    train_ratio: float = 0.5
    n_samples: int = 200
    user_points: tuple[tuple[float, float, int], ...] = field(default_factory=tuple)
    # MNIST only: train on a stratified subset of this many training digits; 0 = the whole training
    # split. Left out of to_dict()/key() at 0, so entries cached before it existed keep their keys.
    train_size: int = 0

    def __post_init__(self) -> None:
        # Normalise forms that mean the same thing, so they hash the same.
        for name in ("units", "activation"):
            value = getattr(self, name)
            if isinstance(value, list):
                value = tuple(value)
            if isinstance(value, tuple) and len(value) == 1:
                value = value[0]
            if isinstance(value, tuple) and len(set(value)) == 1 and len(value) == self.layers:
                value = value[0]
            object.__setattr__(self, name, value)
        for name in ("dropout", "conv_dropout", "l2", "learning_rate", "label_smoothing", "noise", "train_ratio"):
            value = getattr(self, name)
            if _is_int(value):
                object.__setattr__(self, name, float(value))
        points = self.user_points
        if isinstance(points, list):
            points = tuple(points)
        if isinstance(points, tuple):
            try:
                points = tuple((float(p[0]), float(p[1]), int(p[2])) for p in points)
            except (TypeError, ValueError, IndexError, KeyError):  # KeyError: a mapping where a triple belongs
                raise ValueError("user_points must be a list of (x, y, class) triples") from None
        object.__setattr__(self, "user_points", points)
        if self.task == "mnist":
            for name in ("noise", "train_ratio", "n_samples", "user_points"):
                object.__setattr__(self, name, _DEFAULTS[name])
            if isinstance(self.dataset, str) and _is_int(self.train_size) and self.train_size == TRAIN_SPLIT_SIZES.get(self.dataset):
                object.__setattr__(self, "train_size", 0)  # the whole split: the same model as the default
        else:
            object.__setattr__(self, "train_size", _DEFAULTS["train_size"])
        self._validate()

    # -- validation -------------------------------------------------------------------------

    def _validate(self) -> None:
        _check_choice("task", self.task, TASKS)
        if self.task == "mnist":
            _check_choice("dataset", self.dataset, MNIST_DATASETS)
        else:
            _check_choice("dataset", self.dataset, TOY_DATASETS)
            if self.arch != "mlp":
                raise ValueError(f"arch={self.arch!r} is not allowed for toy data: toy data needs arch='mlp'")
            if self.augment:
                raise ValueError("augment=True is only for MNIST images, not for toy data")
        _check_choice("arch", self.arch, ARCHS)
        if self.arch == "mlp":
            _check_range("layers", self.layers, *RANGES["layers"])
        else:
            _check_range("layers", self.layers, *CNN_LAYERS, integer=True)
        self._check_per_layer("units", self.units, lambda v: _check_range("units", v, *RANGES["units"]))
        self._check_per_layer("activation", self.activation, lambda v: _check_choice("activation", v, ACTIVATIONS))
        for name in ("kernel_size", "dense_units", "conv_dropout", "dropout", "l2"):
            _check_range(name, getattr(self, name), *RANGES[name])
        for name in ("batch_norm", "augment", "early_stopping"):
            if not isinstance(getattr(self, name), bool):
                raise FieldError(name, f"{name}={getattr(self, name)!r} must be true or false")
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_range("learning_rate", self.learning_rate, *RANGES["learning_rate"])
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        for name in ("label_smoothing", "batch_size", "epochs", "seed", "noise", "train_ratio", "n_samples"):
            _check_range(name, getattr(self, name), *RANGES[name])
        self._check_train_size()
        if len(self.user_points) > MAX_USER_POINTS:
            raise ValueError(f"user_points has {len(self.user_points)} points: at most {MAX_USER_POINTS}")
        for x, y, label in self.user_points:
            if not (math.isfinite(x) and math.isfinite(y)) or not 0 <= label < self.n_classes:
                raise ValueError(f"user point ({x}, {y}, {label}) is invalid: finite x, y and class 0..{self.n_classes - 1}")

    def _check_train_size(self) -> None:
        _check_range("train_size", self.train_size, *RANGES["train_size"])
        available = TRAIN_SPLIT_SIZES.get(self.dataset, 0)
        if self.train_size and not MIN_TRAIN_SIZE <= self.train_size <= available:
            raise FieldError(
                "train_size",
                f"train_size={self.train_size!r} is impossible for dataset={self.dataset!r}: its training split has "
                f"{available:,} digits, so use {MIN_TRAIN_SIZE} to {available:,}, or 0 for all of them",
            )

    def _check_per_layer(self, name: str, value: Any, check) -> None:
        if isinstance(value, tuple):
            if len(value) != self.layers:
                raise ValueError(f"{name} has {len(value)} values but layers={self.layers}: give one value or one per layer")
            for item in value:
                check(item)
        else:
            check(value)

    # -- derived values ---------------------------------------------------------------------

    @property
    def n_classes(self) -> int:
        if self.task == "mnist":
            return 10
        return 3 if self.dataset == "three_class" else 2

    def units_per_layer(self) -> tuple[int, ...]:
        return self.units if isinstance(self.units, tuple) else (self.units,) * self.layers

    def activation_per_layer(self) -> tuple[str, ...]:
        return self.activation if isinstance(self.activation, tuple) else (self.activation,) * self.layers

    def architecture(self) -> str:
        """The network's shape, e.g. 'MLP 64-16', 'MLP no hidden layer' or 'CNN 32-64 (k3) + dense 128'."""
        units = "-".join(str(u) for u in self.units_per_layer()) or "no hidden layer"
        name = f"{self.arch.upper()} {units}"
        if self.arch == "cnn":
            name += f" (k{self.kernel_size})" + (f" + dense {self.dense_units}" if self.dense_units else "")
        return name

    def describe(self) -> str:
        """One line a person can read, e.g. 'MLP 64-16 relu, dropout 0.2, adam 1e-3, 10 epochs'."""
        parts = [self.architecture()]
        if self.layers:
            parts.append("/".join(dict.fromkeys(self.activation_per_layer())))
        for name in ("conv_dropout", "dropout", "l2", "label_smoothing"):
            if getattr(self, name):
                parts.append(f"{name.replace('_', ' ')} {getattr(self, name):g}")
        for name in ("batch_norm", "augment", "early_stopping"):
            if getattr(self, name):
                parts.append(name.replace("_", " "))
        parts.append(f"{self.optimizer} {self.learning_rate:g}")
        if self.lr_schedule != "constant":
            parts.append(f"{self.lr_schedule} schedule")
        parts.append(f"batch {self.batch_size}, {self.epochs} epochs")
        parts.append(f"{self.dataset}" + (f" (noise {self.noise:g})" if self.task == "toy" and self.noise else ""))
        if self.train_size:  # second, so a description cut short (a progress line) still names the size
            parts.insert(1, f"{self.train_size:,} of {TRAIN_SPLIT_SIZES[self.dataset]:,} training digits")
        return ", ".join(parts)

    # -- serialisation ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists). Fields added after the first cache entries
        (OMITTED_AT_DEFAULT) are left out at their default, so those entries keep their keys."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in OMITTED_AT_DEFAULT and value == f.default:
                continue
            if isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        """Build from a dict; unknown fields or wrong types raise ValueError naming them."""
        if not isinstance(data, dict):
            raise ValueError(f"a config must be a mapping of field names to values, not {type(data).__name__}")
        unknown = sorted(str(k) for k in data if k not in _FIELD_NAMES)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as error:  # e.g. a list where a number belongs
            raise ValueError(f"malformed config: {error}") from None

    def replace(self, **changes: Any) -> RunConfig:
        unknown = sorted(k for k in changes if k not in _FIELD_NAMES)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        data = self.to_dict()
        # A change of layers with per-layer values left over would be invalid: fall back to one value.
        if "layers" in changes:
            for name in ("units", "activation"):
                if name not in changes and isinstance(data[name], list):
                    data[name] = data[name][0]
        data.update(changes)
        return RunConfig.from_dict(data)

    def key(self) -> str:
        """Stable 16-hex-digit id: sha256 of the canonical JSON of every field + SCHEMA_VERSION."""
        canonical = json.dumps({"schema": SCHEMA_VERSION, "config": self.to_dict()}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


_FIELD_NAMES = frozenset(f.name for f in fields(RunConfig))
OMITTED_AT_DEFAULT = frozenset({"train_size"})
_DEFAULTS = {
    f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default) for f in fields(RunConfig)
}

# -- text form of each field (URL parameters and command-line flags share it) ----------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
MAX_PARAM_LENGTH = 4000
_BOOLS = {"batch_norm", "augment", "early_stopping"}
_INTS = {"layers", "kernel_size", "dense_units", "batch_size", "epochs", "seed", "n_samples", "train_size"}
_FLOATS = {"conv_dropout", "dropout", "l2", "learning_rate", "label_smoothing", "noise", "train_ratio"}



def _format_number(value: float) -> str:
    return f"{value:g}" if value == value else "nan"


def encode_value(name: str, value: Any) -> str:
    """The URL text of one field's value."""
    if name == "user_points":
        return ";".join(f"{_format_number(x)}:{_format_number(y)}:{label}" for x, y, label in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return _format_number(value)
    return str(value)


def expected(name: str, task: str = "mnist", arch: str = "mlp") -> str:
    """What a field accepts, in plain words for a person ("a whole number from 0 to 6")."""
    def span(low: float, high: float, integer: bool) -> str:
        return f"a whole number from {low} to {high}" if integer else f"a number from {low:g} to {high:g}"

    if name == "layers" and arch == "cnn":
        return span(*CNN_LAYERS, True) + " for a CNN"
    if name == "units":
        return span(*RANGES["units"]) + ", or one per layer separated by commas, e.g. 64,16"
    if name == "activation":
        return f"one of {', '.join(ACTIVATIONS)}, or one per layer separated by commas, e.g. relu,tanh"
    if name == "train_size":
        sizes = " or ".join(f"{size:,} ({dataset})" for dataset, size in TRAIN_SPLIT_SIZES.items())
        return f"0 (all training digits) or a whole number from {MIN_TRAIN_SIZE} to {sizes}"
    if name in RANGES:
        return span(*RANGES[name])
    if name in _BOOLS:
        return "1 or 0"
    if name == "dataset":
        return f"one of {', '.join(TOY_DATASETS if task == 'toy' else MNIST_DATASETS)} for task={task}"
    if name == "user_points":
        return f"up to {MAX_USER_POINTS} points x:y:class separated by ';', e.g. 1.5:-2:1;0:3:0"
    choices = {"task": TASKS, "arch": ARCHS, "optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES}
    return f"one of {', '.join(choices[name])}" if name in choices else "a valid value"


def decode_value(name: str, text: str) -> Any:
    """Parse one field from URL text; ValueError with a readable reason when it is not parseable."""
    if len(text) > MAX_PARAM_LENGTH:
        raise ValueError(f"too long (at most {MAX_PARAM_LENGTH} characters)")
    text = text.strip()
    if name in _BOOLS:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("expected 1 or 0")
    try:
        if name in _INTS:
            return int(text)
        if name in _FLOATS:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError("not a finite number")
            return value
        if name == "units":
            parts = [int(p) for p in text.split(",")]
            return parts[0] if len(parts) == 1 else tuple(parts)
    except ValueError as error:
        if str(error) == "not a finite number":
            raise
        kind = "a whole number" if name in _INTS else "a number" if name in _FLOATS else "whole numbers separated by commas, e.g. 64,16"
        raise ValueError(f"not {kind}") from None
    if name == "activation":
        parts = [p.strip() for p in text.split(",")]
        return parts[0] if len(parts) == 1 else tuple(parts)
    if name == "user_points":
        if not text:
            return ()
        points = []
        for item in text.split(";"):
            try:
                x, y, label = item.split(":")
                points.append((float(x), float(y), int(label)))
            except ValueError:
                raise ValueError("not points x:y:class separated by ';', e.g. 1.5:-2:1") from None
        return tuple(points)
    return text
