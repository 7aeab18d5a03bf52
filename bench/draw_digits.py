"""Draw the ten digits with the mouse on the Draw page and report what a cached model reads.

    python -m bench.draw_digits --cache-dir /tmp/neural-lab-bench-cache --key 9e4e09c77dc768a6

A check by hand made repeatable (the `best` issue's "the draw page reads clearly drawn digits"):
starts `streamlit run dashboard/app.py` on that cache, opens /draw?run=<key> in Debian's
Chromium, draws each digit as mouse strokes on the real canvas (a plain, clearly written
style: one or two strokes per digit), and prints a markdown table of digit, answer and
confidence. Screenshots go to --out. Nothing is asserted; the model is never trained here.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from bench.common import offline_environment
from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, AppServer, wait_for_app
from tests.test_browser_draw import stroke, the_canvas, wait_for_charts

REPO = Path(__file__).resolve().parent.parent


def line(points: list[tuple[float, float]], steps: int = 6) -> list[tuple[float, float]]:
    """A polyline through `points` (canvas pixels, 280x280), sampled `steps` times per segment."""
    out = [(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps) for (x0, y0), (x1, y1) in zip(points, points[1:]) for i in range(steps)]
    return out + [points[-1]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 24) -> list[tuple[float, float]]:
    """An elliptical arc; angles in degrees, 0 = straight up, growing clockwise."""
    angles = [math.radians(start + (end - start) * i / steps) for i in range(steps + 1)]
    return [(cx + rx * math.sin(a), cy - ry * math.cos(a)) for a in angles]


# Each digit: its strokes (press, drag through the points, release).
DIGITS: dict[str, list[list[tuple[float, float]]]] = {
    "0": [arc(140, 140, 62, 95, 0, 370, 38)],
    "1": [line([(140, 45), (140, 235)])],
    "2": [arc(140, 100, 50, 45, -70, 110, 18) + line([(185, 130), (90, 225), (205, 225)])],
    "3": [arc(135, 95, 50, 42, -60, 180, 18) + arc(135, 180, 55, 45, 0, 225, 18)],
    "4": [line([(155, 45), (80, 165), (215, 165)]), line([(170, 95), (170, 240)])],
    "5": [line([(195, 50), (105, 50), (100, 125)]) + arc(135, 170, 60, 52, -60, 220, 20)],
    "6": [line([(175, 45), (115, 115), (92, 180)]) + arc(140, 185, 48, 45, 250, 610, 24)],
    "7": [line([(80, 55), (205, 55), (125, 240)])],
    "8": [[(140 + 55 * math.sin(t * math.pi / 12), 140 - 92 * math.cos(t * math.pi / 24)) for t in range(49)]],
    "9": [arc(135, 95, 48, 45, 90, 450, 24) + line([(183, 95), (175, 240)])],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", type=Path, required=True, help="the cache folder holding the model")
    parser.add_argument("--key", required=True, help="the cached model's key (python -m core ls)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/neural-lab-draw-digits"), help="screenshots folder")
    args = parser.parse_args(argv)
    if not (args.cache_dir / args.key).is_dir():
        parser.error(f"no cached model {args.key} in {args.cache_dir}")
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    offline_environment()
    os.environ["NEURAL_LAB_USER_DIGITS_DIR"] = tempfile.mkdtemp(prefix="neural-lab-bench-digits-")  # drawings saved there, not in the repo
    server = AppServer(args.cache_dir).start()
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(120_000)
            page.goto(f"{server.url}/draw?run={args.key}")
            wait_for_app(page)
            for clears, (digit, strokes) in enumerate(DIGITS.items()):
                if clears:
                    page.locator(".st-key-draw_clear button").click()
                    page.get_by_text("Draw a digit: there is no ink yet.").first.wait_for()
                    wait_for_app(page)
                canvas = the_canvas(page, clears=clears)
                for points in strokes:
                    stroke(page, canvas, points)
                    time.sleep(0.3)
                page.wait_for_selector(".draw-prediction")
                time.sleep(1.5)  # a second stroke's rerun may still be on its way
                wait_for_app(page)
                wait_for_charts(page)
                answer = page.locator(".draw-prediction").inner_text().strip()
                sure = re.search(r"(\d+)% sure", page.locator("[data-testid=stMarkdownContainer]", has_text="sure").first.inner_text())
                rows.append((digit, answer, f"{sure.group(1)} %" if sure else "?"))
                page.screenshot(path=str(args.out / f"digit-{digit}.png"))
                print(f"{digit} -> {answer}", file=sys.stderr, flush=True)
            browser.close()
    finally:
        server.stop()
    right = sum(digit == answer for digit, answer, _ in rows)
    print(f"Model `{args.key}`: {right} of {len(rows)} mouse-drawn digits read correctly (screenshots in {args.out}).\n")
    print("| drawn | read as | confidence |\n|---|---|---:|")
    print("\n".join(f"| {digit} | {answer} | {sure} |" for digit, answer, sure in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
