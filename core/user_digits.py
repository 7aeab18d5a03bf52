"""Drawings a user saved as labelled examples: a tiny personal test set ("teach it").

One example = `<id>.npz` (the prepared 28x28 image and the raw canvas/upload RGBA, no pickle)
plus `<id>.json` (label, source, when, a hash to refuse duplicates), in
`$NEURAL_LAB_USER_DIGITS_DIR` (default `<repo>/user_digits/`, git-ignored). File names are
generated here, never taken from the user; the JSON is written last, so a half-saved example
(no JSON) is never listed. Anything unreadable in the folder is skipped, not fatal.

A drawing remembers its `owner` (the browser session that saved it), so that on a shared server
a visitor deletes only their own. Bounds keep one visitor (and the class) from filling the disk:
per owner and in total, in count and bytes; past one, `NotSaved` says so and nothing is written.
Deleting moves the drawing to the cache's trash (`core.trash`), from where it can be restored.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.preprocess import FIELD, Prepared

REPO_ROOT = Path(__file__).resolve().parent.parent
ID_PATTERN = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{8}$")
MAX_DIGITS = 2000  # a shared server must not fill its disk one drawing at a time
MAX_BYTES = 100 * 1024 * 1024  # all drawings together
MAX_DIGITS_PER_OWNER = 200  # one browser session
MAX_BYTES_PER_OWNER = 10 * 1024 * 1024
SOURCES = ("canvas", "upload")


class NotSaved(ValueError):
    """A drawing that must not become an example; the message is written for the user."""


@dataclass(frozen=True)
class UserDigit:
    id: str
    label: int
    image: np.ndarray  # (28, 28) float32 0-255, as the model sees it
    source: str
    created: str
    digest: str
    owner: str | None = None  # the session that saved it (None: saved before owners were kept, or by the CLI)

    def raw(self) -> np.ndarray | None:
        """The canvas or upload as it was received (RGBA uint8), read on demand."""
        return load_raw(self.id)


def digits_dir() -> Path:
    folder = Path(os.environ.get("NEURAL_LAB_USER_DIGITS_DIR") or REPO_ROOT / "user_digits")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_id(digit_id: str) -> str:
    if not isinstance(digit_id, str) or not ID_PATTERN.match(digit_id):
        raise ValueError(f"{digit_id!r} is not a saved-digit id")
    return digit_id


def image_digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image, dtype=np.float32).tobytes()).hexdigest()[:32]


def _metadata(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        label = data["label"]
        if not (isinstance(label, int) and 0 <= label <= 9 and ID_PATTERN.match(path.stem)):
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _ids_and_metadata() -> list[tuple[str, dict]]:
    entries = []
    for path in sorted(digits_dir().glob("*.json")):
        data = _metadata(path)
        if data is not None:
            entries.append((path.stem, data))
    return entries


def _stored_bytes(folder: Path, digit_id: str) -> int:
    total = 0
    for suffix in (".npz", ".json"):
        try:
            total += (folder / f"{digit_id}{suffix}").stat().st_size
        except OSError:
            pass
    return total


def _check_room(existing: list[tuple[str, dict]], owner: str | None, new_bytes: int) -> None:
    """NotSaved when one more drawing of `new_bytes` would pass a bound (total, or this owner's)."""
    folder = digits_dir()
    sizes = {digit_id: _stored_bytes(folder, digit_id) for digit_id, _ in existing}
    if len(existing) >= MAX_DIGITS:
        raise NotSaved(f"Nothing was saved: the folder already holds {MAX_DIGITS} drawings. Delete some first.")
    if sum(sizes.values()) + new_bytes > MAX_BYTES:
        raise NotSaved(f"Nothing was saved: the saved drawings already fill {MAX_BYTES // 2**20} MB, the most this server keeps. "
                       "Ask the teacher to delete some.")
    if owner is None:
        return
    mine = [digit_id for digit_id, data in existing if data.get("owner") == owner]
    if len(mine) >= MAX_DIGITS_PER_OWNER:
        raise NotSaved(f"Nothing was saved: you already saved {len(mine)} drawings, the most one visitor may keep "
                       f"({MAX_DIGITS_PER_OWNER}). Delete some of yours first.")
    if sum(sizes[digit_id] for digit_id in mine) + new_bytes > MAX_BYTES_PER_OWNER:
        raise NotSaved(f"Nothing was saved: your drawings already fill the {MAX_BYTES_PER_OWNER // 2**20} MB one visitor may use. "
                       "Delete some of yours first (an upload keeps its whole picture).")


def save_digit(prepared: Prepared, label: int, raw: np.ndarray | None = None, source: str = "canvas",
               owner: str | None = None) -> UserDigit:
    """Store a prepared drawing as an example of `label`; raises NotSaved with the reason otherwise.

    Refused: nothing readable, ink touching the edge (part of the digit may be missing), a label
    outside 0-9, the same image saved before, or a bound passed (count or bytes, in total or for
    this `owner`, the browser session saving it). Nothing is written when refused.
    """
    if not isinstance(label, (int, np.integer)) or isinstance(label, bool) or not 0 <= int(label) <= 9:
        raise NotSaved(f"The label must be a digit 0-9, not {label!r}.")
    if not prepared.ok:
        raise NotSaved(f"Nothing was saved: {prepared.message}")
    if prepared.touches_edge:
        raise NotSaved("Nothing was saved: the digit touches the edge, so part of it may be missing. Draw it inside the frame.")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    image = np.asarray(prepared.image, dtype=np.float32)
    if image.shape != (FIELD, FIELD):
        raise NotSaved("Nothing was saved: the prepared image is not 28x28.")
    digest = image_digest(image)
    existing = _ids_and_metadata()
    for _, data in existing:
        if data.get("digest") == digest:
            raise NotSaved(f"This drawing is already saved (as a {data['label']}).")

    now = datetime.now(UTC)
    digit_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    arrays = {"image": image}
    if raw is not None:
        arrays["raw"] = np.clip(np.nan_to_num(np.asarray(raw, dtype=np.float64)), 0, 255).astype(np.uint8)
    metadata = {"label": int(label), "source": source, "created": now.isoformat(timespec="seconds"), "digest": digest}
    if owner is not None:
        metadata["owner"] = str(owner)
    packed = io.BytesIO()  # compressed in memory first: its size is checked before anything is written
    np.savez_compressed(packed, **arrays)
    text = json.dumps(metadata)
    _check_room(existing, owner, packed.getbuffer().nbytes + len(text))

    folder = digits_dir()
    temp = folder / f".tmp-{digit_id}"
    try:
        Path(f"{temp}.npz").write_bytes(packed.getvalue())
        os.replace(f"{temp}.npz", folder / f"{digit_id}.npz")
        Path(f"{temp}.json").write_text(text, encoding="utf-8")
        os.replace(f"{temp}.json", folder / f"{digit_id}.json")  # last: only now is the example listed
    except OSError as error:
        (folder / f"{digit_id}.npz").unlink(missing_ok=True)
        raise NotSaved(f"Nothing was saved: the server could not write the drawing ({error.strerror or error}).") from error
    finally:
        for suffix in (".npz", ".json"):
            Path(f"{temp}{suffix}").unlink(missing_ok=True)
    return UserDigit(digit_id, int(label), image, source, metadata["created"], digest, metadata.get("owner"))


def _load_image(digit_id: str) -> np.ndarray | None:
    try:
        with np.load(digits_dir() / f"{check_id(digit_id)}.npz", allow_pickle=False) as data:
            image = np.asarray(data["image"], dtype=np.float32)
    except (OSError, ValueError, KeyError):
        return None
    if image.shape != (FIELD, FIELD) or not np.all(np.isfinite(image)):
        return None
    return np.clip(image, 0.0, 255.0)


def load_raw(digit_id: str) -> np.ndarray | None:
    """The raw RGBA input of a saved example, or None (not stored or unreadable)."""
    try:
        with np.load(digits_dir() / f"{check_id(digit_id)}.npz", allow_pickle=False) as data:
            return np.asarray(data["raw"]) if "raw" in data.files else None
    except (OSError, ValueError, KeyError):
        return None


def list_digits() -> list[UserDigit]:
    """Every readable saved example, oldest first."""
    digits = []
    for digit_id, data in _ids_and_metadata():
        image = _load_image(digit_id)
        if image is not None:
            owner = data.get("owner")
            digits.append(UserDigit(digit_id, int(data["label"]), image, str(data.get("source", "")), str(data.get("created", "")),
                                    str(data.get("digest", "")), owner if isinstance(owner, str) else None))
    return digits


def load_digits() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images (N, 28, 28) float32, labels (N,) int64, ids) of every saved example."""
    digits = list_digits()
    images = np.stack([d.image for d in digits]) if digits else np.zeros((0, FIELD, FIELD), np.float32)
    labels = np.array([d.label for d in digits], dtype=np.int64)
    return images, labels, [d.id for d in digits]


def delete_digit(digit_id: str) -> bool:
    """Move one example to the cache's trash (restorable there); False when it did not exist.

    Raises ValueError for an id that is not one, core.trash.TrashError when the move failed (then
    nothing was deleted). Who may delete which drawing is the dashboard's decision (dashboard/admin.py)."""
    from core import trash

    check_id(digit_id)
    return trash.move_digit(digit_id, digits_dir()) is not None


def owner_of(digit_id: str) -> str | None:
    """The session that saved a drawing (None when unknown or not saved)."""
    data = _metadata(digits_dir() / f"{check_id(digit_id)}.json")
    owner = data.get("owner") if data else None
    return owner if isinstance(owner, str) else None


@dataclass(frozen=True)
class UserDigitScore:
    """A model's answers on the saved examples."""

    labels: np.ndarray
    probabilities: np.ndarray  # (N, 10)
    confusion: np.ndarray  # (10, 10), row = true label, column = predicted

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predicted == self.labels)) if len(self.labels) else float("nan")


def evaluate(predict, images: np.ndarray, labels: np.ndarray) -> UserDigitScore:
    """Score a predictor (e.g. `core.models.predict_fn(model)`) on saved examples."""
    from core.evaluation import confusion_matrix

    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        raise ValueError("there are no saved drawings to evaluate on")
    probabilities = np.asarray(predict(np.asarray(images, dtype=np.float32)), dtype=np.float32)
    if probabilities.shape != (len(labels), 10):
        raise ValueError(f"expected (N, 10) probabilities from an MNIST model, got {probabilities.shape}")
    return UserDigitScore(labels, probabilities, confusion_matrix(labels, probabilities.argmax(axis=1), 10))
