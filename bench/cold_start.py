"""Cold start: a freshly started server -> the first page a user sees, and -> the first training chart.

    nice -n 10 .venv/bin/python -m bench.cold_start            # 3 tries per flow, ~5 min; --tries N

Two flows, alternated, each on a new server with an empty cache and the default number of workers:
- start: open `/` (the start page: no TensorFlow in its script run) until the last learning-path card is
  drawn; then open the Train page with a small MLP, press Train / load, and wait until the live loss
  and accuracy curves both show epoch 1 (the first training chart).
- train: the same server kind opened straight on `/train` (the old landing page, which imports
  TensorFlow in its first script run) until its form is drawn, then the same press -> first chart.
Times are wall-clock seconds from `streamlit run` (launch) and from the page visit; the server is
"healthy" when /_stcore/health answers. Results go to stdout as a Markdown table (bench/RESULTS-cold-start.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from bench.common import offline_environment
from bench.jobs import CURVES_JS, Server, job_curves, median, press_train, query, say
from core import jobs
from core.config import RunConfig
from tests import helpers

CONFIG = RunConfig(layers=1, units=64, epochs=5, batch_size=128)  # a small MLP: epoch 1 in well under a second
LAST_CARD_JS = """() => document.body.innerText.includes('Which kind of network reads your handwriting better?')"""


def first_chart(page, config: RunConfig, timeout: float = 300) -> float:
    """Press Train / load; time.time() when both live curves show epoch 1 (then the job is cancelled)."""
    press_train(page, config)
    deadline = time.monotonic() + timeout
    while not page.evaluate(CURVES_JS, job_curves(config.key(), 1)):
        if time.monotonic() > deadline:
            raise RuntimeError("no live chart within the timeout")
        time.sleep(0.05)
    shown = time.time()
    jobs.request_cancel(config.key())
    jobs.wait(config.key(), timeout=120)
    return shown


def one_try(browser, flow: str, seed: int) -> dict:
    config = CONFIG.replace(seed=seed)
    launched = time.time()
    server = Server(workers=jobs.default_workers(), label=f"cold-{flow}").start()
    server.use_cache()
    healthy = time.time() - launched
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
            "train_page_from_visit": train_shown - train_visit, "chart_from_launch": chart - launched,
        }
    finally:
        context.close()
        server.stop()


ROWS = [
    ("healthy", "launch -> server healthy (/_stcore/health)"),
    ("page_from_visit", "visit -> first page drawn"),
    ("page_from_launch", "launch -> first page drawn"),
    ("train_page_from_visit", "then Train page opened -> drawn"),
    ("chart_from_launch", "launch -> first training chart (epoch 1 on both live curves)"),
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
    args = parser.parse_args()
    offline_environment()
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=helpers.CHROMIUM, args=helpers.CHROMIUM_FLAGS, headless=True)
        try:
            for index in range(args.tries):
                for flow in ("start", "train") if index % 2 == 0 else ("train", "start"):
                    result = one_try(browser, flow, seed=9000 + 10 * index + (flow == "train"))
                    say(f"{flow} try {index + 1}: page {result['page_from_launch']:.2f} s from launch, "
                        f"{result['page_from_visit']:.2f} s from visit; first chart {result['chart_from_launch']:.2f} s from launch")
                    results.append(result)
        finally:
            browser.close()
    print(f"Machine: {platform.machine()}, {jobs.default_workers()} worker(s), python {platform.python_version()}; "
          f"config {CONFIG.describe()}\n")
    print(report(results))
    loads = ", ".join(f"{r['load']:.1f}" for r in results)
    print(f"\nLoad average (1 min) at the end of each try: {loads}")


if __name__ == "__main__":
    main()
