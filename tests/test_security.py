"""Nothing from a URL, a command line or an upload becomes a file path; saved models load with
Keras `safe_mode` on (a model carrying code is refused); nothing is ever unpickled."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from core import cache, user_digits
from core.preprocess import UploadError, decode_upload

REPO = Path(__file__).resolve().parent.parent
HOSTILE_KEYS = [
    "../x", "../../etc/passwd", "/etc/passwd", "..", ".", "", " ", "0123456789abcdeF", "0123456789abcde",
    "0123456789abcdef0", "0123456789abcde\n", "0123456789abcde/", ".tmp-0123456789ab", ".corrupt", ".locks",
    "0123456789ab\x00cde", "０１２３４５６７８９ａｂｃｄｅｆ", None, 12345, b"0123456789abcdef",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=repr)
def test_keys_are_validated_as_hex_before_becoming_paths(key, cache_dir):
    with pytest.raises(ValueError):
        cache.entry_path(key)
    for use in (cache.load, cache.remove, cache.read_meta):
        with pytest.raises(ValueError):
            use(key)
    with pytest.raises(ValueError):
        cache.store_artifact(key, "predictions", {"x": np.zeros(1)})
    assert list(cache_dir.iterdir()) == []  # nothing was created


@pytest.mark.parametrize("name", ["../x", "a/b", "A", "", "x" * 65, "pred.npz", "..", "a b"])
def test_artifact_names_cannot_escape_the_entry(name):
    with pytest.raises(ValueError):
        cache.load_artifact("0123456789abcdef", name)


@pytest.mark.parametrize("digit_id", ["../x", "/etc/passwd", "..", "", "a/b", None])
def test_user_digit_ids_are_validated_before_becoming_paths(digit_id):
    with pytest.raises(ValueError):
        user_digits.check_id(digit_id)


def test_a_model_that_carries_code_is_refused_and_retrained(cache_dir, tiny_mlp):
    """A Lambda layer is arbitrary Python: with safe_mode on, loading it fails -> corrupt -> retrained."""
    import keras

    config = tiny_mlp.replace(epochs=1)
    first = cache.get_or_train(config)
    inputs = keras.Input((28, 28))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Lambda(lambda x: keras.ops.reshape(x, (-1, 784)) / 255.0)(inputs))
    keras.Model(inputs, outputs).save(first.path / "model.keras")

    run = cache.get_or_train(config)

    assert not run.cached
    assert run.notes and "corrupt" in run.notes[0]
    assert "Lambda" not in [type(layer).__name__ for layer in run.model.layers]


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\x00" * 1000, "not a readable PNG or JPEG"),
        (b"GIF89a" + b"\x00" * 100, "not a readable PNG or JPEG"),
        (_png_header(100_000, 100_000), "pixels"),  # a decompression bomb: a tiny file, a huge header
        (_png_header(8_000, 8_000), "million pixels"),  # over our own cap, under Pillow's bomb limit
        (_png_header(30, 30)[:40], "not a readable PNG or JPEG"),  # truncated
        (b"\x89PNG" + b"\x00" * (9 * 1024 * 1024), "limit"),  # over the size cap
    ],
    ids=["empty", "zeros", "gif", "decompression-bomb", "over-pixel-cap", "truncated-png", "too-big"],
)
def test_bad_uploads_are_refused_with_a_message(data, message):
    with pytest.raises(UploadError, match=message):
        decode_upload(data)


# -- no pickle anywhere -----------------------------------------------------------------------


def _project_python() -> list[Path]:
    import os

    files = []
    for folder, subfolders, names in os.walk(REPO):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in ("node_modules", "cached_models", "test-output", "__pycache__")]
        files += [Path(folder) / name for name in names if name.endswith(".py")]
    return files


FORBIDDEN = [
    (re.compile(r"^\s*(import|from)\s+(c?pickle|dill|cloudpickle|joblib|shelve)\b", re.M), "imports a pickle-based serializer"),
    (re.compile(r"\bpickle\.(loads?|dumps?)\b"), "uses pickle"),
    (re.compile(r"allow_pickle\s*=\s*True"), "allows pickle in np.load"),
    (re.compile(r"safe_mode\s*=\s*False"), "turns off Keras safe_mode"),
    (re.compile(r"\btorch\.load\b|\bpd\.read_pickle\b|\.to_pickle\("), "loads a pickle"),
]


def test_no_pickle_anywhere_in_the_projects_python():
    files = _project_python()
    assert len(files) > 20  # the scan really sees the project
    this_file = Path(__file__).resolve()
    problems = []
    for path in files:
        if path.resolve() == this_file:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern, what in FORBIDDEN:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(REPO)}:{line} {what}")
        # Production code spells allow_pickle=False on every np.load (tests may rely on numpy's default).
        if path.relative_to(REPO).parts[0] in ("core", "dashboard"):
            for match in re.finditer(r"\bnp\.load\(([^()]*(\([^()]*\))?)*\)", text):
                if "allow_pickle=False" not in match.group(0):
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(f"{path.relative_to(REPO)}:{line} np.load without allow_pickle=False")
    assert problems == []


def test_the_cache_loads_models_with_safe_mode_on():
    source = (REPO / "core" / "cache.py").read_text()
    calls = re.findall(r"load_model\(([^)]*)\)", source)
    assert calls, "core/cache.py no longer loads models with keras.models.load_model"
    assert all("safe_mode" not in call or "safe_mode=True" in call for call in calls)
