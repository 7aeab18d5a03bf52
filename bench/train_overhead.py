"""What the cache and listeners cost: get_or_train (listener attached) vs bare model.fit.

Runs, in one process and interleaved (so machine noise hits both sides alike):
  - an MLP and a small CNN, trained REPEATS times each way on the same data and seed;
    prints the throughput ratio  bare_fit_seconds / get_or_train_seconds  (goal >= 0.95);
  - the time to answer the same combination again (a cache hit: load from disk);
  - the .keras size of every preset (after one training step, optimizer state included).

    python -m bench.train_overhead [--repeats 3]
Uses a temporary cache folder; never touches cached_models/.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["NEURAL_LAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-overhead-")

import numpy as np

from core import cache
from core.config import RunConfig
from core.data import load_mnist
from core.models import build_model, compile_model
from core.presets import PRESETS
from core.training import targets

CONFIGS = {
    "MLP 128-64": RunConfig(arch="mlp", layers=2, units=(128, 64), epochs=5, batch_size=128),
    "small CNN 16-32": RunConfig(arch="cnn", layers=2, units=(16, 32), kernel_size=3, epochs=3, batch_size=128),
}


def bare_fit(config: RunConfig, splits) -> float:
    model = build_model(config, splits.x_train)
    compile_model(model, config, int(np.ceil(len(splits.y_train) / config.batch_size)))
    start = time.perf_counter()
    model.fit(splits.x_train, splits.y_train, validation_data=(splits.x_val, splits.y_val),
              batch_size=config.batch_size, epochs=config.epochs, verbose=0)
    return time.perf_counter() - start


def cached_fit(config: RunConfig) -> tuple[float, float]:
    """(fit seconds as measured inside train, total get_or_train seconds incl. evaluation and save)."""
    events = []
    start = time.perf_counter()
    run = cache.get_or_train(config, listener=events.append)
    total = time.perf_counter() - start
    assert not run.cached and events
    return run.meta["train_seconds"], total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    splits = load_mnist("embedded")
    print(f"# Training overhead (embedded MNIST, {len(splits.y_train)} training digits, {os.cpu_count()} cores)\n")
    print("| model | bare fit s (median) | get_or_train fit s (median) | throughput ratio | + evaluate & save s | cache hit s |")
    print("|---|---|---|---|---|---|")
    for name, config in CONFIGS.items():
        bare, ours, totals, hits = [], [], [], []
        for repeat in range(args.repeats):
            trial = config.replace(seed=100 + repeat)  # a new key each time: a real training, not a hit
            bare.append(bare_fit(trial, splits))
            fit_seconds, total = cached_fit(trial)
            ours.append(fit_seconds)
            totals.append(total - fit_seconds)
            start = time.perf_counter()
            assert cache.get_or_train(trial).cached
            hits.append(time.perf_counter() - start)
        ratio = np.median(bare) / np.median(ours)
        print(f"| {name} | {np.median(bare):.2f} | {np.median(ours):.2f} | {ratio:.3f} | {np.median(totals):.2f} | {np.median(hits):.3f} |")
    print("\n| preset | parameters | .keras size MB |\n|---|---|---|")
    for name, item in PRESETS.items():
        if item.config.task != "mnist":
            continue
        model = build_model(item.config)
        compile_model(model, item.config, 1)
        model.fit(splits.x_train[:64], targets(item.config, splits.y_train[:64]), batch_size=64, epochs=1, verbose=0)
        path = Path(os.environ["NEURAL_LAB_CACHE_DIR"]) / f"{name}.keras"
        model.save(path)
        print(f"| {name} | {model.count_params():,} | {path.stat().st_size / 1e6:.2f} |")


if __name__ == "__main__":
    main()
