"""The cost of one learning-rate range test (core/lr_finder.py); prints markdown.

1. in-process: `lr_finder.range_test` of a configuration (default: the default MLP 64-64, batch 128,
   100 batches from 1e-6 to 1) after a warm-up test, so TensorFlow's import and the data load are not
   counted: wall seconds, CPU seconds of this process, batches run, the suggestion.
2. as a job (`--job`): a warmed `JobRunner(workers=1)` in a temporary cache, submit -> done (what a
   student waits for after pressing "Run the range test", minus the page's poll interval).

    nice -n 10 .venv/bin/python -m bench.lr_finder --repeats 3 --job --out bench/RESULTS-lr-finder.md

Offline (embedded data), temporary cache folder (never cached_models/).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bench.common import report_in_temporary_cache


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="range tests timed per configuration")
    parser.add_argument("--job", action="store_true", help="also time it as a background job in a worker process")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)

    report_in_temporary_cache("bench-lr-finder-", lambda: run(args.repeats, args.job), args.out)
    return 0


def run(repeats: int, job: bool) -> str:
    from core import jobs, lr_finder
    from core.config import RunConfig

    configs = {"default MLP 64-64 (adam, batch 128)": RunConfig(), "small CNN 16-32 (adam, batch 128)": RunConfig(arch="cnn", layers=2, units=(16, 32))}
    lr_finder.range_test(RunConfig(), lr_finder.RangeSettings(steps=10))  # warm-up: imports, data, first graph
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    lines = [
        "# LR range test cost", "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load average at start {' '.join(load)}; "
        f"{repeats} repeat(s), median shown. 100 batches from 1e-6 to 1 (fewer when the loss explodes).", "",
        "| configuration | batches | wall s | CPU s | suggestion |", "|---|---|---|---|---|",
    ]
    for name, config in configs.items():
        walls, cpus, result = [], [], None
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            result = lr_finder.range_test(config)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            print(f"{name}: {walls[-1]:.2f} s", file=sys.stderr)
        lines.append(f"| {name} | {len(result.losses)} | {statistics.median(walls):.2f} | {statistics.median(cpus):.2f} | {result.suggestion.rate} |")
    if job:
        runner = jobs.JobRunner(workers=1)
        try:
            runner.warm(timeout=240)
            waits = []
            for seed in range(repeats):
                config = RunConfig(seed=1000 + seed)  # a new configuration each time: nothing cached
                started = time.perf_counter()
                submitted = runner.submit_range_test(config)
                done = jobs.wait(submitted.key, timeout=600)
                waits.append(time.perf_counter() - started)
                print(f"job: {waits[-1]:.2f} s ({done.state if done else 'none'})", file=sys.stderr)
            lines += ["", f"As a background job (warm worker, default MLP): submit -> done, median {statistics.median(waits):.2f} s "
                      f"(all: {', '.join(f'{w:.2f}' for w in waits)})."]
        finally:
            runner.shutdown()
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
