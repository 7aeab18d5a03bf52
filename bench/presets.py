"""Train every preset through the cache and print the README table of presets (markdown).

    python -m bench.presets                       # all presets, cache in /tmp/neural-lab-bench-cache
    python -m bench.presets --only best,base      # some presets
    python -m bench.presets --fresh               # retrain even if the bench cache has them

Every number comes from this run (or from the bench cache entry's meta when it was already there:
the "trained" column says which). The cache is a separate folder, never the repo's
`cached_models/`. Run it with `nice -n 10` on a shared machine; the load average during each
training is printed so the seconds can be judged.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path("/tmp/neural-lab-bench-cache")


def setup(cache_dir: Path) -> None:
    """Point the project at the bench cache (before core.cache is imported) and make `core` importable."""
    os.environ["NEURAL_LAB_CACHE_DIR"] = str(cache_dir)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def architecture_line(model) -> str:
    """The layers of a built model in one line, e.g. 'aug-conv32-bn-pool-dense128-drop0.4-dense10'."""
    import keras

    parts: list[str] = []
    for layer in model.layers:
        if isinstance(layer, (keras.layers.RandomTranslation, keras.layers.RandomRotation, keras.layers.RandomZoom)):
            if "aug" not in parts:
                parts.append("aug")
        elif isinstance(layer, keras.layers.Conv2D):
            parts.append(f"conv{layer.filters}({layer.kernel_size[0]}x{layer.kernel_size[1]})")
        elif isinstance(layer, keras.layers.MaxPooling2D):
            parts.append("pool")
        elif isinstance(layer, keras.layers.BatchNormalization):
            parts.append("bn")
        elif isinstance(layer, keras.layers.Dropout):
            parts.append(f"drop{layer.rate:g}")
        elif isinstance(layer, keras.layers.Dense):
            parts.append(f"dense{layer.units}")
    return "-".join(parts)


def single_image_latency_ms(model, image, repeats: int = 50) -> float:
    """Median milliseconds of `predict_on_batch` on one (1, 28, 28) image (the draw page's call)."""
    import numpy as np

    batch = np.asarray(image, dtype=np.float32)[None]
    model.predict_on_batch(batch)  # warm-up: the first call traces the function
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict_on_batch(batch)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def measure(config, fresh: bool, probe_image) -> dict:
    """Train (or load) one config through the cache; return the table row's numbers."""
    from core import cache

    if fresh and cache.exists(config):
        cache.remove(config.key())
    load_before, cpu_before = os.getloadavg()[0], time.process_time()
    run = cache.get_or_train(config)
    load_after, cpu_seconds = os.getloadavg()[0], time.process_time() - cpu_before
    model_file = Path(run.path) / "model.keras" if run.path else None
    return {
        "key": run.key,
        "architecture": architecture_line(run.model),
        "params": int(run.meta["params"]),
        "epochs_run": int(run.meta["epochs_run"]),
        "epochs": config.epochs,
        "train_seconds": float(run.meta["train_seconds"]),
        # CPU time of this process (all threads): on an idle 2-core machine wall time is about half of it.
        "cpu_seconds": float("nan") if run.cached else cpu_seconds,
        "val_accuracy": float(run.meta["val_accuracy"]),
        "test_accuracy": float(run.meta["test_accuracy"]),
        "keras_mb": model_file.stat().st_size / 1e6 if model_file and model_file.exists() else float("nan"),
        "latency_ms": single_image_latency_ms(run.model, probe_image),
        "trained": "cache" if run.cached else f"now (load {load_before:.1f}->{load_after:.1f})",
    }


def markdown_table(rows: list[tuple[str, dict]]) -> str:
    lines = [
        "| preset | architecture | parameters | epochs run | train s (wall) | CPU s | val acc | test acc (embedded 1,000) | .keras MB | 1-image predict ms | trained |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in rows:
        lines.append(
            f"| `{name}` | {row['architecture']} | {row['params']:,} | {row['epochs_run']}/{row['epochs']} | "
            f"{row['train_seconds']:.0f} | {row['cpu_seconds']:.0f} | {row['val_accuracy']:.3f} | {row['test_accuracy']:.3f} | "
            f"{row['keras_mb']:.1f} | {row['latency_ms']:.1f} | {row['trained']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated preset names (default: every preset)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"bench cache folder (default {DEFAULT_CACHE})")
    parser.add_argument("--fresh", action="store_true", help="retrain presets already in the bench cache")
    args = parser.parse_args(argv)
    if args.cache_dir.resolve() == (REPO / "cached_models").resolve():
        parser.error("the bench must not write into the repo's cached_models/: pick another --cache-dir")
    setup(args.cache_dir)

    from core.data import load_mnist
    from core.presets import PRESETS

    names = [n.strip() for n in args.only.split(",") if n.strip()] or [n for n, p in PRESETS.items() if p.config.task == "mnist"]
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}: choose from {', '.join(PRESETS)}")
    probe = load_mnist("embedded").x_test[0]
    rows = []
    for name in names:
        print(f"{name}: training or loading…", file=sys.stderr, flush=True)
        row = measure(PRESETS[name].config, args.fresh, probe)
        print(f"{name}: test {row['test_accuracy']:.4f} in {row['train_seconds']:.0f} s ({row['trained']})", file=sys.stderr, flush=True)
        rows.append((name, row))
    print(f"Machine: {os.cpu_count()} CPUs; command: `python -m bench.presets{' ' + ' '.join(argv or sys.argv[1:]) if (argv or sys.argv[1:]) else ''}`\n")
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
