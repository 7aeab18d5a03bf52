"""Background trainings (core/jobs.py + dashboard/training_ui.py) measured end to end; prints markdown.

Every number is a ratio inside one run, the variants alternated (A B C, B C A, ...), because the
2-core machine is shared and noisy. CPU seconds come from /proc (utime + stime).

1. throughput: a job trained in a real server's worker while a Chromium tab watches it on the Train
   page (its st.fragment polls every 0.5 s and redraws the progress bar and both curves) ÷ a bare
   `model.fit` in this plain process, same model, data and seed: the fit seconds the job records
   (`train_seconds`) vs the bare fit's. Also the same job with no tab watching (pressed, then the
   tab leaves), which splits the worker's cost from the watching's. CPU seconds of the server
   process, the worker and Chromium during each job. MLP 128-64 and a small CNN. Goal >= 0.97.
2. pages: with 2 long CNN jobs training in the server's 2 workers (NEURAL_LAB_JOB_WORKERS=2), the
   median time to open a cached Train page (both curves drawn) and the Misclassified-digits page
   (confusion matrix drawn) ÷ the same on the idle server. Goal <= 1.5x. An experiment beside it:
   the same with the workers' threads reniced to 19 from outside (what `os.nice` in the worker would do).
3. memory (measured during 2.): RSS of the streamlit process alone (VmRSS, not its workers), idle
   vs with 2 jobs training, and each worker's RSS.
4. cold: a freshly started server, its Train page opened (the first visit starts the workers, which
   import TensorFlow), Train pressed at once -> the job's progress text shows an epoch, and -> the
   first curve point; the same on the then warm server. When the job started tells when the worker
   was warm. Plus `JobRunner(...).warm()` timed in a plain `python -c` process (1 and 2 workers).

    nice -n 10 .venv/bin/python -m bench.jobs --parts throughput     # ~6-12 min on 2 cores (--pairs 4)
    nice -n 10 .venv/bin/python -m bench.jobs --parts pages          # ~8 min (--tries 5; includes memory)
    nice -n 10 .venv/bin/python -m bench.jobs --parts cold           # ~4 min (--cold-tries 3)
    nice -n 10 .venv/bin/python -m bench.jobs                        # all three, ~20 min

Offline (embedded data), a temporary cache folder per server under /tmp (never cached_models/);
servers start through tests.helpers.AppServer; Debian's Chromium through Playwright. Progress goes
to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from bench.common import offline_environment, rss_bytes
from core import jobs
from core.config import RunConfig
from dashboard.state import full_params
from tests import helpers

REPO = Path(__file__).resolve().parent.parent

offline_environment()

TICK = os.sysconf("SC_CLK_TCK")
MIB = 1024**2
THROUGHPUT_MLP = RunConfig(arch="mlp", layers=2, units=(128, 64), epochs=15, batch_size=32)
THROUGHPUT_CNN = RunConfig(arch="cnn", layers=2, units=(16, 32), epochs=5, batch_size=32)
CACHED = RunConfig(arch="cnn", layers=2, units=(16, 32), epochs=3, batch_size=128)  # opened in part 2
LONG_CNN = RunConfig(arch="cnn", layers=2, units=(32, 64), batch_size=32, epochs=200)  # the background load of part 2

TRAIN_BUTTON = "[data-testid=stSidebar]"
# Both curves (loss, accuracy) of one run have >= n points. The charts are found by their Streamlit keys
# (class st-key-<key>): the Train page also draws the compare section's curves of other cached runs.
CURVES_JS = """([selectors, n]) => selectors.every(selector => {
  const chart = document.querySelector(selector + ' .js-plotly-plot');
  const trace = chart && chart.querySelector('.scatterlayer .trace');
  return !!trace && trace.querySelectorAll('path.point').length >= n;
})"""


def final_curves(points: int) -> list:
    """CURVES_JS's argument for a cached run's curves (dashboard/app_pages/training.py keys them final-<metric>)."""
    return [[".st-key-final-loss", ".st-key-final-accuracy"], points]


def job_curves(key: str, points: int) -> list:
    """CURVES_JS's argument for a job's live curves (dashboard/training_ui.draw_curves keys them job-<metric>-<key>)."""
    return [[f".st-key-job-loss-{key}", f".st-key-job-accuracy-{key}"], points]
CONFUSION_JS = """() => {
  const plot = document.querySelector('.st-key-explorer_confusion .js-plotly-plot');
  return !!plot && !!plot.data && plot.data.some(t => t.type === 'heatmap') && !!plot.querySelector('.heatmaplayer .hm');
}"""
EPOCH_TEXT_JS = r"""() => {
  const main = document.querySelector('[data-testid=stMain]');
  return !!main && /\bepoch [1-9][0-9]*\//.test(main.innerText);
}"""


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def listing(values, digits: int = 2) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


# -- /proc: CPU seconds and RSS of the server, its workers and Chromium -----------------------


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (after the command name), or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def parent_table() -> dict[int, int]:
    """pid -> parent pid of every process (a child started by any thread of a process counts)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            table[int(entry.name)] = int(fields[1])
    return table


