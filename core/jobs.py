"""Background trainings: a bounded pool of worker processes, one job per config key, state on disk.

A page (or anyone) calls `submit(config)`; it returns at once with the job's record. The job's
identity is the config key, so submitting a combination that is queued or running anywhere returns
that job: it never trains twice (and `core.cache.get_or_train`'s per-key file lock guarantees the
same across processes and servers that share the cache folder).

Where the state lives. Each job publishes one small JSON record, `<cache>/.jobs/<key>.json`,
written into a temp file and moved into place with `os.replace`, so any process (another server,
the CLI, a test) reads a whole record or none. A running job rewrites it after each epoch and at
most every `PUBLISH_SECONDS` during an epoch (epoch, batch, elapsed, the history so far), and a
heartbeat thread in the worker refreshes `updated` every `HEARTBEAT_SECONDS`. A record that says
queued/running but whose heartbeat is older than `STALE_SECONDS` (server restarted, machine lost)
reads as "interrupted": nothing is shown as running forever. Toy 2-D runs also publish the live
probability grid beside it (`<key>.live.npz`). Cancel is a flag file (`<key>.cancel`) that the
worker checks between batches, so it works whichever process or machine trains the job.

Who trains. `JobRunner` keeps `workers` processes started with `spawn` (TensorFlow is not
fork-safe) that import TensorFlow and the data once, at start, so a user's first job does not
wait for imports. A dispatcher thread hands queued jobs to idle workers; a worker killed (kill -9,
out of memory) marks its job failed and is replaced. With `NEURAL_LAB_JOBS_BACKEND=ray` the same
jobs run as Ray tasks on a cluster (the records and the cancel flag live in the shared cache
folder); if Ray cannot be reached the runner says so and falls back to local workers.

Bounds: at most `max_queued` jobs waiting per runner and `max_per_session` active jobs per browser
session. Past a bound, `submit` raises `QueueFull` with a message saying how many jobs are ahead;
nothing is half-started.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import socket
import sys
import threading
import time
import types
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core import eta
from core.config import RunConfig

log = logging.getLogger("neural_lab.jobs")

ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "cancelled", "interrupted")
PUBLISH_SECONDS = 0.5
HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 30.0
OWNER_GRACE_SECONDS = 5.0
WORKER_NICENESS = 10
CANCEL_CHECK_SECONDS = 0.2
HOST = socket.gethostname()


class QueueFull(Exception):
    """The queue (or this session's share of it) is full; nothing was queued."""


# -- where records live -----------------------------------------------------------------------


def jobs_dir() -> Path:
    from core.cache import cache_root

    folder = cache_root() / ".jobs"
    folder.mkdir(exist_ok=True)
    return folder


def _record_path(key: str, suffix: str = ".json", folder: Path | None = None) -> Path:
    from core.cache import check_key

    return (folder or jobs_dir()) / f"{check_key(key)}{suffix}"


@dataclass
class Job:
    """What anyone may know about one background training (the record on disk)."""

    key: str
    state: str  # queued | running | done | failed | cancelled | interrupted
    description: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    submitted: float = 0.0
    started: float | None = None
    finished: float | None = None
    updated: float = 0.0  # heartbeat (time.time())
    position: int | None = None  # when queued: 1 = next to start
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    steps: int = 0
    elapsed: float = 0.0  # seconds of training so far
    history: dict[str, list[float]] = field(default_factory=dict)
    message: str = ""
    waiting: bool = False  # waiting for another process that trains the same combination
    cached: bool = False  # done by loading an entry someone else trained meanwhile
    test_accuracy: float | None = None
    train_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    session: str | None = None
    owner: str = ""  # "host:pid" of the runner that queued it
    worker: str = ""  # "host:pid" of the process that trains it
    backend: str = "local"
    kind: str = "train"  # "train" (a RunConfig's training) | "lr_finder" (core.lr_finder's range test of it)
    options: dict[str, Any] = field(default_factory=dict)  # the kind's settings (a range test's start, end, steps)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        if not self.epochs:
            return 0.0
        # Published after an epoch: (epoch=N, batch=0) = N epochs done; during one: (N, b) = N-1 and b batches.
        done = self.epoch if not self.batch else self.epoch - 1 + (self.batch / self.steps if self.steps else 0.0)
        return min(1.0, max(0.0, done / self.epochs))

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left from this run's own timed epochs (core.eta: None until an epoch after the first ended)."""
        return self.seconds_left()

    def seconds_left(self, reference_seconds_per_epoch: float | None = None) -> float | None:
        """Seconds left (core.eta's rule); `reference_seconds_per_epoch`: a similar cached run's, used until this run has timed an epoch."""
        if self.state != "running" or self.waiting:
            return None
        return eta.seconds_left(self.history.get("seconds"), self.epochs, self.fraction, reference_seconds_per_epoch)

    def run_config(self) -> RunConfig:
        return RunConfig.from_dict(self.config)


def write_job(job: Job, folder: Path | None = None) -> None:
    """Publish a record atomically (temp file + os.replace), in `folder` (default: this cache's jobs)."""
    path = _record_path(job.key, folder=folder)
    temp = path.with_name(f".tmp-{job.key}-{uuid.uuid4().hex[:8]}.json")
    temp.write_text(json.dumps(asdict(job), default=float), encoding="utf-8")
    os.replace(temp, path)


_NUMBER = (int, float)
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "key": (str,), "state": (str,), "description": (str,), "config": (dict,), "history": (dict,), "message": (str,),
    "notes": (list,), "owner": (str,), "worker": (str,), "backend": (str,), "kind": (str,), "options": (dict,), "waiting": (bool,), "cached": (bool,),
    "session": (str, type(None)), "submitted": _NUMBER, "updated": _NUMBER, "epoch": _NUMBER, "epochs": _NUMBER,
    "batch": _NUMBER, "steps": _NUMBER, "elapsed": _NUMBER, "started": (*_NUMBER, type(None)), "finished": (*_NUMBER, type(None)),
    "position": (*_NUMBER, type(None)), "test_accuracy": (*_NUMBER, type(None)), "train_seconds": (*_NUMBER, type(None)),
}


