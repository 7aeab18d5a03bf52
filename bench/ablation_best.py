"""What each option of the `best` preset contributes: retrain it with one option changed at a time.

    python -m bench.ablation_best                  # one seed, cache in /tmp/neural-lab-bench-cache
    python -m bench.ablation_best --seeds 0,1,2    # mean over seeds (each row trains once per seed)
    python -m bench.ablation_best --shard 1/2 & python -m bench.ablation_best --shard 2/2   # two processes
    python -m bench.ablation_best --cached-only    # then the whole table from the cache

Two or three training processes at once get more out of 2 cores than one (a single TensorFlow
fit leaves a core partly idle), so sharding the rows finishes sooner.

Prints a markdown table: the validation accuracy (the split `best` was tuned on), the test
accuracy on the embedded 1,000-digit split, epochs run and training seconds, for `best` and for
`best` minus each option. Runs go through `core.cache.get_or_train`, so a rerun reuses them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench.presets import DEFAULT_CACHE, REPO, setup

# Each row: label, the options that undo one idea of `best`.
ABLATIONS: list[tuple[str, dict]] = [
    ("no augmentation", {"augment": False}),
    ("no batch norm", {"batch_norm": False}),
    ("no dropout", {"dropout": 0.0, "conv_dropout": 0.0}),
    ("no conv dropout (dense dropout kept)", {"conv_dropout": 0.0}),
    ("batch 64 instead of 32", {"batch_size": 64}),
    ("batch 64 and no conv dropout", {"batch_size": 64, "conv_dropout": 0.0}),
    ("constant learning rate (no schedule)", {"lr_schedule": "constant"}),
    ("no label smoothing", {"label_smoothing": 0.0}),
    ("no early stopping (all epochs, last weights)", {"early_stopping": False}),
    # Options `best` leaves out, added back one at a time (a row appears only when `best` differs).
    ("early stopping added (val loss, patience 5, best weights restored)", {"early_stopping": True}),
    ("batch norm added (after each conv and the dense layer)", {"batch_norm": True}),
]


def ablation_configs(best) -> list[tuple[str, object]]:
    """`best` first, then one config per row of ABLATIONS that differs from `best` (its option undone or added)."""
    rows = [("`best` (all options)", best)]
    for label, changes in ABLATIONS:
        if any(getattr(best, name) != value for name, value in changes.items()):
            rows.append((label, best.replace(**changes)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; numbers are means over them")
    parser.add_argument("--cached-only", action="store_true", help="report only the rows already in the bench cache (train nothing)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"bench cache folder (default {DEFAULT_CACHE})")
    parser.add_argument("--shard", default="1/1", help="I/N: train only every N-th row starting at row I (run N of these at once)")
    args = parser.parse_args(argv)
    try:
        shard, shards = (int(part) for part in args.shard.split("/"))
        if not 1 <= shard <= shards:
            raise ValueError
    except ValueError:
        parser.error(f"--shard must be I/N with 1 <= I <= N, not {args.shard!r}")
    if args.cache_dir.resolve() == (REPO / "cached_models").resolve():
        parser.error("the bench must not write into the repo's cached_models/: pick another --cache-dir")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds must be integers separated by commas, not {args.seeds!r}")
    setup(args.cache_dir)

    import numpy as np

    from core.cache import exists, get_or_train
    from core.presets import preset

    best = preset("best")
    lines = [
        "| variant | val acc (500) | val loss (last) | test acc (embedded 1,000) | epochs run | train s (wall) | CPU s | trained |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    variants = ablation_configs(best)
    variants = [v for i, v in enumerate(variants) if i % shards == shard - 1]
    if args.cached_only:
        variants = [(label, c) for label, c in variants if all(exists(c.replace(seed=s)) for s in seeds)]
    # Train the variants before `best` itself: bench/presets.py may be training `best` right now
    # (same cache key, so this process would only wait for its lock).
    results = {}
    for label, config in variants[1:] + variants[:1]:
        runs = []
        for seed in seeds:
            print(f"{label}, seed {seed}: training or loading…", file=sys.stderr, flush=True)
            load, cpu_before = os.getloadavg()[0], time.process_time()
            run = get_or_train(config.replace(seed=seed))
            run.meta["cpu_seconds_here"] = float("nan") if run.cached else time.process_time() - cpu_before
            runs.append((run, load))
            print(f"  val {run.meta['val_accuracy']:.4f} test {run.test_accuracy:.4f}", file=sys.stderr, flush=True)
        results[label] = runs
    for label, _ in variants:
        runs = results[label]
        val = np.mean([r.meta["val_accuracy"] for r, _ in runs])
        val_loss = np.mean([r.history["val_loss"][-1] for r, _ in runs])  # comparable only at equal label smoothing
        test = np.mean([r.test_accuracy for r, _ in runs])
        epochs = np.mean([r.meta["epochs_run"] for r, _ in runs])
        seconds = np.mean([r.meta["train_seconds"] for r, _ in runs])
        cpu = np.mean([r.meta["cpu_seconds_here"] for r, _ in runs])
        trained = "cache" if all(r.cached for r, _ in runs) else "now (load ~" + f"{np.mean([ld for _, ld in runs]):.1f})"
        lines.append(f"| {label} | {val:.4f} | {val_loss:.4f} | {test:.4f} | {epochs:.0f} | {seconds:.0f} | {cpu:.0f} | {trained} |")
    print(
        f"Seeds: {', '.join(map(str, seeds))} (means); command: `python -m bench.ablation_best --seeds {args.seeds}"
        f"{' --cached-only' if args.cached_only else ''}`\n"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