def descendants(pid: int, table: dict[int, int] | None = None) -> list[int]:
    table = table if table is not None else parent_table()
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in table.items() if parent == current]
        found += children
        frontier += children
    return found


def cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """utime + stime of a process (+ its children that ended and were reaped, with reaped_children)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# -- a server with its own cache --------------------------------------------------------------


class Server:
    """tests.helpers.AppServer on its own temporary cache, with `workers` job workers."""

    def __init__(self, workers: int, label: str):
        self.workers = workers
        self.cache = Path(tempfile.mkdtemp(prefix=f"neural-lab-bench-jobs-{label}-"))
        self.app: helpers.AppServer | None = None
        self.start_seconds = float("nan")

    def use_cache(self) -> None:
        """Point this process at the server's cache (core.jobs.read_job, request_cancel, cache.*)."""
        os.environ["NEURAL_LAB_CACHE_DIR"] = str(self.cache)

    def start(self) -> Server:
        # Set in os.environ (AppServer copies it), whether or not AppServer takes an env= argument.
        previous = os.environ.get("NEURAL_LAB_JOB_WORKERS")
        os.environ["NEURAL_LAB_JOB_WORKERS"] = str(self.workers)
        started = time.perf_counter()
        try:
            self.app = helpers.AppServer(self.cache).start()
        finally:
            if previous is None:
                os.environ.pop("NEURAL_LAB_JOB_WORKERS", None)
            else:
                os.environ["NEURAL_LAB_JOB_WORKERS"] = previous
        self.start_seconds = time.perf_counter() - started
        self.use_cache()
        return self

    @property
    def url(self) -> str:
        return self.app.url

    @property
    def pid(self) -> int:
        return self.app.process.pid

    def worker_pids(self) -> list[int]:
        """The job workers (spawned children of the streamlit process; not multiprocessing's resource tracker)."""
        pids = []
        for child in descendants(self.pid):
            line = command_line(child)
            if "spawn_main" in line and "resource_tracker" not in line:
                pids.append(child)
        return sorted(pids)

    def tracebacks(self) -> str:
        """'N' tracebacks in the server log, saying how many are Starlette's of a tab that left mid-connection."""
        try:
            text = self.app.log.read_text(errors="replace")
        except OSError:
            return "log unreadable"
        total, websocket = text.count("Traceback"), text.count("Exception in ASGI application")
        if not websocket:
            return str(total)
        return f"{total} (of which {websocket} 'Exception in ASGI application' (2 chained tracebacks each): Starlette's WebSocketDisconnected when a tab leaves mid-connection, not the app's code)"

    def stop(self) -> None:
        """Cancel what still trains, stop the server, make sure its workers left, remove the cache."""
        self.use_cache()
        for job in jobs.list_jobs(active_only=True):
            jobs.request_cancel(job.key)
        children = descendants(self.pid) if self.app and self.app.process else []
        if self.app is not None:
            self.app.stop()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_stat(pid) is not None and _stat(pid)[0] != "Z" for pid in children):
            time.sleep(0.2)
        for pid in children:  # only processes this server started, by pid
            if _stat(pid) is not None and _stat(pid)[0] != "Z":
                say(f"worker {pid} of the stopped server is still alive: killing it")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.cache, ignore_errors=True)


