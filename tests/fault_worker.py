"""Multi-process drills for tests/test_faults.py and tests/test_concurrency.py (run as a script).

Importing TensorFlow costs 5-15 s on the 2-core machines, so this script imports `core` once and
then `os.fork()`s a fresh child per process under test. The parent never runs a TensorFlow op
(it only imports the modules and reads numpy data), which keeps forking safe; every child is a
real, separate process with its own file locks, killed with a real SIGKILL.

    python tests/fault_worker.py kill --trials 20 --seed 7 --out results.json
    python tests/fault_worker.py concurrency --out results.json

The cache folder is `$NEURAL_LAB_CACHE_DIR` (the tests point it at a temporary folder).
Each drill writes one JSON document of observed facts; the tests make the assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import time
from pathlib import Path

from core import cache  # imports keras/TensorFlow once, in the parent
from core.config import RunConfig
from core.data import load_mnist

SAVE_STEP_SECONDS = 0.04  # widen the save so that random kills land inside it
FSYNC_PAUSE_SECONDS = 0.5  # the complete-but-not-renamed moment, held long enough to be hit


def tiny(seed: int, units: int = 8) -> RunConfig:
    return RunConfig(arch="mlp", layers=1, units=units, epochs=1, batch_size=512, seed=seed)


# -- children ---------------------------------------------------------------------------------


def fork_child(body, *args) -> tuple[int, int]:
    """Fork a child running body(write_fd, *args); returns (pid, read_fd) of a pipe of text lines."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        code = 0
        try:
            body(write_fd, *args)
        except BaseException as error:  # noqa: BLE001 - report, never fall back into the parent's loop
            _send(write_fd, {"event": "error", "error": f"{type(error).__name__}: {error}"})
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _send(fd: int, message: dict) -> None:
    os.write(fd, (json.dumps(message) + "\n").encode())


