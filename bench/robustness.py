"""What the Robustness lab costs: accuracy-vs-strength curves for one model over all seven perturbations.

For each model (trained for one or two epochs in a temporary cache: the cost of a curve does not depend on
how well the model learnt), computes the curve of every perturbation REPEATS times with
`core.robustness.accuracy_curve` on the embedded 1,000-digit test split (9 strengths each; FGSM adds one
gradient pass), after one warm-up curve (the first call traces the model's predict function). Reports
the median wall and process-CPU seconds per perturbation and for all seven together, and how long reading
the seven stored curves back takes (what every later visit pays).

    python -m bench.robustness [--repeats 3] [--models mlp,small-cnn,seed-cnn] [--out bench/RESULTS-robustness.md]

Never touches cached_models/ (a temporary cache is used and removed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from bench.common import offline_environment
from core.config import RunConfig

MODELS = {
    "mlp": ("MLP 128-64", RunConfig(arch="mlp", layers=2, units=(128, 64), epochs=2)),
    "small-cnn": ("small CNN 16-32 (k3)", RunConfig(arch="cnn", layers=2, units=(16, 32), kernel_size=3, epochs=1)),
    "seed-cnn": ("seed CNN 32-64 (k5) + dense 1024, 3.3 M parameters", RunConfig(
        arch="cnn", layers=2, units=(32, 64), kernel_size=5, dense_units=1024, dropout=0.5, epochs=1)),
}


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def measure(name: str, config: RunConfig, repeats: int) -> list[str]:
    from core import cache, robustness
    from core.data import load_mnist

    splits = load_mnist("embedded")
    run = cache.get_or_train(config)
    robustness.accuracy_curve(run.model, splits.x_test, splits.y_test, "rotation")  # warm-up: traces predict_on_batch
    rows, totals_wall, totals_cpu = [], np.zeros(repeats), np.zeros(repeats)
    for perturbation in robustness.PERTURBATIONS:
        walls, cpus = [], []
        for repeat in range(repeats):
            wall, cpu = time.perf_counter(), _cpu_seconds()
            curve = robustness.accuracy_curve(run.model, splits.x_test, splits.y_test, perturbation)
            walls.append(time.perf_counter() - wall)
            cpus.append(_cpu_seconds() - cpu)
            totals_wall[repeat] += walls[-1]
            totals_cpu[repeat] += cpus[-1]
        rows.append(f"| {name} | {robustness.PERTURBATIONS[perturbation].label} | {np.median(walls):.3f} | {np.median(cpus):.3f} "
                    f"| {curve.at(0.0):.0%} → {curve.accuracy.min():.0%} |")
    for perturbation in robustness.PERTURBATIONS:  # store them, then time reading all seven back
        robustness.curve(run.key, run.model, splits.x_test, splits.y_test, perturbation)
    reads = []
    for _ in range(repeats):
        start = time.perf_counter()
        for perturbation in robustness.PERTURBATIONS:
            assert robustness.stored_curve(run.key, perturbation, splits.y_test) is not None
        reads.append(time.perf_counter() - start)
    rows.append(f"| {name} | **all seven** | **{np.median(totals_wall):.2f}** | **{np.median(totals_cpu):.2f}** "
                f"| stored: read back in {np.median(reads) * 1000:.1f} ms |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--out", type=Path, help="write the results (Markdown) to this file too")
    args = parser.parse_args()
    offline_environment()
    folder = Path(tempfile.mkdtemp(prefix="bench-robustness-"))
    os.environ["NEURAL_LAB_CACHE_DIR"] = str(folder)
    load_before = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = [
        f"# Robustness lab: curves for one model over all perturbations ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"`python -m bench.robustness --repeats {args.repeats}` · {os.cpu_count()} cores · load average before: {load_before}",
        "",
        "Median of the repeats, on the embedded 1,000-digit test split, 9 strengths per perturbation "
        "(`predict_on_batch` in 1,000-image batches; FGSM adds one `tf.GradientTape` pass in 500-image batches).",
        "",
        "| model | perturbation | wall s | CPU s | accuracy: clean → worst |",
        "|---|---|---|---|---|",
    ]
    try:
        for model in args.models.split(","):
            name, config = MODELS[model.strip()]
            lines += measure(name, config, args.repeats)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lines += ["", f"Load average after: {' / '.join(f'{value:.2f}' for value in os.getloadavg())}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
