"""What the benchmarks share: the offline environment they run in and /proc readings.

Servers, Chromium's flags and waiting for a Streamlit run come from tests/helpers.py (the same code
the browser tests use), so a benchmark drives the app exactly as the tests do.
"""

from __future__ import annotations

import contextlib
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


def timed_report_cli(argv, doc: str, prefix: str, run, repeats: int, job_help: str) -> int:
    """The command line of a bench that times `run(repeats, job)` in a temporary cache: --repeats, --job, --out."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=repeats, help="timed repeats per configuration (median shown)")
    parser.add_argument("--job", action="store_true", help=job_help)
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    report_in_temporary_cache(prefix, lambda: run(args.repeats, args.job), args.out)
    return 0


def report_header(title: str, repeats: int, what: str) -> list[str]:
    """A report's first lines: its title, then when, how many cores, the load average at the start, and what ran."""
    import time

    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return [f"# {title}", "", f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load average "
            f"at start {load}; {repeats} repeat(s), median shown. {what}", ""]


@contextlib.contextmanager
def warm_runner(workers: int):
    """A JobRunner with `workers` warmed worker processes (imports done), shut down afterwards."""
    from core import jobs

    runner = jobs.JobRunner(workers=workers)
    try:
        runner.warm(timeout=240)
        yield runner
    finally:
        runner.shutdown()


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (VmRSS), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