class Lines:
    """Reads a child's JSON lines as they come (non-blocking, with a deadline)."""

    def __init__(self, fd: int):
        self.fd, self.buffer, self.messages, self.closed = fd, b"", [], False
        os.set_blocking(fd, False)

    def poll(self) -> list[dict]:
        while not self.closed:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                self.closed = True
                os.close(self.fd)
                break
            self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        fresh = [json.loads(line) for line in complete if line.strip()]
        self.messages += fresh
        return fresh

    def wait_for(self, event: str, timeout: float, **fields) -> dict | None:
        """The first message of this event (with these field values), waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            for message in self.messages:
                if message.get("event") == event and all(message.get(k) == v for k, v in fields.items()):
                    return message
            if self.closed:
                return None
            time.sleep(0.005)
        return None

    def drain(self, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.01)
        return self.messages


def inspect_then_victim(fd: int, previous: dict | None, config_dict: dict | None) -> None:
    """One child per trial: first check what the previous kill left (as a reader would, then ask for the
    previous combination again), then train `config_dict` until the parent's SIGKILL arrives.

    Doing both in one child halves the TensorFlow start-ups per trial.
    """
    if previous is not None:
        _send(fd, inspect(previous))
    if config_dict is not None:
        victim(fd, config_dict)


def inspect(config_dict: dict) -> dict:
    """The cache as a reader sees it, then a request for config (it must train or load, and succeed)."""
    root = cache.cache_root()

    def entry_folders() -> set[str]:
        return {p.name for p in root.iterdir() if p.is_dir() and cache.KEY_PATTERN.match(p.name)}

    before = entry_folders()
    listed = {run.key for run in cache.list_runs()}
    after = entry_folders()  # another lane may add entries meanwhile, never remove any
    incomplete = sorted(key for key in before if any(not (root / key / name).is_file() for name in cache.ENTRY_FILES))
    unloadable = []
    for key in sorted(before):
        notes: list[str] = []
        if cache.load(key, notes) is None or notes:
            unloadable.append(key)
    config = RunConfig.from_dict(config_dict)
    report = {
        "event": "inspected", "key": config.key(), "folders": len(before), "incomplete": incomplete, "unloadable": unloadable,
        "listing_consistent": before <= listed <= after, "temps": len(list(root.glob(".tmp-*"))),
        "lock_free": not cache.is_training_elsewhere(config),
    }
    run = cache.get_or_train(config)
    report.update(next_cached=run.cached, next_accuracy=run.meta.get("test_accuracy"), next_notes=run.notes)
    report["next_loads_again"] = cache.load(config) is not None
    return report


def victim(fd: int, config_dict: dict) -> None:
    """Train and save one config, announcing each phase; the save is slowed step by step."""
    original_dump, original_fsync, original_clean = cache._dump_json, cache._fsync_tree, cache._clean_stale_temps
    original_replace = os.replace

    def dump(data, path):
        time.sleep(SAVE_STEP_SECONDS)
        original_dump(data, path)
        _send(fd, {"event": "wrote", "file": Path(path).name})

    def fsync(folder):
        time.sleep(FSYNC_PAUSE_SECONDS)
        original_fsync(folder)

    def clean(root):
        _send(fd, {"event": "save"})
        original_clean(root)

    def replace(src, dst):
        original_replace(src, dst)
        _send(fd, {"event": "replaced", "dst": Path(dst).name})

    cache._dump_json, cache._fsync_tree, cache._clean_stale_temps = dump, fsync, clean
    os.replace = replace

    def listener(event):
        if event.kind == "start":
            _send(fd, {"event": "start"})

    _send(fd, {"event": "victim"})
    run = cache.get_or_train(RunConfig.from_dict(config_dict), listener)
    _send(fd, {"event": "done", "cached": run.cached, "key": run.key})


# -- drills -----------------------------------------------------------------------------------


def kill_drill(trials: int, seed: int, lane: int = 0) -> dict:
    """`trials` rounds: a child trains a new config and is SIGKILLed at a random moment; the next child
    first inspects what that left. Several lanes (processes running this drill) may share one cache."""
    rng = random.Random(seed * 10 + lane)
    moments = ("training", "saving", "any")
    # Kills inside the save start from a marker that moves through it: the model file, then each JSON file
    # (after meta.json the temp folder is a complete entry that is not yet renamed into place).
    save_anchors = (("save", {}), ("wrote", {"file": "history.json"}), ("wrote", {"file": "config.json"}), ("wrote", {"file": "meta.json"}))
    saves = lane
    results = []
    previous = None
    for trial in range(trials + 1):
        config = tiny(seed=1000 + 100 * lane + trial) if trial < trials else None
        pid, fd = fork_child(inspect_then_victim, previous, config.to_dict() if config else None)
        lines = Lines(fd)
        if previous is not None:
            inspection = lines.wait_for("inspected", 600)
            if inspection is None:
                lines.drain(5)
                inspection = {"error": next((m["error"] for m in lines.messages if m.get("event") == "error"), "no inspection report")}
            results[-1].update({k: v for k, v in inspection.items() if k not in ("event", "key")})
        if config is None:
            os.waitpid(pid, 0)
            break
        moment = moments[(trial + lane) % len(moments)]
        lines.wait_for("victim", 600)
        started = time.monotonic()
        if moment == "training":
            lines.wait_for("start", 600)
            time.sleep(rng.uniform(0.0, 0.6))
        elif moment == "saving":
            event, fields = save_anchors[saves % len(save_anchors)]
            saves += 1
            lines.wait_for(event, 600, **fields)
            time.sleep(rng.uniform(0.0, 1.5 * SAVE_STEP_SECONDS))
        else:
            time.sleep(rng.uniform(0.0, 4.0))
        lines.poll()
        seen = [m["event"] if m["event"] != "wrote" else f"wrote {m['file']}" for m in lines.messages if m["event"] not in ("inspected", "victim")]
        killed_after = None
        try:
            os.kill(pid, signal.SIGKILL)
            killed_after = round(time.monotonic() - started, 3)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        lines.drain(2)
        results.append({
            "lane": lane, "trial": trial, "moment": moment, "key": config.key(), "killed_after": killed_after,
            "killed_by_signal": os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
            "finished_before_kill": "done" in seen, "phases_seen": seen,
        })
        previous = config.to_dict()
    return {"seed": seed, "lane": lane, "trials": results}


def racer(fd: int, config_dict: dict, start_at: float) -> None:
    """Wait for a common start time, then ask for the config like a user would."""
    waited = []
    time.sleep(max(0.0, start_at - time.time()))
    run = cache.get_or_train(RunConfig.from_dict(config_dict), lambda event: waited.append(event.kind == "waiting"))
    _send(fd, {"event": "done", "pid": os.getpid(), "key": run.key, "cached": run.cached, "created": run.meta.get("created"),
               "waited": any(waited), "accuracy": run.meta.get("test_accuracy")})


def lister(fd: int, until_file: str) -> None:
    """List runs (and read each listed entry's files) in a loop while writers write."""
    root = cache.cache_root()
    listings, partial = 0, []
    while not os.path.exists(until_file):
        for key in [run.key for run in cache.list_runs()]:
            missing = [name for name in cache.ENTRY_FILES if not (root / key / name).is_file()]
            if missing:
                partial.append({"key": key, "missing": missing})
        listings += 1
        time.sleep(0.01)
    _send(fd, {"event": "done", "listings": listings, "partial": partial, "final": sorted(run.key for run in cache.list_runs())})


def race(configs: list[RunConfig], with_lister: bool = False) -> dict:
    start_at = time.time() + 1.0
    children = [fork_child(racer, c.to_dict(), start_at) for c in configs]
    until = Path(cache.cache_root()) / f".lister-stop-{os.getpid()}"
    lister_child = fork_child(lister, str(until)) if with_lister else None
    outcomes = []
    for pid, fd in children:
        outcomes.append(Lines(fd).wait_for("done", 600) or {"error": "no report"})
        os.waitpid(pid, 0)
    result = {"processes": outcomes, "distinct_pids": len({o.get("pid") for o in outcomes})}
    if lister_child is not None:
        until.touch()
        pid, fd = lister_child
        result["lister"] = Lines(fd).wait_for("done", 120) or {"error": "no report"}
        os.waitpid(pid, 0)
        until.unlink()
    return result


def concurrency_drill() -> dict:
    return {
        "same_2": race([tiny(seed=2000)] * 2),
        "same_4": race([tiny(seed=2001)] * 4),
        "different_4": race([tiny(seed=3000 + i, units=4 + i) for i in range(4)], with_lister=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("drill", choices=("kill", "concurrency"))
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--lane", type=int, default=0, help="kill drill: which of several parallel lanes this is")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    load_mnist("embedded")  # numpy only: children inherit the decoded data
    started = time.monotonic()
    result = kill_drill(args.trials, args.seed, args.lane) if args.drill == "kill" else concurrency_drill()
    result["seconds"] = round(time.monotonic() - started, 1)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
