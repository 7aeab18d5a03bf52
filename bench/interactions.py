"""How long a student waits after each interaction, in a real browser (Chromium), median and max of N tries.

    nice -n 5 .venv/bin/python -m bench.interactions                  # temp cache, tiny models, 10 tries each
    .venv/bin/python -m bench.interactions --tries 20 --only draw explorer
    .venv/bin/python -m bench.interactions --out bench/RESULTS-interactions.md

Steps (each timed from the browser event to what the student sees, the script run finished):
- draw: canvas mouse-up -> the probability bars show the new answer and the run has finished;
- explorer: a confusion-matrix cell click -> the gallery shows only that pair;
- replay: one step of the Decision boundaries replay slider -> the heatmap changed;
- runs: typing in the Runs page's filter -> the table changed;
- open-train / open-explorer: a shared address of a cached model in a new tab -> the page's main chart
  drawn (Train: both loss curves; Misclassified digits: the confusion matrix).
A step whose page lacks the widget (e.g. built by another issue) is reported as "not available" and
the others still run. Models are trained into a temporary cache (never the real cached_models/).
Each interaction's time is also split three ways from the page's own WebSocket frames (timed in the
browser, so the split is exact however slow the machine): input (event -> the browser sends the
rerun request: widget or component debounce), server (-> the last message of the answer arrives:
the script or fragment run plus transfer) and drawing (-> the answer is on screen).
Prints a markdown table (and writes it with --out); nothing is asserted (timings belong here).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.common import offline_environment
from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, REPO, AppServer, train_in_subprocess, wait_for_app

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
offline_environment()

GOALS = {  # (median, max) in seconds, from issue #16
    "draw": (0.5, 1.0), "explorer": (0.5, 1.0), "replay": (0.5, 1.0), "runs": (0.5, 1.0),
    "open-train": (1.5, None), "open-explorer": (1.5, None),
}
WHAT = {
    "draw": "canvas mouse-up -> probabilities updated, run finished",
    "explorer": "confusion cell click -> gallery filtered",
    "replay": "replay step (Decision boundaries) -> heatmap changed",
    "runs": "Runs filter typed -> table changed",
    "open-train": "shared address, new tab -> Train: both loss curves drawn",
    "open-explorer": "shared address, new tab -> Misclassified digits: confusion matrix drawn",
}

MLP_ARGS = ("--arch", "mlp", "--layers", "1", "--units", "128", "--epochs", "5", "--batch-size", "64")
CNN_ARGS = ("--arch", "cnn", "--layers", "1", "--units", "4", "--epochs", "1")


# Every WebSocket frame the page sends or receives, timed in the page (performance.now()).
SOCKET_LOG_JS = """
window.__benchFrames = [];
const BenchSocket = window.WebSocket;
window.WebSocket = class extends BenchSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', () => window.__benchFrames.push(['in', performance.now()]));
  }
  send(data) { window.__benchFrames.push(['out', performance.now()]); return super.send(data); }
};
window.addEventListener('mouseup', () => { window.__benchMouseUp = performance.now(); }, true);
"""

# (input, server, drawing) seconds of one interaction from the frames between `started` and `done`.
SPLIT_JS = """([started, done]) => {
  const frames = (window.__benchFrames || []).filter(([, t]) => t >= started && t <= done);
  window.__benchFrames = [];
  const sent = frames.find(([kind]) => kind === 'out');
  const received = frames.filter(([kind]) => kind === 'in');
  if (!sent || !received.length) return null;
  const last = received[received.length - 1][1];
  return [(sent[1] - started) / 1000, (last - sent[1]) / 1000, (done - last) / 1000];
}"""

SPLITS: dict[str, list[tuple[float, float, float]]] = {}  # step -> (input, server, drawing) per try


def page_now(page) -> float:
    """The page's clock (ms), to bracket an interaction for SPLIT_JS."""
    return page.evaluate("() => { window.__benchFrames = []; return performance.now(); }")


def record_split(page, step: str, started: float) -> None:
    split = page.evaluate(SPLIT_JS, [started, page.evaluate("performance.now()")])
    if split is not None:
        SPLITS.setdefault(step, []).append(tuple(split))