def usage(server: Server) -> dict[str, float]:
    """A snapshot of wall time and CPU seconds: server process, its workers, this process, the browser."""
    table = parent_table()
    server_tree = {server.pid, *descendants(server.pid, table)}
    browser = [pid for pid in descendants(os.getpid(), table) if pid not in server_tree]
    return {
        "wall": time.perf_counter(),
        "server": cpu_seconds(server.pid),
        "workers": sum(cpu_seconds(pid) for pid in server.worker_pids()),
        # Chromium's renderers come and go: a parent's reaped-children time keeps the ones that ended.
        "browser": sum(cpu_seconds(pid, reaped_children=True) for pid in browser),
    }


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def query(config: RunConfig) -> str:
    return urllib.parse.urlencode(full_params(config))


# -- pressing Train on a page -----------------------------------------------------------------


def open_untrained(page, server: Server, config: RunConfig) -> None:
    page.goto(f"{server.url}/train?{query(config)}")
    helpers.wait_for_app(page, timeout=180_000)
    page.get_by_text("has not been trained yet").wait_for(timeout=180_000)


def press_train(page, config: RunConfig, timeout: float = 60) -> float:
    """Click Train / load; returns time.time() of the click once the job's record exists."""
    pressed = time.time()
    page.locator(TRAIN_BUTTON).get_by_role("button", name="Train / load").click()
    deadline = time.monotonic() + timeout
    while jobs.read_job(config.key()) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"pressing Train queued no job for {config.key()} ({config.describe()}): did the form change the config?")
        time.sleep(0.05)
    return pressed


def job_run(page, server: Server, config: RunConfig, watched: bool) -> dict:
    """Press Train on `config`; `watched`: the tab stays on the page until the result is drawn, else it leaves."""
    open_untrained(page, server, config)
    before = usage(server)
    pressed = press_train(page, config)
    if not watched:
        page.goto("about:blank")
    # The polling window: from the record's epoch 2 (the press's page run is long over) to the last epoch
    # seen while the job is active (before the final page run, which loads the model): watching alone.
    window_start = window_end = None
    deadline = time.monotonic() + 900
    while (job := jobs.read_job(config.key())) is not None and job.active and time.monotonic() < deadline:
        if job.epoch >= 2:
            window_end = usage(server)
            window_start = window_start or window_end
        time.sleep(0.2)
    if job is None or job.state != "done" or job.cached:
        raise RuntimeError(f"job {config.key()} ended as {job and job.state}: {job and job.message}")
    if watched:
        page.get_by_text("in the background and cached").wait_for(timeout=120_000)
    cost = spent(before, usage(server))
    window = spent(window_start, window_end) if window_start and window_end and window_end["wall"] - window_start["wall"] > 1 else None
    return {
        "poll_server": window["server"] / window["wall"] if window else float("nan"),
        "poll_browser": window["browser"] / window["wall"] if window else float("nan"),
        "fit": float(job.train_seconds), "press_to_done": job.finished - pressed, "queued": job.started - job.submitted,
        "job_wall": job.finished - job.started, **{f"cpu_{name}": value for name, value in cost.items() if name != "wall"},
        "wall": cost["wall"],
    }


def bare_fit(config: RunConfig) -> dict:
    """model.fit in this process: same builder, data, seed, batch size and epochs as the job's train()."""
    from core.data import load_mnist
    from core.models import build_model, compile_model
    from core.training import targets

    splits = load_mnist("embedded")
    model = build_model(config, splits.x_train)
    compile_model(model, config, math.ceil(len(splits.y_train) / config.batch_size))
    cpu, started = time.process_time(), time.perf_counter()
    model.fit(
        splits.x_train, targets(config, splits.y_train), validation_data=(splits.x_val, targets(config, splits.y_val)),
        batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0,
    )
    return {"fit": time.perf_counter() - started, "cpu": time.process_time() - cpu}


# -- 1. throughput ----------------------------------------------------------------------------


