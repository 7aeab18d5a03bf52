"""Training page benchmark, measured in one run; prints a markdown report.

1. Throughput of a training watched by the page's live listener (dashboard.live.LiveTraining,
   drawing into real st.empty() placeholders inside a Streamlit script run via AppTest) divided by
   a bare `model.fit` of the same model and data. Runs alternate (bare, watched, bare, ...) so
   background load hits both alike; the ratio of medians is reported. Goal >= 0.95.
2. In Chromium against `streamlit run dashboard/app.py`: time from opening the address of a cached
   combination to both curves drawn with every epoch, and from pressing "Train / load" on a cached
   combination to the reloaded curves. Goal < 1 s.

    nice -n 10 .venv/bin/python bench/training_page.py [--pairs 4] [--epochs 15]

Uses a temporary cache (never cached_models/) and the embedded data, offline.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.config import RunConfig  # noqa: E402
from tests import conftest  # noqa: E402  (importing it points the cache at a temp folder, offline)


def watched_script(config_dict: dict) -> None:
    """A Streamlit script: train with the page's listener drawing into real placeholders."""
    import streamlit as st

    from core.config import RunConfig
    from core.data import load_mnist
    from core.training import train
    from dashboard.live import LiveTraining

    config = RunConfig.from_dict(config_dict)
    columns = st.columns(2)
    listener = LiveTraining(config, progress=st.empty(), loss_chart=columns[0].empty(), accuracy_chart=columns[1].empty())
    run = train(config, listener=listener, splits=load_mnist("embedded"))
    st.session_state["result"] = {
        "fit_seconds": run.meta["train_seconds"], "chart_updates": listener.chart_updates,
        "progress_updates": listener.progress_updates, "drawing_seconds": listener.drawing_seconds,
    }


def bare_fit(config: RunConfig) -> float:
    from core.data import load_mnist
    from core.models import build_model, compile_model

    splits = load_mnist("embedded")
    model = build_model(config, splits.x_train)
    compile_model(model, config, math.ceil(len(splits.y_train) / config.batch_size))
    started = time.perf_counter()
    model.fit(
        splits.x_train, splits.y_train, validation_data=(splits.x_val, splits.y_val),
        batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0,
    )
    return time.perf_counter() - started


def watched_fit(config: RunConfig) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(watched_script, args=(config.to_dict(),), default_timeout=600).run()
    if at.exception:
        raise RuntimeError(at.exception)
    return at.session_state["result"]


def throughput(config: RunConfig, pairs: int) -> dict:
    bare_fit(config)  # warm-up: TensorFlow start-up and tracing
    watched_fit(config)
    bare, watched, details = [], [], []
    for _ in range(pairs):
        bare.append(bare_fit(config))
        result = watched_fit(config)
        watched.append(result["fit_seconds"])
        details.append(result)
    return {"bare": bare, "watched": watched, "details": details, "ratio": statistics.median(bare) / statistics.median(watched)}


POINTS_JS = """(n) => {
  const charts = [...document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')].slice(0, 2);
  return charts.length === 2 && charts.every(c => {
    const trace = c.querySelector('.scatterlayer .trace');
    return trace && trace.querySelectorAll('path.point').length === n;
  });
}"""


def browser_times(config: RunConfig, repeats: int) -> dict:
    import tempfile

    from playwright.sync_api import sync_playwright

    from dashboard.state import encode

    cache = Path(tempfile.mkdtemp(prefix="neural-lab-bench-"))
    flags = ["--layers", str(config.layers), "--units", str(config.units), "--epochs", str(config.epochs), "--batch-size", str(config.batch_size)]
    conftest.train_in_subprocess(cache, *flags)
    query = "&".join(f"{k}={v}" for k, v in encode(config, RunConfig()).items())
    server = conftest.AppServer(cache).start()
    opened, submitted = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.CHROMIUM_FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{server.url}/?{query}")  # first visit: server imports, model load
            page.wait_for_function(POINTS_JS, arg=config.epochs)
            for _ in range(repeats):
                started = time.perf_counter()
                page.goto(f"{server.url}/?{query}")
                page.wait_for_function(POINTS_JS, arg=config.epochs, polling=20)
                opened.append(time.perf_counter() - started)
                conftest.wait_for_app(page)
                started = time.perf_counter()
                page.locator("[data-testid=stSidebar]").get_by_role("button", name="Train / load").click()
                page.get_by_text("Loaded from the cache").wait_for()
                page.wait_for_function(POINTS_JS, arg=config.epochs, polling=20)
                submitted.append(time.perf_counter() - started)
                conftest.wait_for_app(page)
            page.screenshot(path=str(conftest.OUTPUT_DIR / "bench-training-cached.png"))
            browser.close()
    finally:
        server.stop()
    return {"opened": opened, "submitted": submitted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = RunConfig(layers=2, units=64, epochs=args.epochs, batch_size=128)

    result = throughput(config, args.pairs)
    browser = browser_times(RunConfig(layers=1, units=16, epochs=8, batch_size=32), args.repeats)

    draws = statistics.median(d["chart_updates"] for d in result["details"])
    share = statistics.median(d["drawing_seconds"] / d["fit_seconds"] for d in result["details"])
    drawing = statistics.median(d["drawing_seconds"] for d in result["details"])
    print("## Training page benchmark\n")
    print(f"Machine: {__import__('os').cpu_count()} cores; load average {__import__('os').getloadavg()[0]:.1f} at the end.\n")
    print(f"### Live listener vs bare `model.fit` ({config.describe()}, embedded 3,500 digits, {args.pairs} alternating pairs)\n")
    print("| | median fit s | runs (s) |")
    print("|---|---|---|")
    print(f"| bare model.fit | {statistics.median(result['bare']):.2f} | {', '.join(f'{v:.2f}' for v in result['bare'])} |")
    print(f"| train() + LiveTraining in Streamlit | {statistics.median(result['watched']):.2f} | {', '.join(f'{v:.2f}' for v in result['watched'])} |")
    print(f"\n**Throughput ratio (watched / bare): {result['ratio']:.3f}** (goal >= 0.95); "
          f"median {draws:.0f} chart redraws, {drawing:.2f} s spent drawing per run = {share:.1%} of the fit "
          "(the listener's own cost; load-independent, unlike the ratio on a busy machine).\n")
    print("### Cached combination in Chromium (MLP 16, 8 epochs)\n")
    print("| | median s | all (s) |")
    print("|---|---|---|")
    for name, label in (("opened", "open the address -> both curves drawn"), ("submitted", "press Train / load -> curves redrawn")):
        values = browser[name]
        print(f"| {label} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