class NotAvailable(Exception):
    """The page has no such widget (yet): the step is skipped and reported."""


# -- browser probes ---------------------------------------------------------------------------

# A cheap signature of a plotly chart's data (changes when the bars / heatmap change), or null.
SIGNATURE_JS = """(selector) => {
  const plot = document.querySelector(selector);
  if (!plot || !plot.data) return null;
  // plot.data keeps what the server sent (numpy arrays arrive as {dtype, bdata} objects): hash its y and z.
  const text = JSON.stringify(plot.data.map(t => [t.type, t.y, t.z]));
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
  return text.length + ':' + hash;
}"""

# Page coordinates of the centre of the confusion matrix's cell (true, predicted).
CELL_JS = """([t, p]) => {
  const plot = document.querySelector('.st-key-explorer_confusion .js-plotly-plot');
  if (!plot || !plot._fullLayout) return null;
  const layout = plot._fullLayout, box = plot.getBoundingClientRect();
  return {x: box.left + layout.xaxis._offset + layout.xaxis.l2p(p), y: box.top + layout.yaxis._offset + layout.yaxis.l2p(t)};
}"""

# The two largest off-diagonal cells (true, predicted), from the error heatmap's z values.
TWO_CELLS_JS = """() => {
  const plot = document.querySelector('.st-key-explorer_confusion .js-plotly-plot');
  if (!plot || !plot.data) return null;
  // The error heatmap's text holds the counts (rows = true, columns = predicted; '' for none).
  const text = plot.data.filter(t => t.type === 'heatmap')[1].text;
  const cells = [];
  Array.from(text).forEach((row, t) => Array.from(row).forEach((label, p) => {
    const n = parseInt(label, 10);
    if (t !== p && n > 0) cells.push([n, t, p]);
  }));
  cells.sort((a, b) => b[0] - a[0]);
  return cells.length >= 2 ? [cells[0].slice(1), cells[1].slice(1)] : null;
}"""

# Train page: some chart has both loss curves drawn.
TRAIN_CURVES_JS = """() => Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')).some(plot => {
  // A chart with at least two line traces actually drawn (train and validation loss).
  const lines = Array.from(plot.querySelectorAll('.scatterlayer .trace path.js-line'))
    .filter(path => (path.getAttribute('d') || '').length > 10);
  return lines.length >= 2;
})"""

# Misclassified digits: the confusion matrix's heatmaps are painted.
CONFUSION_DRAWN_JS = """() => document.querySelectorAll('.st-key-explorer_confusion .js-plotly-plot .heatmaplayer image').length >= 2"""

