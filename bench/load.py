"""Load: several browsers on the running app at once, on one shared cache.

    nice -n 10 .venv/bin/python -m bench.load [--contexts 6] [--rounds 3] [--models 10]
    nice -n 10 .venv/bin/python -m bench.load --contexts 3 --rounds 1 --models 4     # smallest meaningful, ~3 min

What it does, all against 127.0.0.1 only:
1. pre-trains `--models` small MNIST MLPs into a fresh temporary cache (one `python -m core pretrain`);
2. starts `streamlit run dashboard/app.py` (tests.helpers.AppServer) on a free port with that cache
   and samples the RSS of the streamlit process and, separately, of its job workers;
3. opens `--contexts` Chromium contexts at once: two press "Train / load" on the SAME new combination
   (a class where two students pick the same knobs) and watch it: the first press queues a job in a
   background worker (core/jobs.py), the second joins that same job, and both pages poll its progress
   until the result is drawn. The others open cached runs on the Runs, Train, Misclassified-digits,
   Draw and Decision-boundary pages, `--rounds` times each;
4. then opens the explorer for each of the `--models` cached models in turn (models held in memory
   are bounded by dashboard/resources.MAX_MODELS) and reads the RSS again.

Prints a markdown report: page latencies under load (median / max seconds from navigation until
Streamlit stops running the script), press -> job done and drawn for the two trainers, error elements
seen, trainings of the shared combination (must be exactly one: one job, one cache entry), the server
process's peak RSS (goal: < 1.5 GB with every model opened) and the workers' RSS beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
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
from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, AppServer

REPO = Path(__file__).resolve().parent.parent

offline_environment()

ERROR_SELECTOR = "[data-testid=stException], [data-testid=stAlertContentError]"
RUNNING_JS = ("() => { const s = document.querySelector('[data-testid=stStatusWidget]');"
              " return !!s && s.innerText.includes('Running'); }")
IDLE_JS = f"() => !({RUNNING_JS})()"
GIB = 1024**3


def worker_pids(server_pid: int) -> list[int]:
    """The server's job workers: its spawned children (found by parent pid: they are started from a
    script thread, so /proc/<pid>/task/<pid>/children alone would miss them)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == server_pid and b"spawn_main" in command and b"resource_tracker" not in command:
            pids.append(int(entry.name))
    return pids


def rss_now(server_pid: int) -> tuple[int, int]:
    """(RSS of the streamlit process alone, RSS of its job workers together)."""
    return rss_bytes(server_pid), sum(rss_bytes(pid) for pid in worker_pids(server_pid))


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.stopped = pid, every, threading.Event()
        self.peak_server = self.peak_workers = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            server, workers = rss_now(self.pid)
            self.peak_server, self.peak_workers = max(self.peak_server, server), max(self.peak_workers, workers)
            time.sleep(self.every)


def pretrain(cache: Path, models: int) -> list[RunConfig]:
    units = [8 * (i + 1) for i in range(models)]
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache))
    subprocess.run([sys.executable, "-m", "core", "pretrain", "--layers", "1", "--epochs", "2", "--batch-size", "256",
                    "--grid", "units=" + ",".join(map(str, units)), "--quiet"], cwd=REPO, env=env, check=True, capture_output=True)
    return [RunConfig(layers=1, units=u, epochs=2, batch_size=256) for u in units]


def query(config: RunConfig, **extra: str) -> str:
    return urllib.parse.urlencode({**full_params(config), **extra})


async def visit(page, url: str, timeout: float = 180_000) -> tuple[float, int]:
    """Seconds from navigation until the script finished, and the number of error elements shown."""
    started = time.perf_counter()
    await page.goto(url)
    await page.wait_for_selector("[data-testid=stMain] h1", timeout=timeout)  # every page starts with st.title
    await page.wait_for_function(IDLE_JS, timeout=timeout, polling=100)
    return time.perf_counter() - started, await page.locator(ERROR_SELECTOR).count()


