"""One line per destructive action (delete, restore, cancel, refused attempts) in `<cache>/audit.log`.

Each line is a JSON object: `time` (UTC ISO), `action`, `keys` (run keys, drawing ids or trash
item names), `session` (the browser session's random id, or "cli"), `mode` ("personal" |
"shared" | "cli"), `role` ("admin" | "visitor" | "owner") and an optional `detail`. Never a
secret: callers pass only these fields.

Concurrent writers (several sessions, servers and the CLI on one cache) are safe: a file lock
around one `write` of the whole line on a file opened with O_APPEND, so lines never interleave.
A line that cannot be parsed (a torn tail after a crash) is skipped when reading.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

LOG_NAME = "audit.log"
LOCK_SECONDS = 10
TAIL_BYTES = 256 * 1024  # enough for the last few hundred lines


def log_path(root: Path | None = None) -> Path:
    """`<cache>/audit.log` (`root` defaults to the cache folder; core.cache is imported only then)."""
    if root is None:
        from core import cache

        root = cache.cache_root()
    return Path(root) / LOG_NAME


def record(action: str, keys: Iterable[str], *, session: str, mode: str, role: str = "", detail: str = "",
           root: Path | None = None) -> dict[str, Any]:
    """Append one line and return it. Raises OSError when it cannot be written (e.g. a full disk)."""
    line = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "action": str(action),
        "keys": [str(key) for key in keys],
        "session": str(session),
        "mode": str(mode),
        "role": str(role),
    }
    if detail:
        line["detail"] = str(detail)[:300]
    data = (json.dumps(line, sort_keys=True) + "\n").encode("utf-8")
    path = log_path()
    locks = path.parent / ".locks"
    locks.mkdir(exist_ok=True)
    with FileLock(str(locks / "audit.lock"), timeout=LOCK_SECONDS):
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(descriptor).st_size
            if size and os.pread(descriptor, 1, size - 1) != b"\n":
                data = b"\n" + data  # a torn line (a writer killed mid-line) stays alone on its line
            written = os.write(descriptor, data)
            if written != len(data):
                raise OSError(f"only {written} of {len(data)} bytes of the audit line were written")
        finally:
            os.close(descriptor)
    return line


def tail(count: int = 10, root: Path | None = None) -> list[dict[str, Any]]:
    """The last `count` readable lines, newest first ([] when there is no log yet)."""
    path = log_path(root)
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - TAIL_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    lines = []
    for raw in reversed(text.splitlines()):
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and "action" in line:
            lines.append(line)
            if len(lines) >= count:
                break
    return lines