def _job_from_record(data: Any) -> Job:
    if not isinstance(data, dict):
        raise ValueError("not a mapping")
    known = {name: data[name] for name in Job.__dataclass_fields__ if name in data}
    job = Job(**known)
    # Every reader (staleness, sorting, ETA, the CLI) does arithmetic on these: a wrong type is a corrupt record.
    wrong = [name for name, kinds in _FIELD_TYPES.items() if not isinstance(getattr(job, name), kinds)]
    if wrong or job.state not in (*ACTIVE, *FINAL):
        raise ValueError(f"bad fields {wrong or ['state']}")
    if not all(isinstance(values, list) and all(isinstance(v, _NUMBER) for v in values) for values in job.history.values()):
        raise ValueError("bad history")
    return job


def read_job(key: str, folder: Path | None = None) -> Job | None:
    """The job record of `key`, or None (none, or unreadable: a corrupt record is treated as no job).

    An active record whose heartbeat stopped (its server or worker is gone) reads as interrupted.
    """
    path = _record_path(key, folder=folder)
    try:
        job = _job_from_record(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as error:
        log.warning("job record %s is unreadable (%s); it is ignored", path.name, error)
        return None
    if job.key != key:
        return None
    if job.active and _is_stale(job, path):
        job.state = "interrupted"
        job.message = (
            f"The training of {job.description} was interrupted at epoch {job.epoch} of {job.epochs} "
            "(its server or worker stopped); nothing was cached. Press Train to start it again."
        )
    return job


def _is_stale(job: Job, path: Path) -> bool:
    if time.time() - job.updated > STALE_SECONDS:
        # A job handed to a worker or to Ray that has not started it yet (a cold worker, a Ray task
        # waiting for a CPU) has no one to rewrite its record: its runner touches `<key>.beat` instead.
        try:
            return time.time() - path.with_suffix(".beat").stat().st_mtime > STALE_SECONDS
        except OSError:
            return True
    if not _dead_here(job.worker or job.owner):
        return False
    # A worker that died under a live runner: the runner records why ("failed: its worker process
    # died…") within a moment; until then the job is not called interrupted.
    return not (job.worker and not _dead_here(job.owner) and time.time() - job.updated < OWNER_GRACE_SECONDS)


def _dead_here(process: str) -> bool:
    """True when `process` ("host:pid") is on this host and no longer runs."""
    host, _, pid = process.partition(":")
    return host == HOST and pid.isdigit() and not _pid_alive(int(pid))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_jobs(active_only: bool = False) -> list[Job]:
    """Every job record in the cache folder: running, then queued in queue order, then ended newest
    first (only queued/running with active_only)."""
    from core.cache import KEY_PATTERN

    jobs = []
    for path in jobs_dir().glob("*.json"):
        job = read_job(path.stem) if KEY_PATTERN.match(path.stem) else None  # skips .tmp-* and stray files
        if job is not None and (job.active or not active_only):
            jobs.append(job)
    # An ended record may still carry the position it had while queued: only queued ones sort by it.
    return sorted(jobs, key=lambda j: (j.state != "running", j.state != "queued", (j.position or 0) if j.state == "queued" else 0, -j.submitted))


def read_live_grid(key: str):
    """(epoch, probabilities (H, W, classes)) of a toy job's latest live boundary, or None."""
    import numpy as np

    try:
        with np.load(_record_path(key, ".live.npz"), allow_pickle=False) as data:
            return int(data["epoch"]), np.asarray(data["probabilities"], dtype=np.float32)
    except (OSError, ValueError, KeyError):
        return None


def request_cancel(key: str) -> None:
    _record_path(key, ".cancel").write_text(str(time.time()), encoding="utf-8")


def _cancel_requested(key: str) -> bool:
    return _record_path(key, ".cancel").exists()


def _clear_cancel(key: str) -> None:
    try:
        _record_path(key, ".cancel").unlink()
    except FileNotFoundError:
        pass


# -- the worker side (runs in a worker process or a Ray task) ---------------------------------


class Publisher:
    """The listener a job trains with: publishes progress, honours cancel, keeps a heartbeat."""

    def __init__(self, job: Job):
        self.job = job
        self._lock = threading.Lock()
        self._last_publish = self._last_cancel_check = 0.0
        self._beating = threading.Event()

    def publish(self, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self.job, name, value)
            self.job.updated = time.time()
            write_job(self.job)
            self._last_publish = time.perf_counter()

    def start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._beating.wait(HEARTBEAT_SECONDS):
                try:
                    self.publish()
                except OSError:
                    pass

        threading.Thread(target=beat, name=f"heartbeat-{self.job.key}", daemon=True).start()

    def stop_heartbeat(self) -> None:
        self._beating.set()

    def fail(self, message: str) -> str:
        """Record the job as failed with `message` (the heartbeat stops); returns the final state."""
        self.stop_heartbeat()
        self.publish(state="failed", finished=time.time(), message=message)
        return "failed"

    def __call__(self, event) -> None:
        from core.training import StopTraining

        now = time.perf_counter()
        if event.kind == "waiting":
            self.publish(waiting=True, epochs=event.epochs)
            return
        if event.kind == "start":
            self.publish(waiting=False, state="running", epoch=0, batch=0, epochs=event.epochs, elapsed=0.0)
        elif event.kind == "epoch":
            self.publish(epoch=event.epoch, batch=0, steps=event.steps, elapsed=event.elapsed, history={k: list(v) for k, v in event.history.items()})
        elif event.kind == "batch" and now - self._last_publish >= PUBLISH_SECONDS:
            self.publish(epoch=event.epoch, batch=event.batch, steps=event.steps, elapsed=event.elapsed)
        if now - self._last_cancel_check >= CANCEL_CHECK_SECONDS:
            self._last_cancel_check = now
            if _cancel_requested(self.job.key):
                raise StopTraining()


def _live_grid_callback(config: RunConfig, key: str):
    """For toy runs: writes the coarse live probability grid beside the record every few epochs."""
    import numpy as np

    from core import boundary

    path = _record_path(key, ".live.npz")

    def on_grid(epoch: int, probabilities, logs) -> None:
        temp = path.with_name(f".tmp-{key}-{uuid.uuid4().hex[:8]}.live.npz")
        with open(temp, "wb") as handle:
            np.savez(handle, epoch=np.int32(epoch), probabilities=probabilities.astype(np.float16))
        os.replace(temp, path)

    return boundary.LiveBoundary(config, on_grid, every=boundary.live_every(config.epochs))


def run_job(job_record: dict[str, Any], cache_dir: str) -> str:
    """Train one job through the cache, publishing its record; returns the final state.

    Runs in a worker process (or a Ray task): never raises for a training that fails, it records
    the failure instead.
    """
    os.environ["NEURAL_LAB_CACHE_DIR"] = cache_dir
    from core import cache
    from core.data import FullMnistUnavailable

    job = _job_from_record(job_record)
    publisher = Publisher(job)
    if _cancel_requested(job.key):
        _clear_cancel(job.key)
        publisher.publish(state="cancelled", finished=time.time(), message=f"{job.description} was cancelled before it started; nothing was trained.")
        return "cancelled"
    config = job.run_config()
    if job.kind == "lr_finder":
        return _run_range_test(job, publisher)
    publisher.publish(state="running", started=time.time(), worker=f"{HOST}:{os.getpid()}", position=None, epochs=config.epochs)
    publisher.start_heartbeat()
    try:
        extra = [_live_grid_callback(config, job.key)] if config.task == "toy" else []
        run = cache.get_or_train(config, publisher, extra_callbacks=extra)
    except (FullMnistUnavailable, ValueError, OSError) as error:
        return publisher.fail(f"The training of {job.description} failed: {error}. Nothing was cached.")
    except Exception as error:  # noqa: BLE001 - a worker records every failure instead of dying with it
        log.exception("job %s failed", job.key)
        return publisher.fail(f"The training of {job.description} failed ({type(error).__name__}: {str(error)[:300]}). Nothing was cached.")
    publisher.stop_heartbeat()
    _clear_cancel(job.key)
    if run.stopped_at is not None:
        publisher.publish(
            state="cancelled", finished=time.time(),
            message=f"Stopped at epoch {run.stopped_at} of {config.epochs}; {job.description} was not cached (only complete runs are kept).",
        )
        return "cancelled"
    history = {k: list(map(float, v)) for k, v in run.history.items()}
    publisher.publish(
        state="done", finished=time.time(), cached=run.cached, history=history, epoch=len(history.get("loss", [])), batch=0,
        test_accuracy=float(run.test_accuracy), train_seconds=float(run.meta.get("train_seconds", 0.0)), notes=list(run.notes),
        message="Loaded: another process trained it meanwhile." if run.cached else f"Trained in {run.meta.get('train_seconds', 0):.1f} s and cached.",
    )
    return "done"


def _run_range_test(job: Job, publisher: Publisher) -> str:
    """A range test job (core.lr_finder): progress as batch/steps of one "epoch", the curve so far as its
    history (learning_rate, loss); the result goes into the cache, the record says how it ended."""
    from core import lr_finder
    from core.training import StopTraining

    config, settings = job.run_config(), lr_finder.RangeSettings(**job.options)
    publisher.publish(state="running", started=time.time(), worker=f"{HOST}:{os.getpid()}", position=None, epoch=1, epochs=1, batch=0, steps=settings.steps)
    publisher.start_heartbeat()
    last = {"publish": 0.0, "cancel": 0.0}

    def on_step(done: int, rates, losses) -> None:
        now = time.perf_counter()
        if now - last["publish"] >= PUBLISH_SECONDS:
            last["publish"] = now
            publisher.publish(batch=done, elapsed=time.time() - (job.started or time.time()), history={"learning_rate": rates.tolist(), "loss": losses.tolist()})
        if now - last["cancel"] >= CANCEL_CHECK_SECONDS:
            last["cancel"] = now
            if _cancel_requested(job.key):
                raise StopTraining()

    try:
        result = lr_finder.load(config, settings) or lr_finder.range_test(config, settings, on_step)
        if result.stopped != "cancelled":
            lr_finder.store(config, result)
    except Exception as error:  # noqa: BLE001 - a worker records every failure instead of dying with it
        log.exception("range test %s failed", job.key)
        return publisher.fail(f"The {job.description} failed ({type(error).__name__}: {str(error)[:300]}). Nothing was cached.")
    publisher.stop_heartbeat()
    _clear_cancel(job.key)
    history = {"learning_rate": result.rates.tolist(), "loss": result.losses.tolist()}
    if result.stopped == "cancelled":
        publisher.publish(state="cancelled", finished=time.time(), history=history, message=f"Stopped after {len(result.losses)} batches; the range test was not cached.")
        return "cancelled"
    publisher.publish(
        state="done", finished=time.time(), history=history, batch=len(result.losses), notes=list(result.notes),
        message=f"Range test done in {result.seconds:.1f} s ({len(result.losses)} batches) and cached.",
    )
    return "done"


def _warm_worker() -> None:
    """Import TensorFlow and read the embedded data once, so the first job starts training at once."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from core import training  # noqa: F401 - imports keras/TensorFlow (core.cache imports them only when needed)
    from core.data import load_mnist

    try:
        load_mnist("embedded")
    except Exception:  # noqa: BLE001 - warming is an optimisation only
        pass


def _worker_main(inbox, outbox) -> None:
    import queue

    try:
        os.nice(WORKER_NICENESS)  # pages first: a training may wait a few ms, a student should not
    except OSError:
        pass
    _warm_worker()
    parent = os.getppid()
    outbox.put(("ready", os.getpid(), None))
    while True:
        try:
            task = inbox.get(timeout=5)
        except queue.Empty:
            if os.getppid() != parent:  # the server died (kill -9): an orphan worker leaves too
                return
            continue
        if task is None:
            return
        record, cache_dir = task
        try:
            state = run_job(record, cache_dir)
        except Exception as error:  # noqa: BLE001 - keep the worker alive for the next job
            log.exception("job crashed")
            state = f"failed: {error}"
        outbox.put(("finished", os.getpid(), record["key"], state))


# -- the server side: queue, workers, dispatcher ----------------------------------------------


def default_workers() -> int:
    try:
        return max(1, int(os.environ["NEURAL_LAB_JOB_WORKERS"]))
    except (KeyError, ValueError):
        return max(1, (os.cpu_count() or 2) // 2)


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


_SPAWN_LOCK = threading.Lock()


def _start_without_main(process) -> None:
    """Start a spawn worker without re-running the parent's `__main__` in it.

    Under `streamlit run`, sys.modules["__main__"] is the page script (dashboard/app.py, installed by
    Streamlit's script runner). spawn would run that file again in the child (as __mp_main__), which
    starts a JobRunner there and dies during bootstrap ("An attempt has been made to start a new
    process before the current process has finished its bootstrapping phase", exit code 1), so every
    job failed and the dispatcher respawned dying workers forever. The worker needs nothing from
    __main__ (its target lives in core.jobs), so the child gets a bare stand-in instead.
    """
    main = sys.modules.get("__main__")
    stand_in = types.ModuleType("__main__")  # no __file__ and no __spec__: spawn imports no main in the child
    with _SPAWN_LOCK:
        sys.modules["__main__"] = stand_in
        try:
            process.start()
        finally:
            if sys.modules.get("__main__") is stand_in and main is not None:
                sys.modules["__main__"] = main  # unless a script run installed its own meanwhile


@dataclass
class _Slot:
    process: Any
    inbox: Any
    key: str | None = None  # the job it trains now
    folder: Path | None = None  # that job's jobs folder
    ready: bool = False


class JobRunner:
    """Queue + bounded worker pool of one server process. Thread-safe; one per process is enough."""

    def __init__(
        self,
        workers: int | None = None,
        max_queued: int | None = None,
        max_per_session: int | None = None,
        backend: str | None = None,
        ray_address: str | None = None,
        ray_timeout: float | None = None,
    ):
        self.workers = workers or default_workers()
        self.max_queued = max_queued or _env_int("NEURAL_LAB_JOBS_MAX_QUEUED", 24)
        self.max_per_session = max_per_session or _env_int("NEURAL_LAB_JOBS_MAX_PER_SESSION", 8)
        self.backend = (backend or os.environ.get("NEURAL_LAB_JOBS_BACKEND") or "local").lower()
        self.ray_address = ray_address if ray_address is not None else os.environ.get("NEURAL_LAB_RAY_ADDRESS")
        # ray.init to an unreachable address retries for ~13 min before it fails by itself.
        self.ray_timeout = ray_timeout if ray_timeout is not None else _env_int("NEURAL_LAB_RAY_TIMEOUT", 60)
        self.notice = ""  # e.g. "Ray was configured but unreachable: ..., training here instead"
        self.owner = f"{HOST}:{os.getpid()}"
        self._queue: deque[tuple[Job, Path]] = deque()  # (job, its jobs folder: the cache it trains into)
        self._slots: list[_Slot] = []
        self._ray_tasks: dict[str, Any] = {}  # key -> ObjectRef
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopped = False
        self._context = multiprocessing.get_context("spawn")
        self._outbox = None
        self._thread: threading.Thread | None = None
        if self.backend == "ray":
            self._start_ray()
        if self.backend != "ray":
            self.backend = "local"
            self._outbox = self._context.Queue()
            for _ in range(self.workers):
                self._slots.append(self._new_slot())
        self._thread = threading.Thread(target=self._dispatch_loop, name="neural-lab-jobs", daemon=True)
        self._thread.start()

    # -- workers ------------------------------------------------------------------------------

    def _new_slot(self) -> _Slot:
        inbox = self._context.Queue()
        process = self._context.Process(target=_worker_main, args=(inbox, self._outbox), name="neural-lab-worker", daemon=True)
        _start_without_main(process)
        return _Slot(process=process, inbox=inbox)

    def _start_ray(self) -> None:
        try:
            import ray

            from core.cache import REPO_ROOT

            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            if not ray.is_initialized():
                env = {"PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p), "TF_CPP_MIN_LOG_LEVEL": "3", "RAY_USAGE_STATS_ENABLED": "0"}
                for name in ("NEURAL_LAB_OFFLINE", "NEURAL_LAB_CACHE_MAX_MB", "KERAS_HOME"):
                    if name in os.environ:
                        env[name] = os.environ[name]
                options: dict[str, Any] = {"runtime_env": {"env_vars": env}, "include_dashboard": False, "log_to_driver": False}
                if self.ray_address:
                    options["address"] = self.ray_address
                else:
                    options["num_cpus"] = self.workers
                _with_timeout(lambda: ray.init(**options), self.ray_timeout, linger=True)
            self._ray = ray
            self._ray_job = ray.remote(num_cpus=1, max_retries=0)(run_job)
        except Exception as error:  # noqa: BLE001 - unreachable, not installed, timed out: fall back
            self.notice = f"Ray was configured (NEURAL_LAB_JOBS_BACKEND=ray) but could not be used ({type(error).__name__}: {str(error)[:200]}); training on this machine instead."
            log.warning(self.notice)
            self.backend = "local"

    def warm(self, timeout: float = 60.0) -> bool:
        """Wait until every local worker has imported TensorFlow (tests and benchmarks use it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._wake.set()
            with self._lock:
                if all(slot.ready for slot in self._slots):
                    return True
            time.sleep(0.1)
        return False

    # -- the public API -----------------------------------------------------------------------

    def submit(self, config: RunConfig, session: str | None = None) -> Job:
        """Queue `config` (or return its queued/running job). Raises QueueFull past a bound."""
        return self._submit(config, session, key=config.key(), description=config.describe(), epochs=config.epochs)

    def submit_range_test(self, config: RunConfig, session: str | None = None, settings=None) -> Job:
        """Queue the learning-rate range test of `config` (core.lr_finder; keyed by the config minus its
        learning rate, schedule and epochs), or return the one queued/running. Raises QueueFull past a bound."""
        from core import lr_finder

        settings = settings or lr_finder.RangeSettings()
        return self._submit(
            config, session, key=lr_finder.finder_key(config, settings), description=lr_finder.describe(config, settings),
            epochs=1, kind="lr_finder", options=asdict(settings),
        )

    def _submit(self, config: RunConfig, session: str | None, *, key: str, description: str, epochs: int, kind: str = "train",
                options: dict[str, Any] | None = None) -> Job:
        from filelock import FileLock

        # The check-then-write is atomic across servers sharing the cache, not only across threads.
        with self._lock, FileLock(str(_record_path(key, ".submit.lock"))):
            current = read_job(key)
            if current is not None and current.active:
                return current
            active = [job for job in list_jobs(active_only=True)]
            if session is not None:
                mine = [job for job in active if job.session == session]
                if len(mine) >= self.max_per_session:
                    raise QueueFull(
                        f"You already have {len(mine)} trainings queued or running (the limit per visitor is {self.max_per_session}); "
                        "this one was not queued. Wait for one to finish (or cancel one under Background trainings on the Runs page), then press again."
                    )
            if len(self._queue) >= self.max_queued:
                raise QueueFull(
                    f"The queue is full: {len(self._queue)} trainings are waiting and {self.busy()} running. "
                    "Nothing was queued; try again when some have finished."
                )
            _clear_cancel(key)
            now = time.time()
            job = Job(
                key=key, state="queued", description=description, config=config.to_dict(), submitted=now, updated=now,
                epochs=epochs, session=session, owner=self.owner, backend=self.backend, position=len(self._queue) + 1,
                kind=kind, options=dict(options or {}),
            )
            write_job(job)
            self._queue.append((job, jobs_dir()))
        self._wake.set()
        return job

    def cancel(self, key: str) -> Job | None:
        """Cancel a queued or running job. Returns its record (None for an unknown key); a job that
        had already ended is returned unchanged (the caller says so)."""
        with self._lock:
            for index, (queued, folder) in enumerate(self._queue):
                if queued.key == key:
                    del self._queue[index]
                    queued.state, queued.finished, queued.position = "cancelled", time.time(), None
                    queued.message = f"{queued.description} was cancelled before it started; nothing was trained."
                    write_job(queued, folder)
                    self._republish_positions()
                    return queued
            job = read_job(key)
            if job is None or not job.active:
                return job
            request_cancel(key)
            return job

    def busy(self) -> int:
        with self._lock:
            return sum(1 for slot in self._slots if slot.key) + len(self._ray_tasks)

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def shutdown(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None:  # else its _reap could start a new worker for one stopped below
            self._thread.join(timeout=10)
        for slot in self._slots:
            try:
                slot.inbox.put(None)
            except (OSError, ValueError):
                pass
        for slot in self._slots:
            slot.process.join(timeout=2)
            if slot.process.is_alive():
                slot.process.kill()

    # -- the dispatcher thread ----------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        last_beat = 0.0
        while not self._stopped:
            self._wake.wait(0.2)
            self._wake.clear()
            try:
                with self._lock:
                    self._collect()
                    self._reap()
                    self._assign()
                    if time.time() - last_beat > HEARTBEAT_SECONDS:
                        last_beat = time.time()
                        self._republish_positions()
                        self._touch_handed_over()
            except Exception:  # noqa: BLE001 - the dispatcher must survive anything
                log.exception("job dispatcher")

    def _collect(self) -> None:
        """Messages from workers: ready, finished."""
        if self._outbox is not None:
            while True:
                try:
                    message = self._outbox.get_nowait()
                except Exception:  # noqa: BLE001 - queue.Empty (or a closed queue at shutdown)
                    break
                kind, pid = message[0], message[1]
                for slot in self._slots:
                    if slot.process.pid == pid:
                        if kind == "ready":
                            slot.ready = True
                        elif kind == "finished" and slot.key == message[2]:
                            slot.key = None
        if self._ray_tasks:
            refs = [ref for ref, _ in self._ray_tasks.values()]
            done, _ = self._ray.wait(refs, timeout=0, num_returns=len(refs))
            for key, (ref, folder) in list(self._ray_tasks.items()):
                if ref in done:
                    del self._ray_tasks[key]
                    try:
                        self._ray.get(ref)
                    except Exception as error:  # noqa: BLE001 - the Ray worker died or the task failed
                        self._mark_dead(key, folder, f"its Ray worker failed ({type(error).__name__})")

    def _reap(self) -> None:
        """A dead worker: its job failed (clearly), a new worker takes its place."""
        for index, slot in enumerate(self._slots):
            if slot.process.is_alive():
                continue
            code = slot.process.exitcode
            if slot.key is not None:
                self._mark_dead(slot.key, slot.folder, f"its worker process died (exit code {code}: killed, or out of memory)")
            log.warning("worker %s died (exit code %s); starting a new one", slot.process.pid, code)
            self._slots[index] = self._new_slot()

    def _mark_dead(self, key: str, folder: Path | None, why: str) -> None:
        job = read_job(key, folder)
        if job is None or job.state in ("done", "cancelled", "failed"):
            return
        job.state, job.finished, job.updated = "failed", time.time(), time.time()
        job.message = f"The training of {job.description} stopped at epoch {job.epoch} of {job.epochs}: {why}. Nothing was cached; press Train to try again."
        write_job(job, folder)

    def _assign(self) -> None:
        handed_over = False
        while self._queue:
            job, folder = self._queue[0]
            cache_dir = str(folder.parent)
            if self.backend == "ray":
                if len(self._ray_tasks) >= self.workers * 4:
                    break
                self._queue.popleft()
                self._ray_tasks[job.key] = (self._ray_job.remote(asdict(job), cache_dir), folder)
                handed_over = True
                continue
            slot = next((s for s in self._slots if s.key is None and s.process.is_alive()), None)
            if slot is None:
                break
            self._queue.popleft()
            slot.key, slot.folder = job.key, folder
            slot.inbox.put((asdict(job), cache_dir))
            handed_over = True
        if handed_over:  # the jobs still waiting moved up: say so now, not at the next heartbeat
            self._republish_positions()

    def _touch_handed_over(self) -> None:
        """Heartbeat of jobs handed to a worker or to Ray that may not have started yet (a cold worker
        importing TensorFlow, a Ray task waiting for a CPU): the worker may be publishing the record
        any moment, so the runner never rewrites it; it touches `<key>.beat` beside it instead."""
        handed = [(slot.key, slot.folder) for slot in self._slots if slot.key is not None]
        handed += [(key, folder) for key, (_, folder) in self._ray_tasks.items()]
        for key, folder in handed:
            try:
                _record_path(key, ".beat", folder).touch()
            except OSError:
                pass

    def _republish_positions(self) -> None:
        """Queued records carry their position and a heartbeat (so a dead server's queue goes stale)."""
        for position, (job, folder) in enumerate(self._queue, start=1):
            job.position, job.updated = position, time.time()
            write_job(job, folder)


def _with_timeout(function: Callable[[], Any], seconds: float, linger: bool = False) -> Any:
    """Run `function` in a thread; raise TimeoutError when it takes longer (e.g. ray.init to a dead head).

    With `linger` the thread stays alive (blocked, daemon) after `function` returns: a local
    `ray.init` starts its head processes (GCS, raylet) with PR_SET_PDEATHSIG, which fires when the
    *thread* that started them ends. Without it they are killed at once and, 60 s later, Ray's core
    aborts this whole process ("Failed to connect to GCS within 60 seconds").
    """
    result: dict[str, Any] = {}
    returned = threading.Event()

    def target() -> None:
        try:
            result["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            result["error"] = error
        returned.set()
        if linger:
            threading.Event().wait()

    thread = threading.Thread(target=target, name="neural-lab-ray-init" if linger else None, daemon=True)
    thread.start()
    if not returned.wait(seconds):
        raise TimeoutError(f"no answer within {seconds:.0f} s")
    if "error" in result:
        raise result["error"]
    return result.get("value")


# -- one runner per process -------------------------------------------------------------------

_RUNNER: JobRunner | None = None
_RUNNER_LOCK = threading.Lock()


def runner() -> JobRunner:
    """The process's job runner, started (and its workers warmed) on first use."""
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            import atexit

            _RUNNER = JobRunner()
            atexit.register(_RUNNER.shutdown)  # else the dispatcher "replaces" workers killed at exit
        return _RUNNER


def submit(config: RunConfig, session: str | None = None) -> Job:
    return runner().submit(config, session)


def submit_range_test(config: RunConfig, session: str | None = None, settings=None) -> Job:
    return runner().submit_range_test(config, session, settings)


def cancel(key: str) -> Job | None:
    return runner().cancel(key)


def wait(key: str, timeout: float = 600.0, poll: float = 0.2) -> Job | None:
    """Block until the job of `key` has ended (tests, CLI); returns its final record."""
    deadline = time.monotonic() + timeout
    job = read_job(key)
    while job is not None and job.active and time.monotonic() < deadline:
        time.sleep(poll)
        job = read_job(key)
    return job
