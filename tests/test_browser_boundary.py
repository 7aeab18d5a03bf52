"""The decision-boundary page in Chromium: train XOR with 2 layers, scrub the replay, click to add a point."""

from __future__ import annotations

import json
import os
import re
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from core.presets import BOUNDARY_DEFAULTS
from dashboard.state import full_params
from tests.helpers import wait_for_app


def _main_title(page) -> str:
    # The main plot is the first chart with a title (the live view inside the status box comes first while training).
    titles = page.eval_on_selector_all(".js-plotly-plot .gtitle", "nodes => nodes.map(n => n.textContent || '')")
    return next((t for t in titles if "final model" in t or "replay" in t or "not trained" in t), "")


@pytest.mark.browser
def test_train_xor_scrub_replay_and_click_to_add_a_point(app_server, browser_cache, page, output_dir):
    # XOR with 2 hidden layers (the page's defaults), kept small so it trains in seconds; a seed of
    # its own per try, so a retry trains again instead of finding the first try's model.
    config = BOUNDARY_DEFAULTS.replace(dataset="xor", layers=2, epochs=6, n_samples=80, batch_size=20, seed=int.from_bytes(os.urandom(3), "little"))
    page.goto(f"{app_server.url}/boundary?{urlencode(full_params(config))}")
    wait_for_app(page)
    page.get_by_text("has not been trained yet").wait_for()
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].some(t => t.textContent.includes('final model'))",
        timeout=180_000,
    )
    wait_for_app(page)
    job = json.loads((browser_cache / ".jobs" / f"{config.key()}.json").read_text())  # a background job trained it
    assert job["state"] == "done" and not job["cached"] and len(job["history"]["loss"]) == 6, job["state"]
    assert page.locator(".js-plotly-plot .heatmaplayer").count() >= 1  # the probability heatmap is drawn
    page.screenshot(path=str(output_dir / "boundary-trained.png"), full_page=True)
    before = _main_title(page)
    assert "after epoch 6" in before

    # Scrub the replay slider back to epoch 1: the figure changes to the recorded snapshot.
    slider = page.locator("[data-testid=stSlider]").filter(has_text="Replay").get_by_role("slider")
    slider.focus()
    slider.press("Home")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].some(t => t.textContent.includes('after epoch 1'))",
        timeout=60_000,
    )
    wait_for_app(page)
    assert "replay" in _main_title(page)
    page.screenshot(path=str(output_dir / "boundary-replay-epoch1.png"), full_page=True)


@pytest.mark.browser
def test_click_on_the_plane_adds_a_point(app_server, page, output_dir):
    # Click on the plane: a point of the chosen class is added to the data and to the URL.
    page.goto(f"{app_server.url}/boundary?dataset=xor&layers=1&epochs=2&n_samples=40")
    wait_for_app(page)
    page.get_by_text("Retrain after each new point").click()  # keep the test short: no retraining
    page.wait_for_timeout(1500)  # let the rerun start before waiting for it to end
    wait_for_app(page)
    plot = page.locator(".js-plotly-plot").filter(has=page.locator(".gtitle", has_text=re.compile("not trained"))).first
    drag_area = plot.locator(".nsewdrag").first
    drag_area.wait_for(state="visible")
    box = drag_area.bounding_box()
    target = (box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2)
    page.mouse.move(*target, steps=5)  # Plotly picks the clicked point from the hover it computed
    page.wait_for_timeout(400)
    page.mouse.click(*target)
    page.wait_for_function("() => window.location.search.includes('user_points')", timeout=60_000)
    wait_for_app(page)
    points = parse_qs(urlparse(page.url).query)["user_points"][0]
    x, y, label = points.split(":")
    assert float(x) > 0 and float(y) > 0 and label == "1"  # upper right of the plane, class 1 (the default)
    page.get_by_text("1 point(s) of yours").wait_for()
    # The new point is drawn as a star of class 1 where the click was.
    find_stars = (
        "() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(gd => (gd._fullData || [])"
        ".filter(t => t.name === 'yours · class 1').map(t => [Array.from(t.x), Array.from(t.y)]))"
    )
    page.wait_for_function(f"() => ({find_stars})().length > 0", timeout=30_000)
    assert page.evaluate(find_stars) == [[[float(x)], [float(y)]]]
    page.screenshot(path=str(output_dir / "boundary-user-point.png"), full_page=True)
