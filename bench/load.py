"""Load: several browsers on the running app at once, on one shared cache.

    nice -n 10 .venv/bin/python bench/load.py [--contexts 6] [--rounds 3] [--models 10]

What it does, all against 127.0.0.1 only:
1. pre-trains `--models` small MNIST MLPs into a fresh temporary cache (one `python -m core pretrain`);
2. starts `streamlit run dashboard/app.py` on a free port with that cache and samples its RSS;
3. opens `--contexts` Chromium contexts at once: two press "Train / load" on the SAME new combination
   (a class where two students pick the same knobs), the others open cached runs on the Runs,
   Train, Misclassified-digits, Draw and Decision-boundary pages, `--rounds` times each;
4. then opens the explorer for each of the `--models` cached models in turn (models held in memory
   are bounded by dashboard/resources.MAX_MODELS) and reads the server's RSS.

Prints a markdown report: page latencies under load (median / max seconds from navigation until
Streamlit stops running the script), error elements seen, trainings of the shared combination (must be
exactly one), the server's peak RSS, and RSS with every model opened (goal: < 1.5 GB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("NEURAL_LAB_OFFLINE", "1")

from core.config import RunConfig  # noqa: E402
from dashboard.state import full_params  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
ERROR_SELECTOR = "[data-testid=stException], [data-testid=stAlertContentError]"
RUNNING_JS = ("() => { const s = document.querySelector('[data-testid=stStatusWidget]');"
              " return !!s && s.innerText.includes('Running'); }")
IDLE_JS = f"() => !({RUNNING_JS})()"
GIB = 1024**3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss_bytes(pid: int) -> int:
    """RSS of a process and its children (Streamlit runs everything in one process; children are counted anyway)."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.stopped = pid, every, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            time.sleep(self.every)


def start_server(cache: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache))
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard" / "app.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("streamlit did not become healthy")


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
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(300_000)
    page = await context.new_page()
    await visit(page, f"{url}/?{query(config)}")
    await start.wait()
    started = time.perf_counter()
    await page.locator("[data-testid=stSidebar]").get_by_role("button", name="Train / load").click()
    # The outcome line, not the "Running" badge (which a busy browser can miss): trained, or loaded after waiting.
    await page.get_by_text(re.compile(r"Trained in .* and cached|Loaded")).first.wait_for(timeout=900_000)
    await page.wait_for_function(IDLE_JS, timeout=600_000, polling=200)
    text = await page.locator("[data-testid=stMain]").inner_text()
    errors = await page.locator(ERROR_SELECTOR).count()
    await context.close()
    outcome = "trained" if "Trained in" in text else "loaded after waiting" if "another session" in text else "loaded" if "Loaded" in text else "unknown"
    return {"outcome": outcome, "seconds": time.perf_counter() - started, "errors": errors}


async def browser_user(browser, url: str, configs: list[RunConfig], rounds: int, offset: int) -> list[tuple[str, float, int]]:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(300_000)
    page = await context.new_page()
    samples = []
    for round_ in range(rounds):
        config = configs[(offset + round_) % len(configs)]
        for name, address in (
            ("runs", f"{url}/runs"),
            ("train (cached)", f"{url}/?{query(config)}"),
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
    log = cache.parent / (cache.name + "-server.log")
    try:
        began = time.perf_counter()
        configs = pretrain(cache, args.models)
        pretrain_seconds = time.perf_counter() - began
        process, url = start_server(cache, log)
        sampler = RssSampler(process.pid)
        sampler.start()
        try:
            idle_rss = tree_rss_bytes(process.pid)
            new_config = RunConfig(layers=2, units=48, epochs=3, batch_size=128, seed=int(time.time()) % 100000)
            result = asyncio.run(load_phase(url, configs, args.contexts, args.rounds, new_config))
            rss_models = tree_rss_bytes(process.pid)
        finally:
            sampler.stopped.set()
            sampler.join()
            process.terminate()
            process.wait(20)
        entries = [p for p in cache.iterdir() if p.is_dir() and p.name == new_config.key()]
        created = json.loads((cache / new_config.key() / "meta.json").read_text())["created"] if entries else None
        server_tracebacks = log.read_text().count("Traceback")
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    outcomes = [t["outcome"] for t in result["trainers"]]
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
        print(f"| train NEW combination (press → done) | 1 | 0 | {trainer_result['seconds']:.2f} | {trainer_result['seconds']:.2f} |")
    visits = [s for s, _ in result["model_visits"]]
    print(f"| explorer, each of {len(visits)} models in turn (after the load) | {len(visits)} | 0 | {statistics.median(visits):.2f} | {max(visits):.2f} |")
    print()
    print(f"- Two contexts pressed Train on the same new combination: outcomes {outcomes}; "
          f"entries for it in the cache: {len(entries)} (created {created}). Exactly one training: "
          f"{'yes' if outcomes.count('trained') == 1 and len(entries) == 1 else 'NO'}.")
    print(f"- Error elements seen on any page: {errors}; tracebacks in the server log: {server_tracebacks}.")
    print(f"- Server RSS: idle {idle_rss / GIB:.2f} GiB, peak under load {sampler.peak / GIB:.2f} GiB, "
          f"after opening all {len(visits)} models {rss_models / GIB:.2f} GiB (goal < 1.5 GB: "
          f"{'met' if max(sampler.peak, rss_models) < 1.5e9 else 'NOT met'}).")


if __name__ == "__main__":
    main()
