"""One trained model per hyperparameter combination, on disk, shared by every process and user.

Layout: `<root>/<key>/` holds `model.keras`, `history.json`, `config.json`, `meta.json`, an
optional `arrays.npz` (e.g. boundary snapshots) and `artifacts/*.npz` added later (e.g. test
predictions). The root is `$NEURAL_LAB_CACHE_DIR`, default `<repo>/cached_models`.

Habits borrowed from joblib.Memory: an entry is written into a temp folder beside it and moved
into place with one `os.replace`, so a reader never sees half an entry and a kill -9 mid-save
leaves only a `.tmp-*` folder that nobody reads; a corrupt entry is a warning, is moved aside
and retrained, never a crash. A file lock per key makes two processes asking for the same new
combination train it once: the second waits, then loads. Least recently used entries are evicted
beyond `$NEURAL_LAB_CACHE_MAX_MB` (default 2048).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock, Timeout

from core.config import OMITTED_AT_DEFAULT, SCHEMA_VERSION, RunConfig

if TYPE_CHECKING:  # TensorFlow is imported only where a model is built, trained or loaded, so a page that
    # lists runs or reads a job record (Train before its first training, Runs) never waits for it
    from core.training import Listener, Run

log = logging.getLogger("neural_lab.cache")

REPO_ROOT = Path(__file__).resolve().parent.parent
ENTRY_FILES = ("model.keras", "history.json", "config.json", "meta.json")
KEY_PATTERN = re.compile(r"^[0-9a-f]{16}$")
ARTIFACT_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
STALE_TEMP_SECONDS = 3600
LOCK_WAIT_SECONDS = 6 * 3600


class CorruptEntry(Exception):
    """An entry on disk that cannot be trusted (missing file, bad JSON, wrong schema, unloadable model)."""


class CacheWriteError(OSError):
    """Storing an entry failed (e.g. no space left); nothing was written and the cache is unchanged."""


def cache_root() -> Path:
    root = Path(os.environ.get("NEURAL_LAB_CACHE_DIR") or REPO_ROOT / "cached_models")
    root.mkdir(parents=True, exist_ok=True)
    return root


def max_bytes() -> int:
    try:
        megabytes = float(os.environ.get("NEURAL_LAB_CACHE_MAX_MB", "2048"))
    except ValueError:
        megabytes = 2048.0
    return int(megabytes * 1024 * 1024)


def check_key(key: str) -> str:
    """Keys come from URLs and command lines: only 16 lowercase hex digits may become a path."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValueError(f"{key!r} is not a model key (16 hex digits)")
    return key


def entry_path(key: str) -> Path:
    return cache_root() / check_key(key)


def _lock(key: str) -> FileLock:
    locks = cache_root() / ".locks"
    locks.mkdir(exist_ok=True)
    return FileLock(str(locks / f"{check_key(key)}.lock"))


def _json(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.loads(handle.read(), parse_constant=lambda name: float(name))


def _dump_json(data: Any, path: Path) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True, default=_jsonable), encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


# -- reading ----------------------------------------------------------------------------------


def read_meta(key: str) -> dict[str, Any]:
    """meta.json + config of an entry without loading the model (fast: used for listings)."""
    return _read_meta_at(entry_path(key), key)


def check_entry_folder(folder: Path, key: str) -> dict[str, Any]:
    """The meta of an entry folder kept elsewhere (e.g. in the trash) if it can become entry `key`
    again: every file present, metadata readable, config hashing to `key`; else CorruptEntry."""
    check_key(key)
    missing = [name for name in ENTRY_FILES if not (folder / name).is_file()]
    if missing:
        raise CorruptEntry(f"missing {', '.join(missing)}")
    return _read_meta_at(folder, key)


