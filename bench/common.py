"""What the benchmarks share: the offline environment they run in and /proc readings.

Servers, Chromium's flags and waiting for a Streamlit run come from tests/helpers.py (the same code
the browser tests use), so a benchmark drives the app exactly as the tests do.
"""

from __future__ import annotations

import os
from pathlib import Path


def offline_environment() -> None:
    """Benchmarks use the embedded data and never download (children inherit this)."""
    os.environ["NEURAL_LAB_OFFLINE"] = "1"


def report_in_temporary_cache(prefix: str, make_report, out: Path | None = None) -> str:
    """`make_report()` run offline in a temporary cache folder (never cached_models/), removed after;
    the markdown it returns is printed and, with `out`, written there too."""
    import shutil
    import tempfile

    offline_environment()
    cache = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["NEURAL_LAB_CACHE_DIR"] = str(cache)
    try:
        report = make_report()
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(report)
    if out:
        out.write_text(report + "\n", encoding="utf-8")
    return report


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (VmRSS), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
