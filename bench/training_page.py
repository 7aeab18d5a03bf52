"""Train page benchmark in Chromium against a real server; prints a markdown report.

Trainings run in background workers (core/jobs.py); the page watches them with a polling
st.fragment (dashboard/training_ui.py, every 0.5 s). Measured here, from the user's side:

1. live: press "Train / load" on a new combination and watch it. For every epoch, the lag from the
   worker publishing it (the job's record, read from disk every 50 ms) to the page's loss curve
   showing that many points; press -> progress shown, -> first curve point, -> result drawn; the
   number of distinct curve lengths seen while it trained (the curves grow live); CPU seconds of the
   server process and Chromium while watching. Goal: the page trails the worker by about one poll.
2. cached: time from opening the address of a cached combination to both curves drawn, and from
   pressing "Train / load" on it to the curves redrawn (a cache hit: no job). Goal < 1 s.

Throughput (a watched job ÷ a bare `model.fit`) lives in bench/jobs.py (part "throughput").

    nice -n 10 .venv/bin/python -m bench.training_page [--live-tries 3] [--epochs 8] [--repeats 5]

Offline, embedded data, a temporary cache folder under /tmp (never cached_models/).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from bench.jobs import (
    CURVES_JS,
    EPOCH_TEXT_JS,
    Server,
    final_curves,
    median,
    open_untrained,
    press_train,
    query,
    say,
    spent,
    usage,
)
from core import jobs
from core.config import RunConfig
from tests import helpers

REPO = Path(__file__).resolve().parent.parent

LIVE = RunConfig(arch="cnn", layers=2, units=(16, 32), batch_size=32, epochs=8)  # ~1 s epochs: longer than a poll
CACHED = RunConfig(layers=1, units=16, epochs=8, batch_size=32)
POINT_COUNT_JS = """(key) => {  // points on the job's live loss curve (training_ui keys it job-loss-<key>)
  const chart = document.querySelector('.st-key-job-loss-' + key + ' .js-plotly-plot');
  const trace = chart && chart.querySelector('.scatterlayer .trace');
  return trace ? trace.querySelectorAll('path.point').length : 0;
}"""
RESULT_TEXT = "in the background and cached"


def watch_live(page, server: Server, config: RunConfig) -> dict:
    """Press Train on a new `config`; poll the record and the page every 50 ms until the result is drawn."""
    open_untrained(page, server, config)
    before = usage(server)
    pressed = press_train(page, config)
    shown_record: dict[int, float] = {}  # epoch -> seconds after the press when the record had it
    shown_page: dict[int, float] = {}  # epoch -> seconds after the press when the page's curve had it
    lengths: set[int] = set()
    progress = done = None
    deadline = time.monotonic() + 600
    while done is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the result was not drawn within 600 s")
        job = jobs.read_job(config.key())
        now = time.time() - pressed
        for epoch in range(1, len((job.history if job else {}).get("loss", [])) + 1):
            shown_record.setdefault(epoch, now)
        count = page.evaluate(POINT_COUNT_JS, config.key())
        now = time.time() - pressed
        if job is not None and job.active:
            lengths.add(count)
            for epoch in range(1, count + 1):
                shown_page.setdefault(epoch, now)
        if progress is None and page.evaluate(EPOCH_TEXT_JS):
            progress = time.time() - pressed
        if job is not None and not job.active and page.get_by_text(RESULT_TEXT).count():
            done = time.time() - pressed
        time.sleep(0.05)
    cost = spent(before, usage(server))
    if job.state != "done":
        raise RuntimeError(f"the job ended as {job.state}: {job.message}")
    lags = [shown_page[e] - shown_record[e] for e in shown_page if e in shown_record and e < config.epochs]
    return {
        "progress": progress, "first_point": shown_page.get(1, float("nan")), "done": done, "fit": job.train_seconds,
        "lags": lags, "lengths": len(lengths - {0}), "cpu_server": cost["server"], "cpu_browser": cost["browser"],
        "cpu_worker": cost["workers"], "wall": cost["wall"],
    }


def cached_times(page, server: Server, config: RunConfig, repeats: int) -> dict:
    opened, submitted = [], []
    page.goto(f"{server.url}/train?{query(config)}")  # first visit: server imports, model load
    page.wait_for_function(CURVES_JS, arg=final_curves(config.epochs), timeout=180_000)
    for _ in range(repeats):
        started = time.perf_counter()
        page.goto(f"{server.url}/train?{query(config)}")
        page.wait_for_function(CURVES_JS, arg=final_curves(config.epochs), polling=20, timeout=180_000)
        opened.append(time.perf_counter() - started)
        helpers.wait_for_app(page)
        started = time.perf_counter()
        page.locator("[data-testid=stSidebar]").get_by_role("button", name="Train / load").click()
        page.get_by_text("Loaded from cache").wait_for(timeout=180_000)
        page.wait_for_function(CURVES_JS, arg=final_curves(config.epochs), polling=20, timeout=180_000)
        submitted.append(time.perf_counter() - started)
        helpers.wait_for_app(page)
    return {"opened": opened, "submitted": submitted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live-tries", type=int, default=3, help="new combinations trained and watched")
    parser.add_argument("--epochs", type=int, default=LIVE.epochs, help="epochs of the watched CNN")
    parser.add_argument("--repeats", type=int, default=5, help="cached opens and presses")
    args = parser.parse_args()
    live_config = LIVE.replace(epochs=args.epochs)

    from playwright.sync_api import sync_playwright

    helpers.OUTPUT_DIR.mkdir(exist_ok=True)
    server = Server(workers=1, label="training-page")
    helpers.train_in_subprocess(server.cache, "--layers", "1", "--units", "16", "--epochs", str(CACHED.epochs), "--batch-size", str(CACHED.batch_size))
    server.start()
    live, cached = [], {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(180_000)
            watch_live(page, server, live_config.replace(seed=500))  # warm-up: worker tracing, page assets
            for index in range(args.live_tries):
                live.append(watch_live(page, server, live_config.replace(seed=501 + index)))
                say(f"live try {index + 1}: first point {live[-1]['first_point']:.2f} s, median lag {median(live[-1]['lags']):.2f} s")
            page.screenshot(path=str(helpers.OUTPUT_DIR / "bench-training-live.png"), full_page=True)
            cached = cached_times(page, server, CACHED, args.repeats)
            page.screenshot(path=str(helpers.OUTPUT_DIR / "bench-training-cached.png"))
            browser.close()
        tracebacks = server.tracebacks()
    finally:
        server.stop()

    lags = [lag for result in live for lag in result["lags"]]
    print("## Train page benchmark (`bench/training_page.py`)\n")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end; "
          f"tracebacks in the server log: {tracebacks}.\n")
    print(f"### Watching a new training ({live_config.replace(seed=0).describe()}, 1 worker, {len(live)} tries)\n")
    print("| | median s | all (s) |")
    print("|---|---|---|")
    for name, label in (("progress", "press Train -> progress text shows an epoch"), ("first_point", "press Train -> first curve point"),
                        ("done", "press Train -> result drawn (job done)"), ("fit", "the job's fit seconds (record)")):
        values = [r[name] for r in live]
        print(f"| {label} | {median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    print(f"| epoch published by the worker -> that point on the page's curve (lag; {len(lags)} epochs) | {median(lags):.2f} | "
          f"max {max(lags) if lags else float('nan'):.2f} |")
    print(f"\nDistinct curve lengths seen while training (the curves grow live): {[r['lengths'] for r in live]} of {live_config.epochs} epochs. "
          f"While watching, the server process used {median(r['cpu_server'] / r['wall'] for r in live):.0%} of one core, Chromium "
          f"{median(r['cpu_browser'] / r['wall'] for r in live):.0%} and the worker {median(r['cpu_worker'] / r['wall'] for r in live):.0%} "
          "(CPU seconds ÷ press-to-result seconds, median).\n")
    print(f"### Cached combination in Chromium ({CACHED.describe()})\n")
    print("| | median s | all (s) |")
    print("|---|---|---|")
    for name, label in (("opened", "open the address -> both curves drawn"), ("submitted", "press Train / load -> curves redrawn")):
        values = cached[name]
        print(f"| {label} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