async def trainer(browser, url: str, config: RunConfig, start: asyncio.Event) -> dict:
    """Press Train on `config` and watch the page until the result is drawn (press -> job done and shown)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(300_000)
    page = await context.new_page()
    await visit(page, f"{url}/train?{query(config)}")
    await start.wait()
    started = time.perf_counter()
    await page.locator("[data-testid=stSidebar]").get_by_role("button", name="Train / load").click()
    # The outcome line, not the "Running" badge (which a busy browser can miss, and the job panel's
    # polling fragment shows every 0.5 s): "Trained in ... in the background and cached" for every session
    # that pressed while the job ran (they share one job), "Loaded ..." when it was already in the cache.
    badge = page.get_by_text(re.compile(r"Trained in .* in the background and cached|Loaded")).first
    await badge.wait_for(timeout=900_000)
    seconds = time.perf_counter() - started
    first_text = await badge.inner_text()  # what the user saw first (a later rerun may say "Loaded from cache")
    await page.wait_for_function(IDLE_JS, timeout=600_000, polling=200)
    final_text = await page.locator("[data-testid=stMain]").inner_text()
    errors = await page.locator(ERROR_SELECTOR).count()
    await context.close()
    return {"outcome": outcome_of(first_text), "final": outcome_of(final_text), "seconds": seconds, "errors": errors}


def outcome_of(text: str) -> str:
    if "in the background and cached" in text:
        return "its job trained it"
    if "another session trained it" in text:
        return "loaded after waiting"
    if "Loaded from cache" in text:
        return "loaded from the cache"
    return "unknown"


async def browser_user(browser, url: str, configs: list[RunConfig], rounds: int, offset: int) -> list[tuple[str, float, int]]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(300_000)
    page = await context.new_page()
    samples = []
    for round_ in range(rounds):
        config = configs[(offset + round_) % len(configs)]
        for name, address in (
            ("runs", f"{url}/runs"),
            ("train (cached)", f"{url}/train?{query(config)}"),
            ("explorer", f"{url}/explorer?{query(config)}"),
            ("draw", f"{url}/draw?run={config.key()}"),
            ("boundary", f"{url}/boundary"),
        ):
            try:
                seconds, errors = await visit(page, address)
            except Exception as error:  # noqa: BLE001 - a page that never finished is a result, reported as such
                print(f"{name}: {type(error).__name__}: {str(error)[:200]}", file=sys.stderr)
                seconds, errors = float("nan"), 1
            samples.append((name, seconds, errors))
    await context.close()
    return samples


async def load_phase(url: str, configs: list[RunConfig], contexts: int, rounds: int, new_config: RunConfig) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        start = asyncio.Event()
        trainers = [asyncio.create_task(trainer(browser, url, new_config, start)) for _ in range(2)]
        users = [asyncio.create_task(browser_user(browser, url, configs, rounds, i)) for i in range(max(0, contexts - 2))]
        await asyncio.sleep(3)
        start.set()
        started = time.perf_counter()
        trained = await asyncio.gather(*trainers)
        browsing = await asyncio.gather(*users)
        wall = time.perf_counter() - started
        # Afterwards: open every cached model once (bounded model memory must hold).
        context = await browser.new_context()
        page = await context.new_page()
        model_visits = []
        for config in configs:
            model_visits.append(await visit(page, f"{url}/explorer?{query(config)}"))
        await context.close()
        await browser.close()
    return {"trainers": trained, "browsing": [s for user in browsing for s in user], "wall": wall, "model_visits": model_visits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", type=int, default=10)
    args = parser.parse_args()

    cache = Path(tempfile.mkdtemp(prefix="neural-lab-load-"))
    os.environ["NEURAL_LAB_CACHE_DIR"] = str(cache)  # core.jobs.read_job below reads this cache's job records
    try:
        began = time.perf_counter()
        configs = pretrain(cache, args.models)
        pretrain_seconds = time.perf_counter() - began
        server = AppServer(cache).start()
        url = server.url
        sampler = RssSampler(server.process.pid)
        sampler.start()
        try:
            time.sleep(2)
            idle_rss = rss_now(server.process.pid)  # before any visit: the workers start with the first page
            new_config = RunConfig(layers=2, units=48, epochs=3, batch_size=128, seed=int(time.time()) % 100000)
            result = asyncio.run(load_phase(url, configs, args.contexts, args.rounds, new_config))
            rss_models = rss_now(server.process.pid)
            workers = len(worker_pids(server.process.pid))
            job = jobs.read_job(new_config.key())
        finally:
            sampler.stopped.set()
            sampler.join()
            server.stop()
        entries = [p for p in cache.iterdir() if p.is_dir() and p.name == new_config.key()]
        created = json.loads((cache / new_config.key() / "meta.json").read_text())["created"] if entries else None
        server_tracebacks = server.log.read_text(errors="replace").count("Traceback")
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    outcomes = [t["outcome"] for t in result["trainers"]]
    finals = [t["final"] for t in result["trainers"]]
    errors = sum(t["errors"] for t in result["trainers"]) + sum(e for *_, e in result["browsing"]) + sum(e for _, e in result["model_visits"])
    print(f"## Load: {args.contexts} browser contexts at once on one server (2 cores)\n")
    print(f"{args.models} models pre-trained in {pretrain_seconds:.0f} s; load phase {result['wall']:.0f} s wall.\n")
    print("| page | visits | failed | median s | max s |")
    print("| --- | --- | --- | --- | --- |")
    by_page: dict[str, list[float]] = {}
    for name, seconds, _ in result["browsing"]:
        by_page.setdefault(name, []).append(seconds)
    for name, values in by_page.items():
        done = [v for v in values if v == v]
        timing = f"{statistics.median(done):.2f} | {max(done):.2f}" if done else "- | -"
        print(f"| {name} | {len(values)} | {len(values) - len(done)} | {timing} |")
    for trainer_result in result["trainers"]:
        print(f"| train NEW combination (press → job done, watched by the page) | 1 | 0 | {trainer_result['seconds']:.2f} | {trainer_result['seconds']:.2f} |")
    visits = [s for s, _ in result["model_visits"]]
    print(f"| explorer, each of {len(visits)} models in turn (after the load) | {len(visits)} | 0 | {statistics.median(visits):.2f} | {max(visits):.2f} |")
    print()
    one_training = len(entries) == 1 and job is not None and job.state == "done" and not job.cached
    job_line = f"its job {job.state}, {job.train_seconds or 0:.1f} s of training, cached={job.cached}" if job else "no job record"
    changed = f" (after the page's last run: {finals})" if finals != outcomes else ""
    print(f"- Two contexts pressed Train on the same new combination: outcomes first shown {outcomes}{changed} (one job per "
          f"combination: the second press joins the first's job); {job_line}; entries for it in the cache: {len(entries)} "
          f"(created {created}). Exactly one training: {'yes' if one_training else 'NO'}.")
    print(f"- Error elements seen on any page: {errors}; tracebacks in the server log: {server_tracebacks} ({server.log}).")
    peak = max(sampler.peak_server, rss_models[0])
    print(f"- RSS of the streamlit process alone: idle {idle_rss[0] / GIB:.2f} GiB, peak under load {sampler.peak_server / GIB:.2f} GiB, "
          f"after opening all {len(visits)} models {rss_models[0] / GIB:.2f} GiB (goal < 1.5 GB: {'met' if peak < 1.5e9 else 'NOT met'}).")
    print(f"- RSS of its {workers} job worker(s) together (separate processes, TensorFlow imported at start): idle {idle_rss[1] / GIB:.2f} GiB "
          f"(0 before the first visit starts them), peak {sampler.peak_workers / GIB:.2f} GiB, at the end {rss_models[1] / GIB:.2f} GiB; "
          f"server + workers peak at most {(sampler.peak_server + sampler.peak_workers) / GIB:.2f} GiB.")


if __name__ == "__main__":
    main()