def throughput(browser, name: str, config: RunConfig, pairs: int, unwatched: bool, seed_base: int) -> dict:
    server = Server(workers=1, label="throughput").start()
    say(f"throughput {name}: server up in {server.start_seconds:.1f} s")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(180_000)
    results: dict[str, list[dict]] = {"bare": [], "watched": [], "unwatched": []}
    try:
        # Warm-up (not counted): TensorFlow in this process, the server's imports and page, the worker's first job.
        bare_fit(config.replace(seed=seed_base - 1))
        job_run(page, server, config.replace(seed=seed_base - 2), watched=True)
        variants = ["bare", "watched", "unwatched"] if unwatched else ["bare", "watched"]
        for index in range(pairs):
            seed = seed_base + index
            order = variants[index % len(variants):] + variants[: index % len(variants)]
            for variant in order:
                if variant == "bare":
                    results["bare"].append(bare_fit(config.replace(seed=seed)))
                elif variant == "watched":
                    results["watched"].append(job_run(page, server, config.replace(seed=seed), watched=True))
                else:
                    results["unwatched"].append(job_run(page, server, config.replace(seed=seed + 500), watched=False))
                last = results[variant][-1]
                say(f"  {name} round {index + 1}/{pairs} {variant}: fit {last['fit']:.2f} s")
        page.screenshot(path=str(helpers.OUTPUT_DIR / "bench-jobs-watched.png"), full_page=True)
        results["tracebacks"] = server.tracebacks()
    finally:
        context.close()
        server.stop()
    return results


def report_throughput(name: str, config: RunConfig, result: dict) -> list[str]:
    bare, watched, unwatched = result["bare"], result["watched"], result["unwatched"]
    lines = [f"### {name}: {config.replace(seed=0).describe()} ({len(bare)} alternating rounds)\n"]
    lines.append("| variant | median fit s | fits (s) | throughput ratio (bare ÷ variant) | CPU s: fit process | server | Chromium | press -> done s |")
    lines.append("|---|---|---|---|---|---|---|---|")
    bare_median = median(r["fit"] for r in bare)
    lines.append(f"| bare `model.fit` (this process) | {bare_median:.2f} | {listing(r['fit'] for r in bare)} | 1 | {median(r['cpu'] for r in bare):.2f} | - | - | - |")
    for label, rows in (("job in a worker, a tab watching the Train page", watched), ("job in a worker, no tab open", unwatched)):
        if not rows:
            continue
        fit = median(r["fit"] for r in rows)
        lines.append(
            f"| {label} | {fit:.2f} | {listing(r['fit'] for r in rows)} | **{bare_median / fit:.3f}** | "
            f"{median(r['cpu_workers'] for r in rows):.2f} (worker, whole job) | {median(r['cpu_server'] for r in rows):.2f} | "
            f"{median(r['cpu_browser'] for r in rows):.2f} | {median(r['press_to_done'] for r in rows):.2f} |"
        )
    if watched and unwatched:
        extra = median(r["cpu_server"] for r in watched) - median(r["cpu_server"] for r in unwatched)
        polling = median(r["poll_server"] for r in watched)
        lines.append(
            f"\nWatching costs the server process {extra:.2f} CPU s more per job than not watching (press -> result drawn, "
            "which includes the page's final run that loads the model). Between epoch 2 and the job's end (polling alone), "
            f"the server process used {polling:.1%} of one core while a tab watched ({median(r['poll_server'] for r in unwatched):.1%} "
            f"with no tab): about {polling * 500:.0f} ms of CPU per 0.5 s poll of the fragment; Chromium "
            f"{median(r['poll_browser'] for r in watched):.1%} of a core meanwhile."
        )
    if watched:
        per_second = median(r["cpu_server"] / r["wall"] for r in watched)
        browser = median(r["cpu_browser"] / r["wall"] for r in watched)
        pairs = [b["fit"] / w["fit"] for b, w in zip(bare, watched, strict=False)]
        lines.append(
            f"\nWhile watching: the server process used {per_second:.1%} of one core and Chromium {browser:.1%} "
            f"(median over the press -> result windows). Per-round ratios bare ÷ watched: {listing(pairs, 3)}."
        )
    return lines


# -- 2 + 3. pages while 2 jobs train; RSS -----------------------------------------------------


class RssSampler(threading.Thread):
    """Peak RSS of the streamlit process alone and of its workers together."""

    def __init__(self, server: Server, every: float = 0.25):
        super().__init__(daemon=True)
        self.server, self.every = server, every
        self.peak_server = self.peak_workers = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak_server = max(self.peak_server, rss_bytes(self.server.pid))
            self.peak_workers = max(self.peak_workers, sum(rss_bytes(pid) for pid in self.server.worker_pids()))
            self.stopped.wait(self.every)


