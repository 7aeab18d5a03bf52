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

import statistics
import sys
import time

from bench.common import report_header, timed_report_cli, warm_runner


def main(argv: list[str] | None = None) -> int:
    return timed_report_cli(argv, __doc__, "bench-lr-finder-", run, repeats=3,
                            job_help="also time it as a background job in a worker process")


def run(repeats: int, job: bool) -> str:
    from core import jobs, lr_finder
    from core.config import RunConfig

    configs = {"default MLP 64-64 (adam, batch 128)": RunConfig(), "small CNN 16-32 (adam, batch 128)": RunConfig(arch="cnn", layers=2, units=(16, 32))}
    lr_finder.range_test(RunConfig(), lr_finder.RangeSettings(steps=10))  # warm-up: imports, data, first graph
    lines = [
        *report_header("LR range test cost", repeats, "100 batches from 1e-6 to 1 (fewer when the loss explodes)."),
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
        with warm_runner(1) as runner:
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
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
