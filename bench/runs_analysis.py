"""Cost of the Runs page's "What mattered" section as the number of cached runs grows.

Writes N listing-only entries (meta + config, no model: the section never loads one) into a temporary
cache and times, in one process: reading the listing (core.cache.list_runs), the maths (the table,
importance, two Pareto fronts: core/importance.py) and building the four figures: the best CPU time
(what the work costs on a busy machine) and the median wall time of --repeats. No server, no browser (TensorFlow is imported with core.cache, as on the page).

    python -m bench.runs_analysis --runs 20,200,1000 --repeats 5 --out bench/RESULTS-runs-analysis.md
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
from pathlib import Path

from bench.boundary import best_of
from bench.common import offline_environment


def _grid(count: int):
    """`count` valid MNIST configs spread over six knobs, with an accuracy that depends on two of them."""
    from core.config import RunConfig

    knobs = itertools.product((1, 2, 3), (16, 64, 256), (0.0, 0.3), (1e-3, 3e-3, 1e-2), (64, 128, 256), range(1000))
    for index, (layers, units, dropout, rate, batch, seed) in enumerate(knobs):
        if index == count:
            return
        config = RunConfig(layers=layers, units=units, dropout=dropout, learning_rate=rate, batch_size=batch, epochs=3, seed=seed)
        accuracy = 0.80 + 0.03 * layers + 0.02 * (units == 256) + 0.001 * (seed % 7)
        yield config, accuracy, layers * units * 800, 1.0 + layers * units / 200


def measure(count: int, repeats: int) -> dict[str, tuple[float, float, float]]:
    """{step: (best wall ms, median wall ms, best CPU ms)} over `count` cached runs."""
    import pandas as pd

    from core import cache, importance
    from dashboard.charts import runs_analysis as charts
    from tests.helpers import write_listed_entry

    with tempfile.TemporaryDirectory(prefix="bench-runs-analysis-") as folder:
        os.environ["NEURAL_LAB_CACHE_DIR"] = folder
        for config, accuracy, params, seconds in _grid(count):
            write_listed_entry(config, accuracy, params=params, seconds=seconds)
        summaries = cache.list_runs()
        assert len(summaries) == count, f"wrote {count} entries, listed {len(summaries)}"

        def analyse():
            table = importance.hyperparameter_table([summary.config for summary in summaries])
            accuracy = [summary.test_accuracy for summary in summaries]
            items = importance.importance(table, accuracy)
            fronts = [importance.pareto_front([(getattr(s, cost), s.test_accuracy) for s in summaries]) for cost in ("params", "train_seconds")]
            return table, items, fronts

        table, items, fronts = analyse()
        frame = pd.DataFrame({"key": [s.key for s in summaries], "description": [s.description for s in summaries],
                              "test_accuracy": [s.test_accuracy for s in summaries], "params": [s.params for s in summaries],
                              "train_seconds": [s.train_seconds for s in summaries], **table})
        bars = pd.DataFrame([{"label": item.label, "share": item.share, "groups": item.groups} for item in items])

        def figures():
            charts.importance_bars(bars)
            charts.marginal_figure(frame, list(table), log_names=importance.LOG_SCALE)
            for cost, front in zip(("params", "train_seconds"), fronts, strict=True):
                charts.pareto_figure(frame, cost, cost, front)

        steps = {"list_runs": cache.list_runs, "maths": analyse, "figures": figures}
        return {name: best_of(step, repeats) for name, step in steps.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="20,200,1000", help="comma-separated numbers of cached runs (default 20,200,1000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per step (default 5)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table as Markdown, e.g. bench/RESULTS-runs-analysis.md")
    args = parser.parse_args(argv)
    offline_environment()
    lines = ["| runs | list_runs: best CPU / median wall (ms) | maths: best CPU / median wall (ms) | figures: best CPU / median wall (ms) |",
             "|---:|---:|---:|---:|"]
    for count in (int(part) for part in args.runs.split(",") if part.strip()):
        result = measure(count, args.repeats)
        lines.append(f"| {count:,} | " + " | ".join(f"{cpu:.1f} / {median:.1f}" for _, median, cpu in result.values()) + " |")
        print(lines[-1], flush=True)
    load = Path("/proc/loadavg").read_text().split()[:3]
    footer = f"\nBest CPU and median wall time of {args.repeats} repeats; load average {' '.join(load)} while measuring ({os.cpu_count()} CPUs)."
    print(footer)
    if args.out:
        args.out.write_text("# Runs page, \"What mattered\": cost by number of cached runs\n\n"
                            "`python -m bench.runs_analysis " + f"--runs {args.runs} --repeats {args.repeats}`\n\n" + "\n".join(lines) + "\n" + footer + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