def open_train(page, server: Server, config: RunConfig) -> dict:
    before = usage(server)
    page.goto(f"{server.url}/train?{query(config)}")
    page.wait_for_function(CURVES_JS, arg=final_curves(config.epochs), polling=20, timeout=180_000)
    drawn = time.perf_counter() - before["wall"]
    helpers.wait_for_app(page, timeout=180_000)
    cost = spent(before, usage(server))
    return {"drawn": drawn, "idle": cost["wall"], "cpu_server": cost["server"]}


def open_explorer(page, server: Server, config: RunConfig) -> dict:
    before = usage(server)
    page.goto(f"{server.url}/explorer?{query(config)}")
    page.wait_for_function(CONFUSION_JS, polling=20, timeout=180_000)
    drawn = time.perf_counter() - before["wall"]
    helpers.wait_for_app(page, timeout=180_000)
    cost = spent(before, usage(server))
    return {"drawn": drawn, "idle": cost["wall"], "cpu_server": cost["server"]}


def start_background_jobs(page, server: Server, configs: list[RunConfig]) -> None:
    """Press Train on each config from another tab, leave, and wait until all of them train (past epoch 0's set-up)."""
    for config in configs:
        open_untrained(page, server, config)
        press_train(page, config)
    page.goto("about:blank")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        records = [jobs.read_job(c.key()) for c in configs]
        if all(r is not None and r.state == "running" and (r.batch or r.epoch) for r in records):
            return
        if any(r is not None and not r.active for r in records):
            raise RuntimeError(f"a background job ended early: {[(r.state, r.message) for r in records if r]}")
        time.sleep(0.2)
    raise RuntimeError("the background jobs did not start training within 180 s")


def stop_background_jobs(configs: list[RunConfig]) -> None:
    for config in configs:
        jobs.request_cancel(config.key())
    for config in configs:
        job = jobs.wait(config.key(), timeout=120)
        if job is not None and job.active:
            raise RuntimeError(f"job {config.key()} did not stop within 120 s")


def nice_of(task: Path) -> int | None:
    fields = _stat_path(task / "stat")
    return int(fields[16]) if fields else None


def _stat_path(path: Path) -> list[str] | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def renice_workers(server: Server, value: int | None) -> dict[int, int]:
    """Set every thread of every worker to niceness `value` (None: back to what they had); returns what they had.

    Linux nice is per thread and TensorFlow's pools exist already, so each /proc/<pid>/task/<tid> is set.
    This is what `os.nice(...)` at the top of core.jobs._worker_main would do for all its threads.
    """
    before = {}
    for pid in server.worker_pids():
        for task in Path(f"/proc/{pid}/task").glob("*"):
            current = nice_of(task)
            if current is None:
                continue
            before[int(task.name)] = current
            target = value if value is not None else renice_workers.saved.get(int(task.name), current)
            try:
                os.setpriority(os.PRIO_PROCESS, int(task.name), target)
            except OSError:
                pass
    if value is not None:
        renice_workers.saved = before
    return before


renice_workers.saved = {}


