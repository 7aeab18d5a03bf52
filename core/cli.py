"""python -m core train | pretrain | sweep | jobs | ls | rm | trash | restore | presets

Invalid values exit with status 2 and one line naming the problem; nothing is written then.
Progress goes to stderr (a tqdm bar), results to stdout (`--json`: the last line is one object).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from core import grids
from core.config import RunConfig, decode_value
from core.presets import PRESETS, preset

CONFIG_FLAGS = {
    "task": "task", "dataset": "dataset", "arch": "arch", "layers": "layers", "units": "units", "activation": "activation",
    "kernel_size": "kernel-size", "dense_units": "dense-units", "conv_dropout": "conv-dropout", "dropout": "dropout",
    "l2": "l2", "optimizer": "optimizer", "learning_rate": "learning-rate", "lr_schedule": "lr-schedule",
    "label_smoothing": "label-smoothing", "batch_size": "batch-size", "epochs": "epochs", "seed": "seed",
    "noise": "noise", "train_ratio": "train-ratio", "n_samples": "n-samples", "train_size": "train-size",
}
BOOL_FLAGS = {"batch_norm": "batch-norm", "augment": "augment", "early_stopping": "early-stopping"}


class UsageError(Exception):
    """A bad value on the command line: exit 2 with one line."""


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="base", help=f"start from a preset ({', '.join(PRESETS)}); flags override it")
    for field, flag in CONFIG_FLAGS.items():
        parser.add_argument(f"--{flag}", dest=field, default=None, metavar="VALUE")
    for field, flag in BOOL_FLAGS.items():
        parser.add_argument(f"--{flag}", dest=field, action=argparse.BooleanOptionalAction, default=None)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    try:
        base = preset(args.preset)
        changes: dict[str, Any] = {}
        for field, flag in CONFIG_FLAGS.items():
            text = getattr(args, field)
            if text is not None:
                try:
                    changes[field] = decode_value(field, text)
                except ValueError as error:
                    raise ValueError(f"--{flag} {text!r} is not valid for {field}: {error}") from None
        for field in BOOL_FLAGS:
            if getattr(args, field) is not None:
                changes[field] = getattr(args, field)
        if "task" in changes and changes["task"] == "toy" and "dataset" not in changes:
            changes["dataset"] = "blobs"
        return base.replace(**changes) if changes else base
    except ValueError as error:
        raise UsageError(str(error)) from None


class ProgressBar:
    """A tqdm bar over all batches of a run (on stderr)."""

    def __init__(self, label: str, enabled: bool = True):
        self.label, self.enabled, self.bar = label, enabled, None

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if event.kind == "waiting":
            print(f"{self.label}: being trained by another process; waiting for it…", file=sys.stderr)
        elif event.kind == "start":
            self.bar = tqdm(total=event.epochs * max(1, event.steps), desc=self.label, unit="batch", file=sys.stderr, leave=False)
        elif event.kind == "batch" and self.bar is not None:
            self.bar.update(1)
        elif event.kind == "epoch" and self.bar is not None:
            metrics = event.metrics
            self.bar.set_postfix(epoch=f"{event.epoch}/{event.epochs}", loss=f"{metrics.get('loss', 0):.3f}", val_acc=f"{metrics.get('val_accuracy', 0):.3f}")
        elif event.kind == "end" and self.bar is not None:
            self.bar.close()


def run_summary(run) -> dict[str, Any]:
    meta = run.meta
    return {
        "key": run.key,
        "cached": run.cached,
        "path": str(run.path) if run.path else None,
        "description": run.config.describe(),
        "test_accuracy": meta.get("test_accuracy"),
        "val_accuracy": meta.get("val_accuracy"),
        "epochs_run": meta.get("epochs_run"),
        "train_seconds": meta.get("train_seconds"),
        "params": meta.get("params"),
        "created": meta.get("created"),
        "notes": run.notes,
    }


def _train_one(config: RunConfig, label: str, show_progress: bool):
    from core.cache import get_or_train
    from core.data import FullMnistUnavailable

    try:
        return get_or_train(config, ProgressBar(label, show_progress))
    except FullMnistUnavailable as error:
        raise UsageError(str(error)) from None
    except ValueError as error:  # e.g. a toy split left a class empty
        raise UsageError(str(error)) from None


def command_train(args) -> int:
    config = config_from_args(args)
    run = _train_one(config, config.key(), show_progress=not args.quiet)
    summary = run_summary(run)
    for note in run.notes:
        print(f"warning: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        state = "loaded from cache" if run.cached else f"trained in {summary['train_seconds']:.1f} s"
        print(f"{summary['key']}  {state}  test accuracy {summary['test_accuracy']:.4f}  {summary['description']}")
    return 0


def parse_grid(text: str) -> dict[str, list[Any]]:
    """'layers=1,2 units=16,64' -> {'layers': [1, 2], 'units': [16, 64]} (each value parsed like a flag)."""
    grid: dict[str, list[Any]] = {}
    for part in text.split():
        name, sep, values = part.partition("=")
        name = name.replace("-", "_")
        if not sep or not values:
            raise UsageError(f"grid item {part!r} must look like name=value1,value2")
        if name not in CONFIG_FLAGS and name not in BOOL_FLAGS:
            raise UsageError(f"unknown grid field {name!r}")
        try:
            grid[name] = [decode_value(name, value) for value in values.split(",")]
        except ValueError as error:
            raise UsageError(f"grid field {name}: {error}") from None
    if not grid:
        raise UsageError("the grid is empty: e.g. --grid \"layers=1,2 units=16,64\"")
    return grid


def grid_configs(base: RunConfig, grid: dict[str, list[Any]]) -> list[RunConfig]:
    """Every combination of the grid applied to base (all validated before anything trains)."""
    cells = grids.grid(base, grid)
    for cell in cells:
        if cell.config is None:
            raise UsageError(f"combination {cell.values} is invalid: {cell.error}")
    return [cell.config for cell in cells]


def command_pretrain(args) -> int:

    base = config_from_args(args)
    configs = grid_configs(base, parse_grid(args.grid))
    rows = []
    for index, config in enumerate(configs, start=1):
        label = f"[{index}/{len(configs)}] {config.key()}"
        run = _train_one(config, label, show_progress=not args.quiet)
        rows.append(run_summary(run))
        for note in run.notes:  # e.g. a corrupt entry that was retrained
            print(f"warning: {note}", file=sys.stderr)
        if run.cached:
            print(f"{label} cached, skipped", file=sys.stderr)
        else:
            print(f"{label} trained in {run.meta['train_seconds']:.1f} s, test accuracy {run.test_accuracy:.4f}", file=sys.stderr)
    _print_table(rows)
    return 0


def _print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'key':16}  {'cached':6}  {'test acc':8}  {'seconds':>7}  configuration")
    for row in rows:
        print(f"{row['key']:16}  {str(row['cached']):6}  {row['test_accuracy']:8.4f}  {row['train_seconds'] or 0:7.1f}  {row['description']}")


def command_ls(args) -> int:
    from core import cache

    runs = cache.list_runs()
    if args.json:
        print(json.dumps([{name: value for name, value in run.as_row().items() if name != "last_used"} for run in runs]))
        return 0
    if not runs:
        print("no cached models")
        return 0
    for run in runs:
        print(f"{run.key}  {run.test_accuracy or 0:.4f}  {run.epochs_run or 0:>3} epochs  {run.size_mb:6.2f} MB  {run.description}")
    return 0


RECENT_SECONDS = 3600  # `jobs` shows ended jobs this recent unless --all


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def job_line(job, now: float) -> str:
    """One line of `jobs`: key, state, progress (or queue position), timing, description, and why it ended badly."""
    if job.state == "queued":
        progress, timing = f"#{job.position} in queue" if job.position else "queued", f"waiting {_duration(now - job.submitted)}"
    elif job.state == "running":
        progress, timing = f"epoch {job.epoch}/{job.epochs}", f"{_duration(job.elapsed)} elapsed"
        if job.eta_seconds is not None:
            timing += f", ~{_duration(job.eta_seconds)} left"
    else:
        progress, timing = f"epoch {job.epoch}/{job.epochs}", f"ended {_duration(now - (job.finished or job.updated))} ago"
    line = f"{job.key}  {job.state:11}  {progress:14}  {timing:26}  {job.description}"
    if job.state in ("failed", "interrupted") and job.message:
        line += f"  -- {job.message}"
    return line


def command_jobs(args) -> int:
    from dataclasses import asdict

    from core import jobs

    now = time.time()
    shown = [job for job in jobs.list_jobs() if args.all or job.active or now - (job.finished or job.updated) <= RECENT_SECONDS]
    if args.json:
        print(json.dumps([dict(asdict(job), fraction=job.fraction, eta_seconds=job.eta_seconds) for job in shown]))
        return 0
    if not shown:
        print("no background jobs")
        return 0
    for job in shown:
        print(job_line(job, now))
    return 0


def command_rm(args) -> int:
    from core import audit, trash

    try:
        item = trash.move_run(args.key)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if item is None:
        print(f"no cached model {args.key}", file=sys.stderr)
        return 1
    audit.record("delete-runs", [args.key], session="cli", mode="cli", role="admin")
    hours = trash.keep_seconds() / 3600
    print(f"moved {args.key} to the trash ({item.name}); `python -m core restore {item.name}` brings it back within {hours:g} h")
    return 0


def command_trash(args) -> int:
    from core import trash

    items = trash.list_trash()
    if args.json:
        print(json.dumps([dict(name=i.name, kind=i.kind, id=i.ident, deleted=i.deleted.isoformat(), description=i.description,
                               size_bytes=i.size_bytes) for i in items]))
        return 0
    if not items:
        print("the trash is empty")
    for item in items:
        print(f"{item.name}  {item.deleted:%Y-%m-%d %H:%M} UTC  {item.description[:70]}")
    return 0


def command_restore(args) -> int:
    from core import audit, trash

    try:
        outcome = trash.restore(args.name)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if outcome.restored:
        audit.record("restore", [args.name], session="cli", mode="cli", role="admin")
    print(outcome.message, file=sys.stdout if outcome.restored else sys.stderr)
    return 0 if outcome.restored else 1


def command_sweep(args) -> int:
    from core import sweep

    base = config_from_args(args)
    configs = grid_configs(base, parse_grid(args.grid))
    if args.cpus_per_trial <= 0:
        raise UsageError(f"--cpus-per-trial={args.cpus_per_trial:g} must be greater than 0")
    if args.engine == "ray":
        try:
            rows = sweep.run_ray(configs, address=args.address, cpus_per_trial=args.cpus_per_trial, verbose=0 if args.quiet else 1)
        except sweep.RayUnavailable as error:
            raise UsageError(str(error)) from None
    else:
        if args.address:
            raise UsageError("--address is for --engine ray")
        total = len(configs)
        rows = sweep.run_local(configs, lambda index, config: ProgressBar(f"[{index}/{total}] {config.key()}", not args.quiet))
    for row in rows:
        for note in row["notes"]:
            print(f"warning: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows))
    else:
        _print_table(rows)
    return 0


def command_presets(args) -> int:
    for name, item in PRESETS.items():
        print(f"{name:26} {item.summary}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Neural Lab: train and cache Keras models.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one combination (or load it from the cache)")
    _add_config_flags(train)
    train.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=command_train)
    pretrain = commands.add_parser("pretrain", help="train every missing combination of a grid")
    _add_config_flags(pretrain)
    pretrain.add_argument("--grid", required=True, help='e.g. "layers=1,2,3 units=16,64 activation=relu,tanh"')
    pretrain.add_argument("--quiet", action="store_true")
    pretrain.set_defaults(handler=command_pretrain)
    ls = commands.add_parser("ls", help="list cached models")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=command_ls)
    jobs = commands.add_parser("jobs", help="list background trainings: queued and running, then those ended in the last hour")
    jobs.add_argument("--all", action="store_true", help="include every ended job, however old")
    jobs.add_argument("--json", action="store_true", help="print the job records as one JSON list")
    jobs.set_defaults(handler=command_jobs)
    rm = commands.add_parser("rm", help="move a cached model to the trash (restorable for $NEURAL_LAB_TRASH_HOURS, default 24)")
    rm.add_argument("key")
    rm.set_defaults(handler=command_rm)
    trash_command = commands.add_parser("trash", help="list deleted models and drawings still restorable")
    trash_command.add_argument("--json", action="store_true")
    trash_command.set_defaults(handler=command_trash)
    restore = commands.add_parser("restore", help="bring a trashed model or drawing back (name from `trash`)")
    restore.add_argument("name")
    restore.set_defaults(handler=command_restore)
    sweep = commands.add_parser("sweep", help="train a grid of combinations, here one by one or with Ray Tune")
    _add_config_flags(sweep)
    sweep.add_argument("--grid", required=True, help='e.g. "layers=1,2,3 units=32,128 dropout=0,0.3"')
    sweep.add_argument("--engine", choices=("local", "ray"), default="local", help="local: one by one in this process; ray: a Ray Tune grid search")
    sweep.add_argument("--address", default=None, help="Ray cluster address (e.g. auto after `ray start --head`); default: a local Ray")
    sweep.add_argument("--cpus-per-trial", type=float, default=1.0, metavar="N", help="CPUs Ray reserves per trial (default 1)")
    sweep.add_argument("--json", action="store_true", help="print the trials as one JSON list")
    sweep.add_argument("--quiet", action="store_true")
    sweep.set_defaults(handler=command_sweep)
    presets = commands.add_parser("presets", help="list the presets")
    presets.set_defaults(handler=command_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. cache.CacheWriteError on a full disk: one clear line, nothing half-written
        print(f"error: {error}", file=sys.stderr)
        return 1
