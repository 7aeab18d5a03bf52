"""Draw page latency: server side (canvas PNG -> prepare -> predict) and browser (mouse-up -> new prediction).

    nice -n 10 .venv/bin/python -m bench.draw                 # temp cache: seed001-dnn and seed001-cnn, 1 epoch each
    nice -n 10 .venv/bin/python -m bench.draw --cache cached_models --no-browser

Latency does not depend on how well a model is trained, so by default the seed presets are
trained for one epoch into a temporary cache. Prints markdown tables; nothing is asserted.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("NEURAL_LAB_OFFLINE", "1")


def drawn_seven() -> np.ndarray:
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(image).line([(60, 60), (210, 60), (120, 230)], fill="white", width=20)
    return np.asarray(image)


def canvas_data_url(rgba: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def decode_data_url(url: str) -> np.ndarray:
    # what streamlit-drawable-canvas's CanvasResult.image_data does on every rerun
    _, encoded = url.split(";base64,", 1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))


def median_ms(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def ensure_models(cache: Path | None) -> Path:
    from core import cache as model_cache
    from core.presets import preset

    if cache is not None:
        os.environ["NEURAL_LAB_CACHE_DIR"] = str(cache)
        return cache
    folder = Path(tempfile.mkdtemp(prefix="neural-lab-bench-draw-"))
    os.environ["NEURAL_LAB_CACHE_DIR"] = str(folder)
    for name in ("seed001-dnn", "seed001-cnn"):
        print(f"training {name} for 1 epoch into {folder} …", file=sys.stderr)
        model_cache.get_or_train(preset(name).replace(epochs=1))
    return folder


def server_side(repeats: int) -> None:
    import pandas as pd

    from core import cache as model_cache
    from core.models import predict_fn
    from core.preprocess import prepare

    runs = pd.DataFrame([summary.as_row() for summary in model_cache.list_runs()])
    runs = runs[runs["task"] == "mnist"] if not runs.empty else runs
    url = canvas_data_url(drawn_seven())
    decode = median_ms(lambda: decode_data_url(url), repeats)
    rgba = decode_data_url(url)
    prep = median_ms(lambda: prepare(rgba, invert=False), repeats)
    image = prepare(rgba, invert=False).image[None]
    print("## Server side, one 280x280 drawing (median of", repeats, "runs)\n")
    print(f"- decode the canvas PNG (data URL -> RGBA): {decode:.2f} ms")
    print(f"- prepare (all MNIST steps): {prep:.2f} ms\n")
    print("| model | params | predict_on_batch ms | model.predict ms | predict / predict_on_batch | decode + prepare + predict ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for _, row in runs.iterrows():
        run = model_cache.load(row["key"])
        predict = predict_fn(run.model)
        predict(image)  # trace once
        fast = median_ms(lambda predict=predict: predict(image), repeats)
        run.model.predict(image, verbose=0)
        slow = median_ms(lambda run=run: run.model.predict(image, verbose=0), max(5, repeats // 10))
        total = decode + prep + fast
        print(f"| {row['description'].split(', batch')[0]} | {int(row['params']):,} | {fast:.2f} | {slow:.1f} | {slow / fast:.0f}x | {total:.2f} |")
    print()


def browser_side(cache: Path, rounds: int) -> None:
    from playwright.sync_api import sync_playwright

    from core import cache as model_cache

    key = min((summary for summary in model_cache.list_runs() if summary.config.task == "mnist"), key=lambda summary: summary.params).key
    # Only now: importing the tests' helpers points this process's cache at a temp folder (the server gets `cache`).
    from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, AppServer
    from tests.test_browser_draw import stroke, the_canvas

    digits = Path(tempfile.mkdtemp(prefix="neural-lab-bench-digits-"))
    os.environ["NEURAL_LAB_USER_DIGITS_DIR"] = str(digits)  # the server inherits it: drawings saved there, not in the repo
    server = AppServer(cache).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{server.url}/draw?run={key}")
            clears = 0
            shapes = {
                "1": [(140, 45 + 9 * i) for i in range(21)],
                "0": [(140 + 62 * np.sin(t * np.pi / 18), 140 - 95 * np.cos(t * np.pi / 18)) for t in range(38)],
            }
            timings: dict[str, list[float]] = {"1": [], "0": []}
            for round_index in range(rounds + 1):  # round 0 warms up (model load, first trace)
                for digit, points in shapes.items():
                    page.locator(".st-key-draw_clear button").click()
                    clears += 1  # Clear gives the canvas a new key: draw_canvas_<number of clears>
                    page.wait_for_function("() => !document.querySelector('.draw-prediction')")
                    started = stroke(page, the_canvas(page, clears=clears), points)
                    # any answer counts: a 1-epoch model may read the digit wrong, the latency is the same
                    page.wait_for_function("() => { const e = document.querySelector('.draw-prediction'); return e && e.innerText.trim() !== ''; }")
                    page.locator(".st-key-draw_probabilities .main-svg").first.wait_for()
                    if round_index:
                        timings[digit].append((time.perf_counter() - started) * 1000)
            browser.close()
        values = timings["1"] + timings["0"]
        print(f"## Browser: mouse-up -> prediction and probability chart shown ({len(values)} strokes, model {key})\n")
        print("| median ms | min ms | max ms |")
        print("|---:|---:|---:|")
        print(f"| {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} |\n")
    finally:
        server.stop()
        shutil.rmtree(digits, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, help="use the models of this cache folder (default: train two into a temp folder)")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="browser strokes per digit (1 and 0)")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    cache = ensure_models(args.cache)
    try:
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
        server_side(args.repeats)
        if not args.no_browser:
            browser_side(cache, args.rounds)
    finally:
        if args.cache is None:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