def pages_under_jobs(browser, tries: int, busy_epochs: int, niced_variant: bool) -> dict:
    server = Server(workers=2, label="pages")
    server.use_cache()
    from core import cache

    say("pages: pre-training the cached model")
    cache.get_or_train(CACHED)
    server.start()
    say(f"pages: server up in {server.start_seconds:.1f} s")
    sampler = RssSampler(server)
    sampler.start()
    measured = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = measured.new_page()
    page.set_default_timeout(180_000)
    submitter = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    submitter.set_default_timeout(180_000)
    phases = ["idle", "busy", "niced"] if niced_variant else ["idle", "busy"]
    rows: dict[str, list[dict]] = {f"{phase} {page_name}": [] for phase in phases for page_name in ("train", "explorer")}
    memory: dict[str, list] = {f"{phase} {what}": [] for phase in phases for what in ("server", "workers")}
    busy_progress = []
    try:
        open_train(page, server, CACHED)  # warm-up: model load, predictions, page assets
        open_explorer(page, server, CACHED)
        time.sleep(2)
        workers_at_idle = server.worker_pids()
        say(f"pages: workers {workers_at_idle}")
        for index in range(tries):
            for phase in phases[index % len(phases):] + phases[: index % len(phases)]:
                configs = []
                if phase != "idle":
                    seed = 9000 + 10 * index + (5 if phase == "niced" else 0)
                    configs = [LONG_CNN.replace(epochs=busy_epochs, seed=seed + k) for k in range(2)]
                    start_background_jobs(submitter, server, configs)
                    if phase == "niced":
                        renice_workers(server, 19)
                    say(f"  try {index + 1}: 2 jobs training{' (workers reniced to 19)' if phase == 'niced' else ''}")
                first, second = (open_train, open_explorer) if index % 2 == 0 else (open_explorer, open_train)
                for opener in (first, second):
                    name = "train" if opener is open_train else "explorer"
                    rows[f"{phase} {name}"].append(opener(page, server, CACHED))
                memory[f"{phase} server"].append(rss_bytes(server.pid))
                memory[f"{phase} workers"].append([rss_bytes(pid) for pid in server.worker_pids()])
                if phase != "idle":
                    records = [jobs.read_job(c.key()) for c in configs]
                    busy_progress.append((phase, [r.epoch for r in records]))
                    if not all(r.state == "running" for r in records):
                        say(f"  warning: a background job was not running any more: {[(r.state, r.message) for r in records]}")
                    stop_background_jobs(configs)
                    if phase == "niced":
                        renice_workers(server, None)
                    time.sleep(1)  # the workers go back to waiting
                say(f"  try {index + 1} {phase}: train {rows[f'{phase} train'][-1]['drawn']:.2f} s, explorer {rows[f'{phase} explorer'][-1]['drawn']:.2f} s")
        page.screenshot(path=str(helpers.OUTPUT_DIR / "bench-jobs-explorer.png"), full_page=True)
        tracebacks = server.tracebacks()
    finally:
        sampler.stopped.set()
        sampler.join()
        measured.close()
        submitter.context.close()
        server.stop()
    return {"rows": rows, "memory": memory, "peak_server": sampler.peak_server, "peak_workers": sampler.peak_workers,
            "busy_progress": busy_progress, "tracebacks": tracebacks}


def report_pages(result: dict, busy_epochs: int) -> list[str]:
    rows, memory = result["rows"], result["memory"]
    lines = [f"### Pages while 2 jobs train ({LONG_CNN.replace(epochs=busy_epochs).describe()}, 2 workers) vs idle\n"]
    labels = {"idle": "idle server", "busy": "**2 jobs training**", "niced": "2 jobs training, workers reniced to 19 (experiment)"}
    lines.append("| page | server | median s to drawn | ratio to idle | all (s) | median s to script end | server CPU s per open (median) |")
    lines.append("|---|---|---|---|---|---|---|")
    for name, label in (("train", "Train, cached run (both curves drawn)"), ("explorer", "Misclassified digits (confusion matrix drawn)")):
        idle_median = median(r["drawn"] for r in rows[f"idle {name}"])
        for phase, phase_label in labels.items():
            if f"{phase} {name}" not in rows:
                continue
            values = rows[f"{phase} {name}"]
            drawn = median(r["drawn"] for r in values)
            ratio = f"**{drawn / idle_median:.2f}x**" if phase != "idle" else "1"
            lines.append(
                f"| {label} | {phase_label} | {drawn:.2f} | {ratio} | {listing(r['drawn'] for r in values)} | "
                f"{median(r['idle'] for r in values):.2f} | {median(r['cpu_server'] for r in values):.2f} |"
            )
    lines.append(f"\nEpochs the background jobs had reached when each busy measurement ended: {result['busy_progress']}. "
                 f"Tracebacks in the server log: {result['tracebacks']}.\n")
    lines.append("### Memory (VmRSS)\n")
    lines.append("| process | idle median MiB | with 2 jobs training median MiB | peak MiB |")
    lines.append("|---|---|---|---|")
    busy_server = memory["busy server"] + memory.get("niced server", [])
    busy_workers = memory["busy workers"] + memory.get("niced workers", [])
    lines.append(f"| streamlit server process alone | {median(memory['idle server']) / MIB:.0f} | {median(busy_server) / MIB:.0f} | {result['peak_server'] / MIB:.0f} |")
    for index in range(max(len(w) for w in memory["idle workers"] + busy_workers)):
        idle = median(w[index] for w in memory["idle workers"] if len(w) > index)
        busy = median(w[index] for w in busy_workers if len(w) > index)
        lines.append(f"| worker {index + 1} | {idle / MIB:.0f} | {busy / MIB:.0f} | |")
    lines.append(f"| workers together | | | {result['peak_workers'] / MIB:.0f} |")
    return lines


