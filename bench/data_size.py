"""The cost of one accuracy-vs-training-set-size curve (core/data_size.py); prints markdown.

1. in-process: `core.training.train` of every size of a configuration's curve (default MLP 64-64,
   10 epochs, and a small CNN 16-32, 5 epochs; each size gets as many weight updates as the whole
   split) after a warm-up training, so TensorFlow's import and the data load are not counted: wall
   and CPU seconds per size and for the curve, test accuracy per size and the reading.
2. as jobs (`--job`): a warmed `JobRunner(workers=2)` in a temporary cache, the 5 sizes of the
   default MLP submitted at once -> all done (what a student waits for after pressing the button).

    nice -n 10 .venv/bin/python -m bench.data_size --repeats 1 --job --out bench/RESULTS-data-size.md

Offline (embedded data), temporary cache folder (never cached_models/).
"""

from __future__ import annotations

import statistics
import sys
import time

from bench.common import report_header, timed_report_cli, warm_runner


def main(argv: list[str] | None = None) -> int:
    return timed_report_cli(argv, __doc__, "bench-data-size-", run, repeats=1,
                            job_help="also time the default MLP's curve as background jobs (2 workers)")


def run(repeats: int, job: bool) -> str:
    from core import data_size, jobs
    from core.config import RunConfig
    from core.training import train

    configs = {
        "default MLP 64-64, 10 epochs": RunConfig(),
        "small CNN 16-32, 5 epochs": RunConfig(arch="cnn", layers=2, units=(16, 32), epochs=5),
    }
    train(RunConfig(epochs=1))  # warm-up: imports, data, first graph
    lines = [
        *report_header("Accuracy vs training-set size: cost of one curve", repeats,
                       "Embedded set: 250, 500, 1,000, 2,000 and 3,500 training digits; each size gets as many weight "
                       "updates as the whole split (epochs scaled up)."),
        "| configuration | size | epochs | wall s | CPU s | train acc | test acc |", "|---|---|---|---|---|---|---|",
    ]
    readings = []
    for name, config in configs.items():
        totals: list[float] = []
        rows: dict[int, list] = {}
        for _ in range(repeats):
            total = 0.0
            for size, point in data_size.size_configs(config):
                wall, cpu = time.perf_counter(), time.process_time()
                result = train(point)
                seconds = time.perf_counter() - wall
                total += seconds
                rows.setdefault(size, []).append((seconds, time.process_time() - cpu, result.meta["train_accuracy"], result.meta["test_accuracy"], point.epochs))
                print(f"{name} {size}: {seconds:.2f} s", file=sys.stderr)
            totals.append(total)
        for size, measured in rows.items():
            wall, cpu = statistics.median(m[0] for m in measured), statistics.median(m[1] for m in measured)
            lines.append(f"| {name} | {size:,} | {measured[0][4]} | {wall:.2f} | {cpu:.2f} | {measured[-1][2]:.3f} | {measured[-1][3]:.3f} |")
        lines.append(f"| **{name}: whole curve** | | | **{statistics.median(totals):.1f}** | | | |")
        sizes = list(rows)
        readings.append(f"- {name}: {data_size.reading(sizes, [rows[s][-1][2] for s in sizes], [rows[s][-1][3] for s in sizes])}")
    lines += ["", "Readings:", *readings]
    if job:
        with warm_runner(2) as runner:
            waits = []
            for seed in range(repeats):
                config = RunConfig(seed=1000 + seed)  # a new configuration each time: nothing cached
                started = time.perf_counter()
                keys = [runner.submit(point).key for _, point in data_size.size_configs(config)]
                for key in keys:
                    jobs.wait(key, timeout=900)
                waits.append(time.perf_counter() - started)
                print(f"jobs: {waits[-1]:.2f} s", file=sys.stderr)
            lines += ["", f"As background jobs (2 warm workers, default MLP, 5 sizes submitted at once): submit -> all done, "
                      f"median {statistics.median(waits):.1f} s (all: {', '.join(f'{w:.1f}' for w in waits)})."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
