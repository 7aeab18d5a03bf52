"""What recording "inside the network" costs: fit time with vs without, and the snapshot sizes.

Runs, in one process, each config REPEATS times with recording off (NEURAL_LAB_RECORD_INSIDE=0), on, and
off again (an A/A control: this shared VM's wall times swing by +-20 % from minute to minute, and the
control shows how far two identical arms differ here), and with --show-cause also on with numpy's BLAS
left on every thread, as before the fix. Same seed and data in every arm of a repeat, after one warm-up
training each way (the first training in a process pays one-time costs that belong to no arm). The runs
of one repeat follow each other, the repeats cycling through every order of the arms (use a multiple of
6 repeats with three arms), so neither a place in the order nor the machine's slow swings favour an arm; the ratio to "without" is taken per repeat, then the median, with a
bootstrap interval.

For each run it measures
- the wall time of model.fit (what a student waits for; `train_seconds` of the run),
- the process CPU time from the first to the last callback of the fit (every thread: TensorFlow's, and
  any other thread the recording wakes up) -- less sensitive to other programs on the machine than wall time,
- the seconds spent inside the recorder itself, and the seconds its `arrays()` (the projection) take after the fit.

Then the expected size for every preset from the recorded shapes (epochs x probe digits x stored axes,
float16), without training them.

    python -m bench.inside [--repeats 12] [--only mlp --only cnn --only toy --only preset] [--show-cause] [--out bench/RESULTS-inside.md]
Never touches cached_models/ (train() only; nothing is stored).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

from bench.common import offline_environment
from core import snapshots, training
from core.config import RunConfig
from core.data import load_mnist
from core.inside import QUANTILE_LEVELS
from core.network import MAX_UNITS_SHOWN
from core.presets import PRESETS
from core.training import train

CONFIGS = {
    "MLP 128-64, 10 epochs": RunConfig(arch="mlp", layers=2, units=(128, 64), epochs=10),
    "small CNN 16-32, 5 epochs": RunConfig(arch="cnn", layers=2, units=(16, 32), kernel_size=3, epochs=5),
    "toy XOR 4-4 tanh, 100 epochs": PRESETS["seed003-xor-4x4"].config,
    # A tutorial preset: its recorder's fixed cost (tracing two small functions, the two records always taken) is
    # spread over a training of real length, as a student's CNN is. Only with --only preset (~1 min per training).
    "seed001-cnn preset (CNN 64-128, 20 epochs)": PRESETS["seed001-cnn"].config,
}


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class _CpuClock(keras.callbacks.Callback):
    """Process CPU time between on_train_begin of `start` and on_train_end of `end` (placed around the recorders)."""

    def __init__(self, mark: str):
        super().__init__()
        self.mark = mark

    def on_train_begin(self, logs=None):
        if self.mark == "start":
            _measured["cpu_start"] = _cpu_seconds()

    def on_train_end(self, logs=None):
        if self.mark == "end":
            _measured["cpu"] = _cpu_seconds() - _measured["cpu_start"]


_made: list = []
_measured: dict = {}
_real_make_recorders = snapshots.make_recorders
_real_collect_arrays = training.collect_arrays


def _keeping_recorders(config, splits):
    recorders = _real_make_recorders(config, splits)
    _made.extend(recorders)
    return [_CpuClock("start"), *recorders, _CpuClock("end")]


def _timed_collect(recorders):
    started = time.perf_counter()
    arrays = _real_collect_arrays([r for r in recorders if not isinstance(r, _CpuClock)])
    _measured["after_fit"] = time.perf_counter() - started
    return arrays


ARMS = {
    "without": "recording off",
    "with": "recording on",
    "without, again": "recording off again: an A/A control, showing how far two identical arms differ on this machine",
    "with, BLAS not limited": "recording on, its numpy work on every OpenBLAS thread (as before the fix)",
}
_limited_blas = snapshots.single_threaded_blas


def fit_once(config: RunConfig, splits, arm: str) -> dict:
    """One training: fit wall seconds, fit CPU seconds, seconds inside the recorder, seconds after the fit, the arrays."""
    os.environ["NEURAL_LAB_RECORD_INSIDE"] = "0" if arm.startswith("without") else "1"
    snapshots.single_threaded_blas = contextlib.nullcontext if arm == "with, BLAS not limited" else _limited_blas
    _made.clear()
    _measured.clear()
    try:
        run = train(config, splits=splits)
    finally:
        snapshots.single_threaded_blas = _limited_blas
    return {
        "wall": run.meta["train_seconds"],
        "cpu": _measured.get("cpu", float("nan")),
        "recorder": sum(getattr(recorder, "seconds", 0.0) for recorder in _made),
        "records": sum(len(getattr(recorder, "records", getattr(recorder, "epochs", []))) for recorder in _made),
        "after_fit": _measured.get("after_fit", 0.0),
        "arrays": {name: value for name, value in run.arrays.items() if name.startswith(("inside_", "weights_"))},
    }


def blas_spin_line(rounds: int = 5) -> str:
    """CPU the process burns in the 0.5 s after one recorder-sized product (500 x 784 by 784 x 128), BLAS limited or not."""
    left, right = np.ones((500, 784), np.float32), np.ones((784, 128), np.float32)
    burnt = {}
    for label, context in (("every thread", contextlib.nullcontext), ("one thread", _limited_blas)):
        samples = []
        for _ in range(rounds):
            with context():
                started, cpu = time.perf_counter(), _cpu_seconds()
                left @ right
                product = (time.perf_counter() - started, _cpu_seconds() - cpu)
            time.sleep(0.5)
            samples.append((product[0], _cpu_seconds() - cpu - product[1]))
        burnt[label] = np.median(np.asarray(samples), axis=0)
    return ("The cause, in isolation (median of 5): one recorder-sized product takes "
            + "; ".join(f"{label}: {1e3 * wall:.1f} ms, then {1e3 * idle:.0f} ms of CPU burnt while the caller sleeps 0.5 s"
                        for label, (wall, idle) in burnt.items()) + ".")


def stored_bytes(arrays: dict) -> int:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.tell()


def expected_bytes(config: RunConfig) -> int:
    """Raw bytes of an MNIST run's inside record, from the shapes the recorder writes."""
    epochs = len(snapshots.recorded_epochs(config.epochs, snapshots.MAX_RECORDED_EPOCHS))
    probe = snapshots.PROBE_SIZE
    weighted = config.layers + 1 + (1 if config.arch == "cnn" and config.dense_units else 0)
    activations = config.layers + (1 if config.arch == "cnn" and config.dense_units else 0)
    per_epoch = probe * (snapshots.EMBEDDING_COMPONENTS + config.n_classes) * 2  # embedding + probabilities, float16
    per_epoch += (weighted + activations) * len(QUANTILE_LEVELS) * 4 + (weighted + activations) * 4
    if config.arch == "mlp":  # the network picture: float16 weights and biases between the drawn units
        drawn = [min(size, MAX_UNITS_SHOWN) for size in (28 * 28, *config.units_per_layer(), config.n_classes)]
        per_epoch += sum(2 * (rows + 1) * columns for rows, columns in zip(drawn[:-1], drawn[1:], strict=True))
    return epochs * per_epoch + probe * 8