# -- 4. cold start ----------------------------------------------------------------------------


def first_epoch_shown(page, server: Server, config: RunConfig, open_page: bool = True) -> dict:
    if open_page:
        open_untrained(page, server, config)
    pressed = press_train(page, config)
    # One loop watches both sides every 50 ms: the record (what the worker published) and the page (what the user sees).
    marks: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while len(marks) < 3:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no epoch shown within 300 s of pressing Train (seen: {marks})")
        if "record" not in marks and (job := jobs.read_job(config.key())) is not None and job.epoch >= 1:
            marks["record"] = time.time() - pressed
        if "text" not in marks and page.evaluate(EPOCH_TEXT_JS):
            marks["text"] = time.time() - pressed
        if "point" not in marks and page.evaluate(CURVES_JS, job_curves(config.key(), 1)):
            marks["point"] = time.time() - pressed
        time.sleep(0.05)
    job = jobs.read_job(config.key())
    jobs.request_cancel(config.key())
    jobs.wait(config.key(), timeout=120)
    return {
        **marks, "pressed": pressed, "submitted": job.submitted - pressed, "queued": (job.started or pressed) - job.submitted,
        "started": job.started,
    }


def cold_start(browser, tries: int, config: RunConfig) -> list[dict]:
    results = []
    for index in range(tries):
        launched = time.time()
        server = Server(workers=jobs.default_workers(), label="cold").start()
        healthy = time.time() - launched
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(300_000)
        try:
            visited = time.time()
            page.goto(f"{server.url}/train?{query(config.replace(seed=8000 + index))}")
            helpers.wait_for_app(page, timeout=180_000)
            page.get_by_text("has not been trained yet").wait_for(timeout=180_000)
            page_seconds = time.time() - visited
            workers = server.worker_pids()
            cold = first_epoch_shown(page, server, config.replace(seed=8000 + index), open_page=False)  # press at once
            warm = first_epoch_shown(page, server, config.replace(seed=8500 + index))
            results.append({
                "healthy": healthy, "page": page_seconds, "workers_seen": len(workers), "cold": cold, "warm": warm,
                # The job waited in the queue for the warming worker: its start is when that worker was ready (+ <= 0.2 s dispatch).
                "warm_after_visit": cold["started"] - visited, "warm_after_launch": cold["started"] - launched,
            })
            say(f"cold try {index + 1}: press -> epoch text {cold['text']:.2f} s (warm server {warm['text']:.2f} s)")
        finally:
            context.close()
            server.stop()
    return results


WARM_SNIPPET = """
import json, os, shutil, sys, tempfile, time
os.environ['NEURAL_LAB_CACHE_DIR'] = folder = tempfile.mkdtemp(prefix='neural-lab-bench-jobs-warm-')
from core import jobs
started = time.perf_counter()
runner = jobs.JobRunner(workers=int(sys.argv[1]))
ok = runner.warm(timeout=120)
seconds = time.perf_counter() - started
runner.shutdown()
shutil.rmtree(folder, ignore_errors=True)
print(json.dumps({'seconds': seconds, 'ok': ok}))
"""


def runner_warm_times(tries: int) -> dict[int, list[float]]:
    """JobRunner(workers=n).warm() in a fresh plain `python -c` process (no streamlit imported by the workers)."""
    import json

    times: dict[int, list[float]] = {1: [], 2: []}
    for index in range(tries):
        for workers in (1, 2) if index % 2 == 0 else (2, 1):
            output = subprocess.run([sys.executable, "-c", WARM_SNIPPET, str(workers)], cwd=REPO, capture_output=True, text=True, timeout=300, check=True)
            answer = json.loads(output.stdout.strip().splitlines()[-1])
            times[workers].append(answer["seconds"] if answer["ok"] else float("nan"))
    return times