IDLE_JS = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  const status = document.querySelector('[data-testid=stStatusWidget]');
  return !status || !status.innerText.includes('Running');
}"""


def settle(page) -> None:
    wait_for_app(page, timeout=180_000)


def wait_changed(page, selector: str, before, timeout: float = 30_000) -> None:
    page.wait_for_function(f"([s, b]) => {{ const v = ({SIGNATURE_JS})(s); return v !== null && v !== b; }}",
                           arg=[selector, before], timeout=timeout, polling="raf")


def wait_idle(page, timeout: float = 30_000) -> None:
    page.wait_for_function(IDLE_JS, timeout=timeout, polling="raf")


# -- steps: each returns a list of seconds ----------------------------------------------------


def bench_draw(page, url: str, key: str, tries: int) -> list[float]:
    page.goto(f"{url}/draw?run={key}")
    settle(page)
    bars = ".st-key-draw_probabilities .js-plotly-plot"
    times = []
    for attempt in range(tries):
        clears = attempt
        canvas = page.locator(f".st-key-draw_canvas_{clears} canvas.upper-canvas")
        canvas.wait_for(timeout=60_000)
        time.sleep(0.3)  # the canvas finishes mounting
        box = canvas.bounding_box()
        # An untimed first stroke: a vertical bar (a "1")
        _stroke(page, box, [(140, 50), (140, 230)])
        page.wait_for_selector(bars, timeout=60_000)
        settle(page)
        before = page.evaluate(SIGNATURE_JS, bars)
        page_now(page)
        released = _stroke(page, box, [(70, 60), (140, 55), (210, 60)])  # the timed stroke turns it into a 7
        wait_changed(page, bars, before)
        wait_idle(page)
        times.append(time.perf_counter() - released)
        record_split(page, "draw", page.evaluate("window.__benchMouseUp"))  # the split starts at the page's mouse-up
        page.locator(".st-key-draw_clear").get_by_role("button", name="Clear").first.click()  # a new, empty canvas
        settle(page)
    return times


def _stroke(page, box, points) -> float:
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    page.mouse.up()
    return time.perf_counter()


def bench_explorer(page, url: str, query: str, tries: int) -> list[float]:
    page.goto(f"{url}/explorer?{query}")
    settle(page)
    page.wait_for_function(CONFUSION_DRAWN_JS, timeout=120_000)
    cells = page.evaluate(TWO_CELLS_JS)
    if not cells:
        raise NotAvailable("the model makes errors in fewer than two confusion cells")
    times = []
    for attempt in range(tries):
        true_class, predicted_class = cells[attempt % 2]
        page.evaluate("() => document.querySelector('.st-key-explorer_confusion').scrollIntoView({block: 'center'})")
        point = page.evaluate(CELL_JS, [true_class, predicted_class])
        wanted = f"for true {true_class} / predicted {predicted_class}"
        clock = page_now(page)
        started = time.perf_counter()
        page.mouse.click(point["x"], point["y"])
        # Polled every animation frame: a locator's wait_for polls at 0.02-0.5 s intervals, which added up to
        # half a second to a measured answer.
        page.wait_for_function("(text) => document.body.innerText.includes(text)", arg=wanted, timeout=30_000,
                               polling="raf")
        wait_idle(page)
        times.append(time.perf_counter() - started)
        record_split(page, "explorer", clock)
        time.sleep(0.2)
    return times


def bench_replay(page, url: str, query: str, tries: int) -> list[float]:
    page.goto(f"{url}/boundary?{query}")
    settle(page)
    slider = page.locator("[data-testid=stSlider]").filter(has_text="Replay")
    if slider.count() == 0:
        raise NotAvailable("no 'Replay' slider on the Decision boundaries page")
    thumb = slider.first.locator("input[type=range], [role=slider]").first  # Streamlit >= 1.5x: a range input
    # The boundary heatmap: the first chart holding a heatmap trace.
    with contextlib.suppress(Exception):
        page.wait_for_function("""() => Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot'))
          .some(p => p.data && p.data.some(t => t.type === 'heatmap' || t.type === 'contour'))""", timeout=60_000)
    selector = page.evaluate("""() => {
      const plots = Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot'));
      const index = plots.findIndex(p => p.data && p.data.some(t => t.type === 'heatmap' || t.type === 'contour'));
      if (index < 0) return null;
      plots[index].setAttribute('data-bench-boundary', '1');
      return '[data-bench-boundary="1"]';
    }""")
    if selector is None:
        raise NotAvailable("no boundary heatmap")
    times = []
    for attempt in range(tries):
        target = page.evaluate("() => document.querySelector('[data-bench-boundary]') !== null")
        if not target:  # the chart element was replaced by a rerun: mark the new one
            page.evaluate("""() => { const p = Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot'))
              .find(p => p.data && p.data.some(t => t.type === 'heatmap' || t.type === 'contour'));
              if (p) p.setAttribute('data-bench-boundary', '1'); }""")
        before = page.evaluate(SIGNATURE_JS, selector)
        thumb.focus()
        clock = page_now(page)
        started = time.perf_counter()
        page.keyboard.press("ArrowLeft" if attempt % 2 == 0 else "ArrowRight")
        page.wait_for_function(
            f"""(b) => {{ const p = Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot'))
              .find(p => p.data && p.data.some(t => t.type === 'heatmap' || t.type === 'contour'));
              if (!p) return false; p.setAttribute('data-bench-boundary', '1');
              const v = ({SIGNATURE_JS})('[data-bench-boundary="1"]'); return v !== null && v !== b; }}""",
            arg=before, timeout=30_000, polling="raf")
        wait_idle(page)
        times.append(time.perf_counter() - started)
        record_split(page, "replay", clock)
        time.sleep(0.2)
    return times


ROWS_JS = """() => {
  // The table (its keyed container: a new filter gives it a new key), its row count when the grid says it,
  // and the "Showing N of M" line beside it.
  const frame = document.querySelector('[data-testid=stDataFrame]');
  if (!frame) return null;
  const keyed = frame.closest('[class*="st-key-runs_table"]');
  const grid = frame.querySelector('[aria-rowcount]');
  const shown = Array.from(document.querySelectorAll('[data-testid=stCaptionContainer]'))
    .map(e => e.innerText).find(t => t.startsWith('Showing')) || '';
  return [keyed ? keyed.className : '', grid ? grid.getAttribute('aria-rowcount') : '', shown].join('|');
}"""


def bench_runs(page, url: str, terms: tuple[str, str], tries: int) -> list[float]:
    page.goto(f"{url}/runs")
    settle(page)
    with contextlib.suppress(Exception):
        page.locator("[data-testid=stTextInput]").first.wait_for(timeout=60_000)
    box = page.locator("[data-testid=stTextInput]").filter(has_text="ilter")
    if box.count() == 0:
        box = page.locator("[data-testid=stTextInput]").filter(has_text="earch")
    if box.count() == 0:
        raise NotAvailable("no filter text box on the Runs page")
    field = box.first.locator("input")
    page.wait_for_function(f"() => ({ROWS_JS})() !== null", timeout=60_000)
    times = []
    for attempt in range(tries):
        before = page.evaluate(ROWS_JS)
        field.fill(terms[attempt % 2])
        clock = page_now(page)
        started = time.perf_counter()
        field.press("Enter")
        page.wait_for_function(f"(b) => {{ const v = ({ROWS_JS})(); return v !== null && v !== b; }}", arg=before,
                               timeout=30_000, polling="raf")
        wait_idle(page)
        times.append(time.perf_counter() - started)
        record_split(page, "runs", clock)
    return times


def bench_open(context, url: str, path: str, drawn_js: str, tries: int) -> list[float]:
    times = []
    for _ in range(tries):
        tab = context.new_page()
        started = time.perf_counter()
        tab.goto(f"{url}{path}")
        tab.wait_for_function(drawn_js, timeout=120_000, polling="raf")
        times.append(time.perf_counter() - started)
        with contextlib.suppress(Exception):
            wait_idle(tab)
        tab.close()
    return times


# -- main -------------------------------------------------------------------------------------


def train_models(cache: Path) -> dict[str, str]:
    """Tiny models into `cache`: an MLP (Draw, Train), a CNN (Misclassified digits), the boundary default (30 epochs)."""
    from core.presets import BOUNDARY_DEFAULTS, preset
    from dashboard import state

    print(f"training the benchmark's models into {cache} …", file=sys.stderr)
    mlp = train_in_subprocess(cache, *MLP_ARGS)["key"]
    cnn = train_in_subprocess(cache, *CNN_ARGS)["key"]
    toy = BOUNDARY_DEFAULTS.replace(epochs=30)
    code = ("from core.cache import get_or_train; from core.presets import BOUNDARY_DEFAULTS; "
            "get_or_train(BOUNDARY_DEFAULTS.replace(epochs=30))")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache)),
                   check=True, capture_output=True, timeout=600)
    from core.cache import read_meta

    os.environ["NEURAL_LAB_CACHE_DIR"] = str(cache)
    configs = {key: read_meta(key)["config"] for key in (mlp, cnn)}

    def query(config, defaults) -> str:
        return "&".join(f"{name}={value}" for name, value in state.encode(config, defaults).items())

    return {
        "mlp": mlp, "cnn": cnn,
        "explorer_query": query(configs[cnn], preset("base")),
        "train_query": query(configs[mlp], preset("base")),
        "boundary_query": query(toy, BOUNDARY_DEFAULTS),
    }


def summary_rows(results: dict[str, list[float] | str]) -> list[str]:
    rows = ["| interaction | tries | median s | max s | goal (median / max) | met |", "|---|---|---|---|---|---|"]
    for step, values in results.items():
        goal_median, goal_max = GOALS[step]
        goal = f"< {goal_median} / " + (f"< {goal_max}" if goal_max else "–")
        if isinstance(values, str):
            rows.append(f"| {WHAT[step]} | – | – | – | {goal} | not available: {values} |")
            continue
        median, worst = statistics.median(values), max(values)
        met = median < goal_median and (goal_max is None or worst < goal_max)
        rows.append(f"| {WHAT[step]} | {len(values)} | {median:.2f} | {worst:.2f} | {goal} | {'yes' if met else 'NO'} |")
    return rows


def split_rows() -> list[str]:
    """Median seconds of each part of the wait (see the module's docstring)."""
    if not SPLITS:
        return []
    rows = ["| interaction | input s | server s | drawing s |", "|---|---|---|---|"]
    for step, splits in SPLITS.items():
        parts = [statistics.median(part) for part in zip(*splits, strict=True)]
        rows.append(f"| {WHAT[step]} | " + " | ".join(f"{value:.2f}" for value in parts) + " |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--only", nargs="*", choices=list(GOALS), default=list(GOALS))
    parser.add_argument("--cache", type=Path, default=None, help="an existing cache to train the bench models into")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown table here")
    parser.add_argument("--screenshots", action="store_true", help="save test-output/bench-interactions-<step>.png")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    cache = args.cache or Path(tempfile.mkdtemp(prefix="neural-lab-bench-interactions-"))
    models = train_models(cache)
    load_at_start = os.getloadavg()[0]
    server = AppServer(cache).start()
    results: dict[str, list[float] | str] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(SOCKET_LOG_JS)
            page = context.new_page()
            page.set_default_timeout(60_000)
            # Warm the server (TensorFlow, the models, the test predictions): the bench times interactions, not first loads.
            for path in (f"/draw?run={models['mlp']}", f"/explorer?{models['explorer_query']}", f"/train?{models['train_query']}"):
                page.goto(f"{server.url}{path}")
                settle(page)
            steps: dict[str, Callable[[], list[float]]] = {
                "draw": lambda: bench_draw(page, server.url, models["mlp"], args.tries),
                "explorer": lambda: bench_explorer(page, server.url, models["explorer_query"], args.tries),
                "replay": lambda: bench_replay(page, server.url, models["boundary_query"], args.tries),
                "runs": lambda: bench_runs(page, server.url, ("cnn", "mlp"), args.tries),
                "open-train": lambda: bench_open(context, server.url, f"/train?{models['train_query']}", TRAIN_CURVES_JS, args.tries),
                "open-explorer": lambda: bench_open(context, server.url, f"/explorer?{models['explorer_query']}",
                                                    CONFUSION_DRAWN_JS, args.tries),
            }
            for step in args.only:
                print(f"{step} …", file=sys.stderr)
                try:
                    results[step] = steps[step]()
                except NotAvailable as reason:
                    results[step] = str(reason)
                except Exception as error:  # noqa: BLE001 - one broken step must not hide the others' numbers
                    traceback.print_exc()
                    results[step] = f"failed ({type(error).__name__}: {str(error).splitlines()[0][:120]})"
                if args.screenshots:
                    with contextlib.suppress(Exception):
                        page.screenshot(path=str(REPO / "test-output" / f"bench-interactions-{step}.png"), full_page=True)
                if not isinstance(results[step], str):
                    print(f"  {step}: " + ", ".join(f"{value:.2f}" for value in results[step]), file=sys.stderr)
            browser.close()
    finally:
        server.stop()
    lines = [
        f"## Interactions in Chromium ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average "
        f"{load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)", "",
        f"`python -m bench.interactions --tries {args.tries}`: a Streamlit server on a temporary cache (tiny MLP for Draw and "
        "Train, tiny CNN for Misclassified digits, the boundary default for 30 epochs), headless Chromium; each time runs "
        "from the browser event to the page showing the answer with the script run finished.", "",
        *summary_rows(results), "",
        *([ "Where the wait goes (medians; from the page's WebSocket frames): input = event -> the browser sends the "
            "rerun request, server = -> the answer's last message arrives, drawing = -> the answer is on screen.", "",
            *split_rows(), ""] if SPLITS else []),
        "Raw seconds: " + "; ".join(f"{step}: " + (", ".join(f"{v:.2f}" for v in values) if not isinstance(values, str) else values)
                                    for step, values in results.items()),
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