def _load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def ratio_interval(ratios: list[float], rng: np.random.Generator, level: float = 0.9) -> tuple[float, float]:
    """A bootstrap interval of the median ratio (resampling the repeats)."""
    ratios_array = np.asarray(ratios)
    medians = np.median(rng.choice(ratios_array, size=(2000, len(ratios_array)), replace=True), axis=1)
    return float(np.quantile(medians, (1 - level) / 2)), float(np.quantile(medians, (1 + level) / 2))


def measure(name: str, config: RunConfig, splits, repeats: int, arms: list[str]) -> list[str]:
    """Table rows for one config: every arm against "without". The runs of one repeat follow each other;
    the repeats cycle through every order of the arms (the first training of a repeat, a new seed, ran
    ~8 % slower in one test), so neither a place in the order nor the machine's slow swings favour an arm."""
    for arm in arms:  # warm-up, every way: one-time costs of the process belong to no arm
        fit_once(config, splits, arm)
    rng = np.random.default_rng(0)
    orders = list(itertools.permutations(arms))  # cycled: every arm as often in every place and after every other arm
    rows: dict[str, list[dict]] = {arm: [] for arm in arms}
    for repeat in range(repeats):
        trial = config.replace(seed=repeat)
        for arm in orders[repeat % len(orders)]:
            rows[arm].append(fit_once(trial, splits, arm))

    def median(runs, field):
        return float(np.median([run[field] for run in runs]))

    without = rows["without"]
    lines = []
    for arm in arms[1:]:
        runs = rows[arm]
        wall_ratios = [w["wall"] / r["wall"] for w, r in zip(without, runs, strict=True)]
        cpu_ratios = [w["cpu"] / r["cpu"] for w, r in zip(without, runs, strict=True)]
        low, high = ratio_interval(wall_ratios, rng)
        arrays = runs[-1]["arrays"]
        raw = sum(value.nbytes for value in arrays.values())
        share = median(runs, "recorder") / median(runs, "wall")
        lines.append(
            f"| {name} | {arm} | {median(without, 'wall'):.2f} | {median(runs, 'wall'):.2f} | **{np.median(wall_ratios):.3f}** "
            f"[{low:.3f}, {high:.3f}] | {sum(w['wall'] for w in without) / sum(r['wall'] for r in runs):.3f} | "
            f"{median(without, 'cpu'):.2f} | {median(runs, 'cpu'):.2f} | **{np.median(cpu_ratios):.3f}** | "
            f"{median(runs, 'recorder'):.3f} ({median(runs, 'records'):.0f} records; {100 * share:.1f} % of the fit) | "
            f"{median(runs, 'after_fit'):.3f} | {raw / 1e6:.2f} | {stored_bytes(arrays) / 1e6:.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=12,
                        help="runs of every arm per config (this machine's noise needs ~12 for a 2-3 s training)")
    parser.add_argument("--only", choices=["mlp", "cnn", "toy", "preset"], action="append", help="measure these configs only")
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--show-cause", action="store_true",
                        help="add a third arm: recording with numpy's BLAS on every thread, as before the fix (the cause of the old gap)")
    args = parser.parse_args()
    arms = list(ARMS) if args.show_cause else ["without", "with", "without, again"]
    offline_environment()
    training.make_recorders = _keeping_recorders  # to read each recorder's own time and the fit's CPU time
    training.collect_arrays = _timed_collect
    mnist = load_mnist("embedded")
    lines = [
        f"# Recording inside the network: overhead and size ({len(mnist.y_train)} training digits, {os.cpu_count()} cores)",
        "",
        f"`python -m bench.inside {' '.join(sys.argv[1:])}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"load average (1/5/15 min) at the start {_load()}.",
        "",
        "Arms: " + "; ".join(f"*{arm}*: {ARMS[arm]}" for arm in arms) + ".",
        "",
        *([blas_spin_line(), ""] if args.show_cause else []),
        "| run | arm | fit s without | fit s, arm | wall ratio without / arm: median of the repeats [90 % bootstrap interval] | "
        "total without / total arm | CPU s without | CPU s, arm | CPU ratio (median) | s inside the recorder | "
        "s after the fit (arrays) | recorded MB raw | stored MB (npz) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    keys = {"mlp": "MLP", "cnn": "small CNN", "toy": "toy", "preset": "seed001-cnn preset"}
    for name, config in CONFIGS.items():
        chosen = args.only or ["mlp", "cnn", "toy"]  # the preset only when asked for: it takes minutes
        if not any(name.startswith(keys[k]) for k in chosen):
            continue
        splits = mnist if config.task == "mnist" else None
        rows = measure(name, config, splits, args.repeats, arms)
        lines += rows
        print("\n".join(rows), flush=True)
    os.environ.pop("NEURAL_LAB_RECORD_INSIDE", None)
    tail = ["", f"Load average at the end: {_load()}.", "",
            "| MNIST preset | epochs recorded (at most) | inside record MB (raw, upper bound of the stored size) |", "|---|---|---|"]
    for name, item in PRESETS.items():
        if item.config.task == "mnist":
            epochs = len(snapshots.recorded_epochs(item.config.epochs, snapshots.MAX_RECORDED_EPOCHS))
            tail.append(f"| {name} | {epochs} | {expected_bytes(item.config) / 1e6:.2f} |")
    print("\n".join(tail))
    lines += tail
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
        print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
