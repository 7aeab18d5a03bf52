"""Cold start: a freshly started server -> the first page a user sees, and -> the first training chart.

    nice -n 10 .venv/bin/python -m bench.cold_start            # 3 tries per flow, ~5 min; --tries N
    .venv/bin/python -m bench.cold_start --tries 2 --out bench/RESULTS-cold-start-run.md

Two flows, alternated, each on a new server with an empty cache and the default number of workers:
- start: open `/` (the start page: no TensorFlow in its script run) until the last learning-path card is
  drawn; then open the Train page with a small MLP, press Train / load, and wait for the first training
  chart: both loss and accuracy curves drawn with at least one epoch, either the job's live curves or,
  when the tiny training finished before a live frame was drawn (it does on an idle machine), the
  finished result's curves. The first chart's time is split: press -> the worker starts the job ->
  the job's record shows epoch 1 -> the chart is drawn in the browser.
- train: the same server kind opened straight on `/train` (the old landing page, which imports
  TensorFlow in its first script run) until its form is drawn, then the same press -> first chart.
Times are wall-clock seconds from the moment `streamlit run` is started (launch: just before the server
process is created) and from the page visit; the server is "healthy" when /_stcore/health answers
(polled every 50 ms, so the poll adds at most that to what follows). Chromium is started once, before
the first server. Results go to stdout as a Markdown table (bench/RESULTS-cold-start.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import offline_environment
from bench.jobs import CURVES_JS, final_curves, job_curves, median, press_train, query, say
from core import jobs
from core.config import RunConfig
from tests import helpers

CONFIG = RunConfig(layers=1, units=64, epochs=5, batch_size=128)  # a small MLP: epoch 1 in well under a second
LAST_CARD_JS = """() => document.body.innerText.includes('Which kind of network reads your handwriting better?')"""


def first_chart(page, config: RunConfig, timeout: float = 300) -> dict:
    """Press Train / load and wait for the first training chart: both curves with epoch 1, live or of the result.

    A tiny training may finish between two frames of the live view: the finished result's curves
    (drawn from the cached run) are then the first training chart the student sees. Returns time.time()
    of the press, of the worker starting the job, of the job's record first showing epoch 1, and of the
    chart, with which chart it was ("live" or "result").
    """
    pressed = press_train(page, config)
    deadline = time.monotonic() + timeout
    epoch_one = None
    while True:
        job = jobs.read_job(config.key())
        if epoch_one is None and job is not None and (job.epoch >= 1 or job.state == "done"):
            epoch_one = time.time()
        if page.evaluate(CURVES_JS, job_curves(config.key(), 1)):
            kind = "live"
            break
        if page.evaluate(CURVES_JS, final_curves(1)):
            kind = "result"
            break
        if time.monotonic() > deadline:
            raise RuntimeError("neither the live curves nor the finished result's curves were drawn within the timeout")
        time.sleep(0.05)
    shown = time.time()
    if kind == "live":
        jobs.request_cancel(config.key())
    job = jobs.wait(config.key(), timeout=120) or jobs.read_job(config.key())
    started = getattr(job, "started", None) or float("nan")
    return {"pressed": pressed, "started": started, "epoch_one": epoch_one or shown, "shown": shown, "kind": kind}


def launch_server(flow: str) -> tuple[helpers.AppServer, float, float]:
    """A new server on an empty cache: (the server, time.time() just before its process started, seconds until healthy)."""
    cache = Path(tempfile.mkdtemp(prefix=f"neural-lab-bench-cold-{flow}-"))
    os.environ["NEURAL_LAB_CACHE_DIR"] = str(cache)  # this process reads the server's jobs (core.jobs.read_job)
    server = helpers.AppServer(cache, env={"NEURAL_LAB_JOB_WORKERS": str(jobs.default_workers())})
    launched = time.time()
    server.launch()
    deadline = time.monotonic() + 300
    while server.health() != 200:
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not become healthy; see {server.log}")
        time.sleep(0.05)
    return server, launched, time.time() - launched


def one_try(browser, flow: str, seed: int) -> dict:
    config = CONFIG.replace(seed=seed)
    server, launched, healthy = launch_server(flow)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(300_000)
    try:
        visited = time.time()
        if flow == "start":
            page.goto(f"{server.url}/")
            page.wait_for_function(LAST_CARD_JS, timeout=300_000)
        else:
            page.goto(f"{server.url}/train")
            page.get_by_role("button", name="Train / load").wait_for()
        first_page = time.time()
        train_visit = time.time()
        page.goto(f"{server.url}/train?{query(config)}")
        helpers.wait_for_app(page, timeout=300_000)
        page.get_by_text("has not been trained yet").wait_for()
        train_shown = time.time()
        chart = first_chart(page, config)
        return {
            "flow": flow, "load": os.getloadavg()[0], "healthy": healthy, "page_from_launch": first_page - launched, "page_from_visit": first_page - visited,
            "train_page_from_visit": train_shown - train_visit, "chart_from_launch": chart["shown"] - launched, "chart_kind": chart["kind"],
            "press_to_start": chart["started"] - chart["pressed"], "start_to_epoch": chart["epoch_one"] - chart["started"],
            "epoch_to_chart": chart["shown"] - chart["epoch_one"],
        }
    finally:
        context.close()
        server.stop()
        shutil.rmtree(server.cache, ignore_errors=True)


ROWS = [
    ("healthy", "launch -> server healthy (/_stcore/health)"),
    ("page_from_visit", "visit -> first page drawn"),
    ("page_from_launch", "launch -> first page drawn"),
    ("train_page_from_visit", "then Train page opened -> drawn"),
    ("chart_from_launch", "launch -> first training chart (both curves drawn: live, or the finished result)"),
    ("press_to_start", "of which: Train pressed -> the worker starts the job"),
    ("start_to_epoch", "of which: job started -> its record shows epoch 1"),
    ("epoch_to_chart", "of which: epoch 1 recorded -> chart drawn in the browser"),
]


def report(results: list[dict]) -> str:
    flows = {"start": "start page `/` (new)", "train": "Train page `/train` first (as before)"}
    lines = [
        f"| measure (median of {len(results) // 2 or 1}; every try) | " + " | ".join(flows.values()) + " |",
        "|---|---|---|",
    ]
    for name, label in ROWS:
        cells = []
        for flow in flows:
            values = [r[name] for r in results if r["flow"] == flow]
            cells.append(f"**{median(values):.2f} s** ({', '.join(f'{v:.2f}' for v in values)})" if values else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=3, help="fresh servers per flow (alternated)")
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    args = parser.parse_args()
    offline_environment()
    from playwright.sync_api import sync_playwright

    load_at_start = os.getloadavg()[0]
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_FLAGS, headless=True)
        try:
            for index in range(args.tries):
                for flow in ("start", "train") if index % 2 == 0 else ("train", "start"):
                    result = one_try(browser, flow, seed=9000 + 10 * index + (flow == "train"))
                    say(f"{flow} try {index + 1}: page {result['page_from_launch']:.2f} s from launch, "
                        f"{result['page_from_visit']:.2f} s from visit; first chart ({result['chart_kind']}) "
                        f"{result['chart_from_launch']:.2f} s from launch; load {result['load']:.1f}")
                    results.append(result)
        finally:
            browser.close()
    text = "\n".join([
        f"`python -m bench.cold_start --tries {args.tries}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {jobs.default_workers()} worker(s), python {platform.python_version()}; "
        f"config {CONFIG.describe()}",
        "",
        report(results),
        "",
        "First training chart seen: " + ", ".join(f"{r['flow']} {r['chart_kind']}" for r in results)
        + " (live = the job's live curves; result = the finished run's curves, the training ended between two live frames).",
        f"Load average (1 min): {load_at_start:.1f} at the start; at the end of each try: "
        + ", ".join(f"{r['load']:.1f}" for r in results) + ".",
    ])
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
        say(f"written to {args.out}")


if __name__ == "__main__":
    main()
