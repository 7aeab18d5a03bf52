"""Benchmark of the Misclassified explorer: opening the page for a cached model, and a gallery page.

    python -m bench.explorer [--preset NAME | --arch cnn --layers 2 --units 16,32 --epochs 1]

Trains the model into a temporary cache (never the real one), then times, in one process:
- the first opening (test predictions computed and stored with the entry),
- a second opening in a new session (predictions memoised in st.cache_data),
- an opening after the in-memory caches are cleared (a restarted server: predictions read from disk),
- a gallery of 48 cards (a page of the page), and building 50 card PNGs alone.
Prints a markdown table. Goal: a second opening < 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.testing.v1 import AppTest

from core import cache, evaluation
from core.config import RunConfig, decode_value
from core.presets import preset
from dashboard import state
from dashboard.charts import explorer as charts

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["NEURAL_LAB_OFFLINE"] = "1"
os.environ["NEURAL_LAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="neural-lab-bench-explorer-")

PAGE = str(REPO / "dashboard" / "app_pages" / "explorer.py")


def open_page(config: RunConfig, **extra: str) -> tuple[float, AppTest]:
    at = AppTest.from_file(PAGE, default_timeout=600)
    for name, value in {**state.encode(config, preset("base")), **extra}.items():
        at.query_params[name] = value
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return elapsed, at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=None)
    parser.add_argument("--arch", default="cnn")
    parser.add_argument("--layers", default="2")
    parser.add_argument("--units", default="16,32")
    parser.add_argument("--epochs", default="1")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.preset:
        config = preset(args.preset)
    else:
        config = preset("base").replace(**{name: decode_value(name, getattr(args, name)) for name in ("arch", "layers", "units", "epochs")})

    start = time.perf_counter()
    run = cache.get_or_train(config)
    train_seconds = time.perf_counter() - start
    import keras  # noqa: F401 - import TensorFlow before timing, as a running server already has

    first, _ = open_page(config)
    # AppTest rescans every installed package for Streamlit components on each new session (~2 s
    # here); a server does that once at start. Skip it after the first run so the numbers are the page's.
    from streamlit.components.v2 import component_manager

    component_manager.BidiComponentManager.discover_and_register_components = lambda self, *a, **k: None
    assert cache.load_artifact(config.key(), evaluation.PREDICTIONS_ARTIFACT) is not None
    empty_page = Path(os.environ["NEURAL_LAB_CACHE_DIR"]) / "empty_page.py"
    empty_page.write_text("import streamlit as st\nst.write('nothing')\n")
    overhead = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        AppTest.from_file(str(empty_page), default_timeout=60).run()
        overhead.append(time.perf_counter() - start)
    again = [open_page(config)[0] for _ in range(args.repeats)]
    restarted = []
    for _ in range(args.repeats):
        st.cache_data.clear()
        st.cache_resource.clear()
        restarted.append(open_page(config)[0])
    gallery = [open_page(config, sort="index")[0] for _ in range(2)]  # warm the path once more
    at = AppTest.from_file(PAGE, default_timeout=600)
    for name, value in state.encode(config, preset("base")).items():
        at.query_params[name] = value
    at.run()
    at.selectbox(key="explorer_page_size").select(48)
    start = time.perf_counter()
    at.run()
    gallery_48 = time.perf_counter() - start
    cards = len([b for b in at.button if b.key and b.key.startswith("open_")])

    predictions = evaluation.stored_predictions(config.key())
    from core.data import load_mnist

    images = load_mnist(config.dataset).x_test
    rows = evaluation.misclassified(predictions).head(50)
    card_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _, row in rows.iterrows():
            charts.png_bytes(charts.digit_card(images[int(row["index"])], predictions.probabilities[int(row["index"])], int(row["true"])))
        card_times.append(time.perf_counter() - start)

    print(f"## Misclassified explorer — {config.describe()} ({run.meta.get('params')} parameters, "
          f"{int(predictions.wrong.sum())} errors of {len(predictions)})\n")
    print(f"Model trained (or loaded) in {train_seconds:.1f} s; timings are AppTest runs of the whole page script "
          f"in one process with TensorFlow already imported (AppTest's per-session component scan skipped after "
          f"the first run, as a server does it once); median of {args.repeats}.\n")
    base = statistics.median(overhead)
    second = statistics.median(again)
    print("| what | seconds (AppTest) | seconds, net of AppTest's own cost |")
    print("|---|---|---|")
    print(f"| AppTest running an empty page (its own cost, subtracted on the right) | {base:.2f} | 0 |")
    print(f"| first opening (model loaded, predictions computed and stored) | {first:.2f} | {first - base:.2f} |")
    print(f"| second opening, new session (predictions memoised) | {second:.2f} | {second - base:.2f} |")
    print(f"| opening after a server restart (in-memory caches cleared, predictions read from disk) "
          f"| {statistics.median(restarted):.2f} | {statistics.median(restarted) - base:.2f} |")
    print(f"| rerun showing a gallery of {cards} cards | {gallery_48:.2f} | {gallery_48 - base:.2f} |")
    print(f"| building 50 card PNGs alone (no memo) | {statistics.median(card_times):.3f} | |")
    print(f"\nSecond opening / first opening: {second / first:.2f}x. Goal (second opening < 1 s, net): "
          f"{'met' if second - base < 1 else 'NOT met'}.")
    _ = gallery, np


if __name__ == "__main__":
    main()
