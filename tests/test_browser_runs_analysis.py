"""Runs page, "What mattered", in Chromium: with several cached tiny runs it shows the importance bars and
the Pareto charts, and a click on a Pareto point opens that very run on the Train page (from the cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO, wait_for_app

pytestmark = pytest.mark.browser
SLOW = 180_000  # ms: the first page of a fresh server imports TensorFlow; a busy machine is slow

# The clicked point's run key (its customdata) and where it sits on the screen, read from Plotly itself.
FRONT_POINT = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')].find(gd => (gd._fullData || []).some(t => t.name === 'Pareto front'));
  if (!plot) return null;
  const trace = plot._fullData.findIndex(t => t.name === 'Pareto front');
  const points = plot.querySelectorAll('.scatterlayer .trace')[trace].querySelectorAll('path.point');
  if (!points.length) return null;
  const last = points.length - 1, custom = plot._fullData[trace].customdata[last];
  return {key: Array.isArray(custom) ? custom[0] : custom, count: points.length};
}"""


def sweep_in_subprocess(cache, grid: str, *args: str) -> list[dict]:
    """`python -m core sweep --grid ... --json` into `cache` (one TensorFlow import for the whole grid)."""
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache))
    result = subprocess.run([sys.executable, "-m", "core", "sweep", "--grid", grid, *args, "--json", "--quiet"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importance_and_pareto_then_a_click_opens_that_run(app_server, browser_cache, page, output_dir):
    trials = sweep_in_subprocess(browser_cache, "layers=1,2 units=8,32 seed=0,1", "--epochs", "1", "--batch-size", "256")
    assert len(trials) == 8
    page.set_default_timeout(SLOW)
    page.goto(f"{app_server.url}/runs")
    wait_for_app(page, SLOW)
    page.get_by_text("Which knob moved test accuracy").wait_for()
    page.get_by_text("mattered most").or_(page.get_by_text("no knob explains")).first.wait_for()
    assert page.get_by_text("Importance needs at least").count() == 0  # 8 runs or more: the bars, not the note
    page.get_by_text("Which knob moved test accuracy").scroll_into_view_if_needed()
    page.locator(".js-plotly-plot .barlayer .point").first.wait_for()  # the importance bars are drawn
    page.get_by_text("Accuracy for its cost").first.scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({FRONT_POINT})() !== null")
    clicked = page.evaluate(FRONT_POINT)
    assert clicked["key"] in {trial["key"] for trial in trials} or len(clicked["key"]) == 16
    plot = page.locator(".js-plotly-plot").filter(has=page.locator(".legendtext", has_text="Pareto front")).first
    point = plot.locator(".scatterlayer .trace").nth(1).locator("path.point").nth(clicked["count"] - 1)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    target = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*target, steps=5)  # Plotly picks the point under the pointer on hover, then the click selects it
    page.wait_for_timeout(400)
    page.screenshot(path=str(output_dir / "runs-what-mattered-before-click.png"))
    page.mouse.click(*target)
    page.wait_for_url("**/train?**", timeout=60_000)
    wait_for_app(page, SLOW)
    page.get_by_text(clicked["key"]).first.wait_for()  # the Train page shows that run's model key: it loaded this run
    page.get_by_text("Loaded from cache").first.wait_for()
    assert page.locator("[data-testid=stException]").count() == 0