def _read_meta_at(folder: Path, key: str) -> dict[str, Any]:
    try:
        meta = _json(folder / "meta.json")
        config = RunConfig.from_dict(_json(folder / "config.json"))
    except FileNotFoundError as error:
        raise CorruptEntry(f"missing {Path(error.filename).name}") from None
    except (ValueError, OSError) as error:
        raise CorruptEntry(f"unreadable metadata: {error}") from None
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA_VERSION:
        raise CorruptEntry(f"schema {meta.get('schema') if isinstance(meta, dict) else '?'} is not the current {SCHEMA_VERSION}")
    if config.key() != key:
        raise CorruptEntry("its config.json does not hash to its folder name")
    meta["config"] = config
    return meta


def read_history(key: str) -> dict[str, list[float]] | None:
    """history.json of an entry without loading the model (for overlaying curves); None if unreadable."""
    try:
        history = _json(entry_path(key) / "history.json")
    except (OSError, ValueError):
        return None
    return history if isinstance(history, dict) else None


def _load_entry(key: str) -> Run:
    import keras

    from core.training import Run

    folder = entry_path(key)
    meta = read_meta(key)
    config = meta.pop("config")
    missing = [name for name in ENTRY_FILES if not (folder / name).is_file()]
    if missing:
        raise CorruptEntry(f"missing {', '.join(missing)}")
    try:
        history = _json(folder / "history.json")
        if not isinstance(history, dict):
            raise ValueError("history is not a mapping")
        arrays = {}
        if (folder / "arrays.npz").exists():
            with np.load(folder / "arrays.npz", allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        model = keras.models.load_model(folder / "model.keras", compile=False)  # safe_mode stays on
    except Exception as error:  # noqa: BLE001 - any failure to read means the entry cannot be trusted
        raise CorruptEntry(f"{type(error).__name__}: {str(error)[:200]}") from None
    return Run(config=config, model=model, history=history, meta=meta, arrays=arrays, cached=True, path=folder)


def _quarantine(key: str, reason: str) -> str:
    """Move a corrupt entry aside (never delete evidence in place) and return the user-facing note."""
    folder = entry_path(key)
    note = f"The cached model {key} was corrupt ({reason}); it was moved aside and will be trained again."
    log.warning(note)
    aside = cache_root() / ".corrupt"
    aside.mkdir(exist_ok=True)
    stamp = int(time.time() * 1000)
    try:
        os.replace(folder, aside / f"{key}-{stamp}")
    except OSError:
        try:
            # A folder a non-root user cannot write to (chmod 000) cannot change parent (its `..`
            # would change), but it can be renamed beside itself.
            os.replace(folder, cache_root() / f".corrupt-{key}-{stamp}")
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
    return note


def exists(config_or_key: RunConfig | str) -> bool:
    """True when an entry with this key is on disk (not checked for corruption: use load for that)."""
    key = config_or_key.key() if isinstance(config_or_key, RunConfig) else config_or_key
    return (entry_path(key) / "meta.json").is_file()


def load(config_or_key: RunConfig | str, notes: list[str] | None = None) -> Run | None:
    """The cached Run, or None when there is none. A corrupt entry is moved aside (note added) -> None."""
    key = config_or_key.key() if isinstance(config_or_key, RunConfig) else check_key(config_or_key)
    folder = entry_path(key)
    if not folder.is_dir():
        return None
    try:
        run = _load_entry(key)
    except (CorruptEntry, PermissionError, OSError) as error:
        note = _quarantine(key, str(error))
        if notes is not None:
            notes.append(note)
        return None
    _touch(folder)
    run.notes = list(notes or [])
    return run


def _touch(folder: Path) -> None:
    # Last use = the folder's mtime; eviction removes the least recently used first.
    try:
        os.utime(folder)
    except OSError:
        pass


# -- writing ----------------------------------------------------------------------------------


def save(run: Run) -> Path:
    """Write a Run atomically as its entry (replacing nothing: callers hold the key's lock)."""
    key = run.config.key()
    root = cache_root()
    _clean_stale_temps(root)
    temp = root / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        run.model.save(temp / "model.keras")
        _dump_json(run.history, temp / "history.json")
        _dump_json(run.config.to_dict(), temp / "config.json")
        if run.arrays:
            np.savez_compressed(temp / "arrays.npz", **run.arrays)
        size = sum(p.stat().st_size for p in temp.iterdir())
        meta = dict(run.meta, size_bytes=size)
        _dump_json(meta, temp / "meta.json")  # last: an entry without meta.json is never valid
        _fsync_tree(temp)
        final = entry_path(key)
        if final.exists():
            _quarantine(key, "replaced by a new training")
        os.replace(temp, final)
    except OSError as error:
        shutil.rmtree(temp, ignore_errors=True)
        reason = error.strerror or str(error)
        raise CacheWriteError(error.errno, f"could not store the model {key} in {root}: {reason}; nothing was written") from error
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    run.meta = meta
    run.path = final
    evict(keep=key)
    return final


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _clean_stale_temps(root: Path) -> None:
    now = time.time()
    for temp in root.glob(".tmp-*"):
        try:
            if now - temp.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(temp, ignore_errors=True)
        except OSError:
            pass


def store_artifact(key: str, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Add derived arrays (e.g. test predictions) to an existing entry, atomically."""
    if not ARTIFACT_NAME.match(name):
        raise ValueError(f"artifact name {name!r} must be lowercase letters, digits and _")
    folder = entry_path(key) / "artifacts"
    if not folder.parent.is_dir():
        return
    folder.mkdir(exist_ok=True)
    temp = folder / f".tmp-{name}-{uuid.uuid4().hex[:8]}.npz"
    np.savez_compressed(temp, **arrays)
    os.replace(temp, folder / f"{name}.npz")


def load_artifact(key: str, name: str) -> dict[str, np.ndarray] | None:
    """Arrays stored with store_artifact, or None (missing or unreadable: the caller recomputes)."""
    if not ARTIFACT_NAME.match(name):
        raise ValueError(f"artifact name {name!r} must be lowercase letters, digits and _")
    return _read_npz(entry_path(key) / "artifacts" / f"{name}.npz", f"artifact {name} of {key}")


def _read_npz(path: Path, what: str) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {item: data[item] for item in data.files}
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001 - a bad file is recomputed, never a crash
        log.warning("%s unreadable (%s); it will be recomputed", what, error)
        return None


def _result_path(kind: str, key: str) -> Path:
    if not ARTIFACT_NAME.match(kind):
        raise ValueError(f"result kind {kind!r} must be lowercase letters, digits and _")
    return cache_root() / ".results" / kind / f"{check_key(key)}.npz"


def store_result(kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    """Arrays computed for a key that names no trained entry (e.g. core.lr_finder's range test of a
    config minus its learning rate), in `<root>/.results/<kind>/<key>.npz`, atomically."""
    path = _result_path(kind, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".tmp-{key}-{uuid.uuid4().hex[:8]}.npz")
    np.savez_compressed(temp, **arrays)
    os.replace(temp, path)


def load_result(kind: str, key: str) -> dict[str, np.ndarray] | None:
    """Arrays stored with store_result, or None (missing or unreadable: the caller recomputes)."""
    return _read_npz(_result_path(kind, key), f"{kind} result {key}")


# -- the one entry point ----------------------------------------------------------------------


def train(config: RunConfig, listener: Listener | None = None, **train_options: Any) -> Run:
    """core.training.train, imported when first needed (tests count trainings by replacing this name)."""
    from core.training import train as train_model

    return train_model(config, listener, **train_options)


def get_or_train(config: RunConfig, listener: Listener | None = None, **train_options: Any) -> Run:
    """The model for `config`: loaded from the cache when present, else trained once and stored.

    While another process (or session) trains the same combination, the listener receives a
    "waiting" event, then the finished entry is loaded. A run stopped by the listener is returned
    uncached (`run.stopped_at` set). Corrupt entries are retrained and reported in `run.notes`.
    """
    notes: list[str] = []
    run = load(config, notes)
    if run is not None:
        return run
    key = config.key()
    lock = _lock(key)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if listener is not None:
            from core.training import TrainingEvent

            listener(TrainingEvent("waiting", epochs=config.epochs))
        lock.acquire(timeout=LOCK_WAIT_SECONDS)
    try:
        run = load(config, notes)
        if run is not None:
            return run
        run = train(config, listener, **train_options)
        run.notes = notes
        if run.stopped_at is None:
            save(run)
        return run
    finally:
        lock.release()


def is_training_elsewhere(config: RunConfig) -> bool:
    """True while some process holds the training lock of this combination."""
    lock = _lock(config.key())
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


# -- listing, removal, eviction ---------------------------------------------------------------


def entry_keys() -> list[str]:
    return sorted(p.name for p in cache_root().iterdir() if p.is_dir() and KEY_PATTERN.match(p.name))


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@dataclass(frozen=True)
class RunSummary:
    """One valid cache entry as a listing shows it: its config and metrics, without loading the model."""

    key: str
    config: RunConfig
    description: str
    test_accuracy: float | None
    val_accuracy: float | None
    train_accuracy: float | None
    epochs_run: int | None
    best_epoch: int | None
    train_seconds: float | None
    params: int | None
    size_mb: float
    created: str | None  # ISO time (UTC) the entry was written
    last_used: datetime  # UTC: the folder's modification time, refreshed by every load

    def as_row(self) -> dict[str, Any]:
        """One flat record for a table: key, description, every config field (lists as '64,16'), metrics."""
        row: dict[str, Any] = {"key": self.key, "description": self.description}
        row.update({name: (",".join(map(str, v)) if isinstance(v, list) else v) for name, v in self.config.to_dict().items()})
        row.update({name: getattr(self.config, name) for name in OMITTED_AT_DEFAULT if name not in row})  # out of the key, not the table
        for name in ("test_accuracy", "val_accuracy", "train_accuracy", "epochs_run", "best_epoch", "train_seconds", "params",
                     "created", "size_mb", "last_used"):
            row[name] = getattr(self, name)
        return row


def list_runs() -> list[RunSummary]:
    """Every valid entry, newest first (cheap: reads the meta.json and config.json files only)."""
    summaries = []
    for key in entry_keys():
        try:
            meta = read_meta(key)
            last_used = datetime.fromtimestamp(entry_path(key).stat().st_mtime, tz=UTC)
        except (CorruptEntry, OSError):
            continue  # half-written, corrupt or just removed: invisible here, repaired when it is asked for
        config = meta["config"]
        summaries.append(RunSummary(
            key=key, config=config, description=meta.get("description", config.describe()),
            test_accuracy=meta.get("test_accuracy"), val_accuracy=meta.get("val_accuracy"),
            train_accuracy=meta.get("train_accuracy"), epochs_run=meta.get("epochs_run"), best_epoch=meta.get("best_epoch"),
            train_seconds=meta.get("train_seconds"), params=meta.get("params"),
            size_mb=round(meta.get("size_bytes", 0) / 1e6, 2), created=meta.get("created"), last_used=last_used,
        ))
    # Newest first; an entry without a creation time goes last.
    return sorted(summaries, key=lambda summary: summary.created or "", reverse=True)


def remove(key: str) -> bool:
    """Delete an entry for good (eviction uses it); False when there was none.

    A person deleting a run goes through `core.trash.move_run` instead, so it can be restored."""
    folder = entry_path(key)
    if not folder.is_dir():
        return False
    trash = cache_root() / f".tmp-removed-{key}-{uuid.uuid4().hex[:8]}"
    os.replace(folder, trash)  # atomic disappearance, then the slow delete
    shutil.rmtree(trash, ignore_errors=True)
    return True


def evict(keep: str | None = None, limit_bytes: int | None = None) -> list[str]:
    """Remove least recently used entries until the cache fits the cap; never `keep`. Returns removed keys."""
    limit = max_bytes() if limit_bytes is None else limit_bytes
    entries = []
    for key in entry_keys():
        folder = entry_path(key)
        try:
            entries.append((folder.stat().st_mtime, key, _folder_bytes(folder)))
        except OSError:
            continue
    total = sum(size for *_, size in entries)
    removed = []
    for _, key, size in sorted(entries):
        if total <= limit or math.isclose(total, limit):
            break
        if key == keep:
            continue
        if remove(key):
            removed.append(key)
            total -= size
    return removed