def report_cold(results: list[dict], warm_times: dict[int, list[float]], config: RunConfig) -> list[str]:
    lines = [f"### Cold start: a new server, its first page, Train pressed at once ({config.replace(seed=0).describe()}, {jobs.default_workers()} worker(s))\n"]
    lines.append("| step | median s | all (s) |")
    lines.append("|---|---|---|")
    rows = [
        ("server start -> healthy (AppServer.start)", [r["healthy"] for r in results]),
        ("first visit -> Train page drawn (starts the workers)", [r["page"] for r in results]),
        ("first visit -> the worker was warm (its first job started)", [r["warm_after_visit"] for r in results]),
    ]
    for state in ("cold", "warm"):
        label = "cold (just started)" if state == "cold" else "warm (same server, next press)"
        rows += [
            (f"{label}: press -> job queued (the page's script run submitted it)", [r[state]["submitted"] for r in results]),
            (f"{label}: job queued -> started in a worker" + (" (waits for the warming worker)" if state == "cold" else ""), [r[state]["queued"] for r in results]),
            (f"{label}: press -> the job's record shows an epoch", [r[state]["record"] for r in results]),
            (f"**{label}: press -> the page's progress text shows an epoch**", [r[state]["text"] for r in results]),
            (f"{label}: press -> first curve point on the page (epoch 1 ended)", [r[state]["point"] for r in results]),
        ]
    for label, values in rows:
        lines.append(f"| {label} | {median(values):.2f} | {listing(values)} |")
    for workers, values in warm_times.items():
        if values:
            lines.append(f"| `JobRunner(workers={workers}).warm()` from the runner's start, plain process | {median(values):.2f} | {listing(values)} |")
    return lines


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--parts", default="throughput,pages,cold", help="comma-separated: throughput, pages (includes memory), cold")
    parser.add_argument("--pairs", type=int, default=4, help="alternating rounds per model in the throughput part")
    parser.add_argument("--epochs", type=int, default=THROUGHPUT_MLP.epochs, help="epochs of the MLP 128-64 (throughput, cold)")
    parser.add_argument("--cnn-epochs", type=int, default=THROUGHPUT_CNN.epochs, help="epochs of the small CNN (throughput; 0 skips it)")
    parser.add_argument("--no-unwatched", action="store_true", help="skip the 'job with no tab open' variant")
    parser.add_argument("--tries", type=int, default=5, help="idle/busy alternations in the pages part")
    parser.add_argument("--busy-epochs", type=int, default=LONG_CNN.epochs, help="epochs of the 2 background CNN jobs (cancelled after each try)")
    parser.add_argument("--no-nice-variant", action="store_true", help="pages part: skip the experiment with the workers reniced to 19")
    parser.add_argument("--cold-tries", type=int, default=3, help="fresh servers in the cold part")
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"throughput", "pages", "cold"}
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    from playwright.sync_api import sync_playwright

    helpers.OUTPUT_DIR.mkdir(exist_ok=True)
    began, load_start = time.perf_counter(), os.getloadavg()[0]
    report: list[str] = []
    mlp = THROUGHPUT_MLP.replace(epochs=args.epochs)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_FLAGS, headless=True)
        if "throughput" in parts:
            report.append("## 1. A training watched by the page ÷ a bare `model.fit`\n")
            models = [("MLP 128-64", mlp, 1000)]
            if args.cnn_epochs > 0:
                models.append(("small CNN 16-32", THROUGHPUT_CNN.replace(epochs=args.cnn_epochs), 2000))
            for name, config, seed in models:
                result = throughput(browser, name, config, args.pairs, not args.no_unwatched, seed)
                report += report_throughput(name, config, result) + [f"Tracebacks in the server log: {result['tracebacks']}.\n"]
        if "pages" in parts:
            report.append("## 2-3. Pages and memory while 2 jobs train\n")
            report += report_pages(pages_under_jobs(browser, args.tries, args.busy_epochs, not args.no_nice_variant), args.busy_epochs) + [""]
        if "cold" in parts:
            report.append("## 4. Press Train on a just-started server -> first epoch shown\n")
            results = cold_start(browser, args.cold_tries, mlp)
            warm_times = runner_warm_times(max(1, args.cold_tries))
            report += report_cold(results, warm_times, mlp) + [""]
        browser.close()
    print("# Background jobs benchmark (`bench/jobs.py`)\n")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} cores; load average {load_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end; {time.perf_counter() - began:.0f} s in all. Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
