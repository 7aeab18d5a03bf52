"""The cache's trash: a deleted run or saved drawing waits here (default 24 h) and can be restored.

Layout: `<cache>/.trash/<kind>--<id>--<milliseconds>/`, beside `.corrupt/`:

- kind `run`: the cache entry folder itself, moved with ONE `os.replace` (same file system), so a
  kill -9 at any moment leaves the run either complete in place or complete in the trash;
- kind `digit`: a copy of the drawing's `<id>.npz` + `<id>.json`, written into a temp folder and
  moved into place with one `os.replace`; only then are the originals removed (JSON first, so the
  drawing stops being listed at once). A failure before that (e.g. a full disk) deletes nothing.

The name carries everything a listing needs (kind, id, when it was deleted), so an item is
never half-described. Items older than `$NEURAL_LAB_TRASH_HOURS` (default 24) are removed by
`expire()`, which every move and listing calls. Restoring a run whose key was trained again
meanwhile keeps the newer model (the trashed copy stays until it expires); a trashed item that
cannot be trusted goes to `<cache>/.corrupt/` with a warning instead of coming back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import Timeout

from core import cache

TRASH_FOLDER = ".trash"
KINDS = ("run", "digit")
ITEM_NAME = re.compile(r"^(run|digit)--([0-9a-f]{16}|\d{8}T\d{6}-[0-9a-f]{8})--(\d{13})$")
DEFAULT_KEEP_HOURS = 24.0
STALE_TEMP_SECONDS = 3600
LOCK_SECONDS = 10


class TrashError(OSError):
    """Moving something to the trash (or back) failed; nothing was deleted. The message is for the user."""


@dataclass(frozen=True)
class TrashItem:
    """One deleted run or drawing, as the Runs page lists it."""

    name: str  # the folder name in the trash: what restore() takes
    kind: str  # "run" | "digit"
    ident: str  # the run's key or the drawing's id
    deleted: datetime  # UTC
    description: str
    size_bytes: int

    def age_seconds(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.deleted.timestamp()


@dataclass(frozen=True)
class RestoreOutcome:
    """What a restore did, in words for the user: `restored` False means it stayed (or went to .corrupt/)."""

    restored: bool
    message: str


def keep_seconds() -> float:
    """How long deleted things are kept: `$NEURAL_LAB_TRASH_HOURS` (default 24 h; bad values -> default)."""
    try:
        hours = float(os.environ.get("NEURAL_LAB_TRASH_HOURS", DEFAULT_KEEP_HOURS))
    except ValueError:
        hours = DEFAULT_KEEP_HOURS
    if not hours >= 0:  # NaN or negative
        hours = DEFAULT_KEEP_HOURS
    return hours * 3600.0


def trash_root() -> Path:
    """`<cache>/.trash` (created on demand; raises TrashError when it cannot be, e.g. a full disk)."""
    root = cache.cache_root() / TRASH_FOLDER
    try:
        root.mkdir(exist_ok=True)
    except OSError as error:
        raise TrashError(error.errno, f"The trash folder cannot be created ({error.strerror or error}); nothing was deleted.") from error
    return root


def _item_name(kind: str, ident: str) -> str:
    return f"{kind}--{ident}--{int(time.time() * 1000):013d}"


def _parse(name: str) -> tuple[str, str, datetime] | None:
    match = ITEM_NAME.match(name)
    if not match:
        return None
    kind, ident, stamp = match.groups()
    return kind, ident, datetime.fromtimestamp(int(stamp) / 1000, tz=UTC)


def _folder_bytes(folder: Path) -> int:
    try:
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    except OSError:
        return 0


def _describe(kind: str, ident: str, folder: Path) -> str:
    try:
        if kind == "run":
            from core.config import RunConfig

            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if isinstance(meta, dict) and isinstance(meta.get("description"), str):
                return meta["description"]
            return RunConfig.from_dict(json.loads((folder / "config.json").read_text(encoding="utf-8"))).describe()
        data = json.loads((folder / f"{ident}.json").read_text(encoding="utf-8"))
        return f"saved drawing of a {int(data['label'])}"
    except (OSError, ValueError, KeyError, TypeError):
        return "(unreadable)"


def list_trash() -> list[TrashItem]:
    """Everything in the trash, newest first (expired items are removed first)."""
    expire()
    items = []
    for folder in trash_root().iterdir():
        parsed = _parse(folder.name)
        if parsed is None or not folder.is_dir():
            continue
        kind, ident, deleted = parsed
        items.append(TrashItem(folder.name, kind, ident, deleted, _describe(kind, ident, folder), _folder_bytes(folder)))
    return sorted(items, key=lambda item: item.deleted, reverse=True)


def _remove_folder(folder: Path) -> None:
    """Make a folder disappear at once (rename), then delete it at leisure."""
    doomed = folder.parent / f".tmp-gone-{uuid.uuid4().hex[:8]}"
    try:
        os.replace(folder, doomed)
    except OSError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def expire(max_age_seconds: float | None = None, now: float | None = None) -> list[str]:
    """Remove trashed items older than the limit (default `keep_seconds()`); returns their names."""
    limit = keep_seconds() if max_age_seconds is None else max_age_seconds
    now = time.time() if now is None else now
    root = cache.cache_root() / TRASH_FOLDER
    if not root.is_dir():
        return []
    removed = []
    for folder in root.iterdir():
        if folder.name.startswith(".tmp-"):
            try:
                if now - folder.stat().st_mtime > STALE_TEMP_SECONDS:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                pass
            continue
        parsed = _parse(folder.name)
        if parsed is not None and now - parsed[2].timestamp() > limit:
            _remove_folder(folder)
            removed.append(folder.name)
    return removed


# -- runs -------------------------------------------------------------------------------------


def move_run(key: str) -> TrashItem | None:
    """Move a cached run to the trash (one atomic rename); None when there is no such run.

    Raises ValueError for a bad key and TrashError when the move fails (the run stays in place).
    """
    folder = cache.entry_path(key)
    if not folder.is_dir():
        return None
    root = trash_root()
    name = _item_name("run", key)
    lock = cache._lock(key)
    try:
        lock.acquire(timeout=LOCK_SECONDS)
    except Timeout:
        raise TrashError(f"The model {key} is being written right now; nothing was deleted. Try again in a moment.") from None
    try:
        description = _describe("run", key, folder)
        size = _folder_bytes(folder)
        os.replace(folder, root / name)
    except FileNotFoundError:
        return None  # removed by someone else meanwhile
    except OSError as error:
        raise TrashError(error.errno, f"The model {key} could not be moved to the trash ({error.strerror or error}); nothing was deleted.") from error
    finally:
        lock.release()
    expire()
    parsed = _parse(name)
    return TrashItem(name, "run", key, parsed[2], description, size)


def _quarantine(folder: Path, reason: str) -> str:
    aside = cache.cache_root() / ".corrupt"
    aside.mkdir(exist_ok=True)
    try:
        os.replace(folder, aside / folder.name)
    except OSError:
        _remove_folder(folder)
    return f"The deleted item {folder.name} cannot be trusted ({reason}); it was moved to .corrupt/ and not restored."


def _restore_run(folder: Path, key: str) -> RestoreOutcome:
    newer = ("A newer model with this configuration was trained after it was deleted; the newer one is kept. "
             "The deleted copy stays in the trash until it expires.")
    if cache.entry_path(key).exists():
        return RestoreOutcome(False, newer)
    try:
        cache.check_entry_folder(folder, key)
    except cache.CorruptEntry as error:
        return RestoreOutcome(False, _quarantine(folder, str(error)))
    lock = cache._lock(key)
    try:
        lock.acquire(timeout=LOCK_SECONDS)
    except Timeout:
        return RestoreOutcome(False, f"The model {key} is being trained right now; try again when it is done.")
    try:
        if cache.entry_path(key).exists():
            return RestoreOutcome(False, newer)
        os.replace(folder, cache.entry_path(key))
    except OSError as error:
        return RestoreOutcome(False, f"The model {key} could not be restored ({error.strerror or error}); it stays in the trash.")
    finally:
        lock.release()
    return RestoreOutcome(True, f"Restored the model {key}: it loads as before.")


# -- saved drawings ---------------------------------------------------------------------------


def move_digit(digit_id: str, digits_folder: Path) -> TrashItem | None:
    """Move a saved drawing (`<id>.npz` + `<id>.json` in `digits_folder`) to the trash; None when absent.

    Copy first (temp folder + one rename), remove the originals only then: a failure deletes nothing.
    """
    source_json, source_npz = digits_folder / f"{digit_id}.json", digits_folder / f"{digit_id}.npz"
    if not source_json.is_file():
        return None
    root = trash_root()
    name = _item_name("digit", digit_id)
    temp = root / f".tmp-{name}"
    try:
        temp.mkdir()
        for source in (source_npz, source_json):
            if source.is_file():
                shutil.copyfile(source, temp / source.name)
                with open(temp / source.name, "rb") as handle:
                    os.fsync(handle.fileno())
        os.replace(temp, root / name)
    except OSError as error:
        shutil.rmtree(temp, ignore_errors=True)
        raise TrashError(error.errno, f"The drawing could not be moved to the trash ({error.strerror or error}); nothing was deleted.") from error
    source_json.unlink(missing_ok=True)  # first: the drawing stops being listed at once
    source_npz.unlink(missing_ok=True)
    expire()
    parsed = _parse(name)
    return TrashItem(name, "digit", digit_id, parsed[2], _describe("digit", digit_id, root / name), _folder_bytes(root / name))


def _restore_digit(folder: Path, digit_id: str, digits_folder: Path) -> RestoreOutcome:
    import numpy as np

    if (digits_folder / f"{digit_id}.json").exists():
        return RestoreOutcome(False, "That drawing is saved already; the deleted copy stays in the trash until it expires.")
    try:
        data = json.loads((folder / f"{digit_id}.json").read_text(encoding="utf-8"))
        if not (isinstance(data, dict) and isinstance(data.get("label"), int) and 0 <= data["label"] <= 9):
            raise ValueError("no label 0-9")
        with np.load(folder / f"{digit_id}.npz", allow_pickle=False) as arrays:
            if arrays["image"].shape != (28, 28):
                raise ValueError("the image is not 28x28")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return RestoreOutcome(False, _quarantine(folder, f"{type(error).__name__}: {str(error)[:120]}"))
    try:
        for suffix in (".npz", ".json"):  # JSON last: the drawing is listed only once it is whole
            temp = digits_folder / f".tmp-restore-{digit_id}{suffix}"
            shutil.copyfile(folder / f"{digit_id}{suffix}", temp)
            os.replace(temp, digits_folder / f"{digit_id}{suffix}")
    except OSError as error:
        for suffix in (".npz", ".json"):
            (digits_folder / f".tmp-restore-{digit_id}{suffix}").unlink(missing_ok=True)
        return RestoreOutcome(False, f"The drawing could not be restored ({error.strerror or error}); it stays in the trash.")
    _remove_folder(folder)
    return RestoreOutcome(True, f"Restored the saved drawing of a {data['label']}.")


# -- restore ----------------------------------------------------------------------------------


def restore(name: str, digits_folder: Path | None = None) -> RestoreOutcome:
    """Bring a trashed item back where it was. Never raises for a missing, corrupt or superseded item:
    the outcome says what happened. `digits_folder` is needed for drawings (core.user_digits passes it)."""
    parsed = _parse(name) if isinstance(name, str) else None
    if parsed is None:
        raise ValueError(f"{name!r} is not an item of the trash")
    kind, ident, _ = parsed
    folder = trash_root() / name
    if not folder.is_dir():
        return RestoreOutcome(False, "That item is no longer in the trash (restored or expired meanwhile).")
    if kind == "run":
        return _restore_run(folder, ident)
    if digits_folder is None:
        from core import user_digits

        digits_folder = user_digits.digits_dir()
    return _restore_digit(folder, ident, digits_folder)
