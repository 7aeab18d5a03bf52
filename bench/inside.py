"""What recording "inside the network" costs: fit time with vs without, and the snapshot sizes.

Runs, in one process and interleaved (so machine noise hits both sides alike), each config
REPEATS times with recording off (NEURAL_LAB_RECORD_INSIDE=0) and on, same seed and data; prints
the throughput ratio  fit_without / fit_with  (goal >= 0.95) and the recorded arrays' size
(raw bytes and as stored: compressed npz). Then the expected size for every preset from the
recorded shapes (epochs x probe digits x stored axes, float16), without training them.

    python -m bench.inside [--repeats 3]
Never touches cached_models/ (train() only; nothing is stored).
"""

from __future__ import annotations

import argparse
import io
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from bench.common import offline_environment
from core import snapshots, training
from core.config import RunConfig
from core.data import load_mnist
from core.inside import QUANTILE_LEVELS
from core.presets import PRESETS
from core.training import train

CONFIGS = {
    "MLP 128-64, 10 epochs": RunConfig(arch="mlp", layers=2, units=(128, 64), epochs=10),
    "small CNN 16-32, 5 epochs": RunConfig(arch="cnn", layers=2, units=(16, 32), kernel_size=3, epochs=5),
    "toy XOR 4-4 tanh, 100 epochs": PRESETS["seed003-xor-4x4"].config,
}


_made: list = []
_real_make_recorders = snapshots.make_recorders


def _keeping_recorders(config, splits):
    recorders = _real_make_recorders(config, splits)
    _made.extend(recorders)
    return recorders


def fit_seconds(config: RunConfig, splits, record: bool) -> tuple[float, dict, float]:
    """(model.fit wall time, recording callbacks included; the arrays recorded; seconds spent inside the recorders)."""
    os.environ["NEURAL_LAB_RECORD_INSIDE"] = "1" if record else "0"
    _made.clear()
    run = train(config, splits=splits)
    inside = {name: value for name, value in run.arrays.items() if name.startswith(("inside_", "weights_"))}
    return run.meta["train_seconds"], inside, sum(getattr(recorder, "seconds", 0.0) for recorder in _made)


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
    return epochs * per_epoch + probe * 8


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    offline_environment()
    training.make_recorders = _keeping_recorders  # to read each recorder's own time
    mnist = load_mnist("embedded")
    print(f"# Recording inside the network: overhead and size ({len(mnist.y_train)} training digits, {os.cpu_count()} cores)\n")
    print("| run | fit s without (median) | fit s with (median) | ratio without/with | s inside the recorder (median) | "
          "ratio from it: (fit - recorder) / fit | recorded MB raw | stored MB (npz) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, config in CONFIGS.items():
        splits = mnist if config.task == "mnist" else None
        fit_seconds(config, splits, record=True)  # warm up tracing both ways
        without, with_, inside_seconds, own_ratio = [], [], [], []
        arrays: dict = {}
        for repeat in range(args.repeats):
            trial = config.replace(seed=repeat)
            order = (False, True) if repeat % 2 == 0 else (True, False)
            for record in order:
                seconds, recorded, spent = fit_seconds(trial, splits, record)
                (with_ if record else without).append(seconds)
                if record:
                    arrays = recorded
                    inside_seconds.append(spent)
                    own_ratio.append((seconds - spent) / seconds)
        ratio = np.median(without) / np.median(with_)
        raw = sum(value.nbytes for value in arrays.values())
        print(f"| {name} | {np.median(without):.2f} | {np.median(with_):.2f} | {ratio:.3f} | {np.median(inside_seconds):.3f} | "
              f"{np.median(own_ratio):.3f} | {raw / 1e6:.2f} | {stored_bytes(arrays) / 1e6:.2f} |", flush=True)
    os.environ.pop("NEURAL_LAB_RECORD_INSIDE", None)
    print("\n| MNIST preset | epochs recorded | inside record MB (raw, upper bound of the stored size) |\n|---|---|---|")
    for name, item in PRESETS.items():
        if item.config.task == "mnist":
            epochs = len(snapshots.recorded_epochs(item.config.epochs, snapshots.MAX_RECORDED_EPOCHS))
            print(f"| {name} | {epochs} | {expected_bytes(item.config) / 1e6:.2f} |")


if __name__ == "__main__":
    main()
