"""Sweeps: train every combination of a grid, one by one here or as a Ray Tune grid search.

Both engines go through `core.cache.get_or_train`, so every trial lands in the same atomic,
locked cache the dashboard reads: a finished trial appears on the Runs page at once, a
combination that is already cached is loaded instead of trained, and two sweeps (or a sweep and
a student) asking for the same combination train it once: the later one waits for the lock and
then loads the entry.

Ray is optional (`pip install -r requirements-ray.txt`) and imported only by `run_ray`.
On a cluster every node needs this repository at the same path and the cache folder
(`NEURAL_LAB_CACHE_DIR`) on a shared filesystem; see the README's "Sweeps" section.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.config import RunConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
RAY_MISSING = "the ray engine needs Ray Tune, which is not installed: pip install -r requirements-ray.txt"


class RayUnavailable(RuntimeError):
    """Raised when the ray engine is chosen but Ray Tune cannot be imported."""


def trial_summary(run) -> dict[str, Any]:
    """The facts of one finished trial (plain JSON-able values)."""
    return {
        "key": run.key,
        "cached": bool(run.cached),
        "description": run.config.describe(),
        "test_accuracy": run.meta.get("test_accuracy"),
        "val_accuracy": run.meta.get("val_accuracy"),
        "train_seconds": run.meta.get("train_seconds"),
        "created": run.meta.get("created"),
        "notes": list(run.notes),
    }


def run_local(configs: list[RunConfig], listener_for: Callable[[int, RunConfig], Any] | None = None) -> list[dict[str, Any]]:
    """Train (or load) each config in turn in this process; `listener_for(index, config)` gives a progress listener."""
    from core.cache import get_or_train

    rows = []
    for index, config in enumerate(configs, start=1):
        listener = listener_for(index, config) if listener_for is not None else None
        rows.append(trial_summary(get_or_train(config, listener)))
    return rows


def _ray_trial(params: dict[str, Any]) -> None:
    """One Ray Tune trial: the same get_or_train as everywhere, writing into the shared cache."""
    os.environ["NEURAL_LAB_CACHE_DIR"] = params["cache_dir"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from ray import tune

    from core.cache import get_or_train

    run = get_or_train(RunConfig.from_dict(params["config"]))
    summary = trial_summary(run)
    summary["notes"] = " | ".join(summary["notes"])
    summary["worker_pid"] = os.getpid()
    tune.report(summary)


def _import_ray():
    try:
        import ray
        from ray import tune
    except ImportError as error:
        raise RayUnavailable(f"{RAY_MISSING} ({error})") from None
    return ray, tune


def run_ray(
    configs: list[RunConfig],
    address: str | None = None,
    cpus_per_trial: float = 1,
    num_cpus: int | None = None,
    storage_path: str | None = None,
    verbose: int = 1,
) -> list[dict[str, Any]]:
    """Run the configs as a Ray Tune grid search; returns one summary per config, in the configs' order.

    `address` connects to a running cluster (e.g. "auto" or "ray://head:10001"); without it a local
    Ray starts with `num_cpus` CPUs (default: all). The cache folder is passed to every trial, so
    the workers write where this process's `core.cache.cache_root()` points.
    """
    ray, tune = _import_ray()
    # The same folder core.cache.cache_root() uses, computed without importing TensorFlow here:
    # the driver only schedules; the workers train.
    cache_dir = str(Path(os.environ.get("NEURAL_LAB_CACHE_DIR") or REPO_ROOT / "cached_models").resolve())
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home from a classroom machine
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    worker_env = {
        "PYTHONPATH": pythonpath,
        "NEURAL_LAB_CACHE_DIR": cache_dir,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    for name in ("NEURAL_LAB_OFFLINE", "NEURAL_LAB_CACHE_MAX_MB", "KERAS_HOME"):
        if name in os.environ:
            worker_env[name] = os.environ[name]
    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"runtime_env": {"env_vars": worker_env}, "include_dashboard": False, "log_to_driver": verbose > 1}
        if address:
            options["address"] = address
        else:
            options["num_cpus"] = num_cpus or os.cpu_count() or 1
        ray.init(**options)
    try:
        trainable = tune.with_resources(_ray_trial, {"cpu": cpus_per_trial})
        tuner = tune.Tuner(
            trainable,
            param_space={"config": tune.grid_search([c.to_dict() for c in configs]), "cache_dir": cache_dir},
            # Reusing actors keeps TensorFlow imported in each worker between trials (~5-15 s each).
            tune_config=tune.TuneConfig(metric="test_accuracy", mode="max", reuse_actors=True),
            run_config=tune.RunConfig(
                name="neural-lab-sweep",
                storage_path=storage_path or tempfile.mkdtemp(prefix="neural-lab-ray-"),
                verbose=0,
                callbacks=[_progress_callback(tune, len(configs))] if verbose else None,
                failure_config=tune.FailureConfig(max_failures=1),
            ),
        )
        results = tuner.fit()
        by_key: dict[str, dict[str, Any]] = {}
        errors = []
        for result in results:
            if result.error is not None:
                errors.append(f"{RunConfig.from_dict(result.config['config']).key()}: {result.error}")
                continue
            metrics = dict(result.metrics)
            row = {name: metrics.get(name) for name in (*_SUMMARY_FIELDS, "worker_pid")}
            row["notes"] = [note for note in str(row["notes"] or "").split(" | ") if note]
            by_key[metrics["key"]] = row
        if errors:
            raise RuntimeError("some trials failed: " + "; ".join(errors))
        return [by_key[config.key()] for config in configs]
    finally:
        if started_here:
            ray.shutdown()


def _progress_callback(tune, total: int):
    """One line on stderr per finished trial (Tune's own tables are too long for a terminal)."""
    import sys

    class Progress(tune.Callback):
        def __init__(self):
            self.done = 0

        def on_trial_result(self, iteration, trials, trial, result, **info):
            self.done += 1
            state = "loaded from cache" if result.get("cached") else f"trained in {result.get('train_seconds') or 0:.1f} s"
            print(f"[{self.done}/{total}] {result.get('key')} {state}, test accuracy {result.get('test_accuracy') or 0:.4f}", file=sys.stderr, flush=True)

        def on_trial_error(self, iteration, trials, trial, **info):
            print(f"trial {trial.trial_id} failed: {trial.error_file}", file=sys.stderr, flush=True)

    return Progress()


_SUMMARY_FIELDS = ("key", "cached", "description", "test_accuracy", "val_accuracy", "train_seconds", "created", "notes")
