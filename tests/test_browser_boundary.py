"""The decision-boundary page in Chromium: train XOR with 2 layers, scrub the replay, Play (slider, plot and
metrics agree), a small-multiples grid that completes (its button goes), click to add a point (also without
hovering first).

One server for the module, with a per-visitor bound of 2 queued trainings, so that a 3-cell grid meets it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from core.presets import BOUNDARY_DEFAULTS
from dashboard.state import full_params
from tests.helpers import AppServer, wait_for_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def boundary_cache():
    folder = Path(tempfile.mkdtemp(prefix="neural-lab-boundary-browser-"))
    yield folder
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def boundary_server(boundary_cache):
    server = AppServer(boundary_cache, env={"NEURAL_LAB_JOBS_MAX_PER_SESSION": "2"}).start()
    yield server
    server.stop()


def _titles(page) -> list[str]:
    return page.eval_on_selector_all(".js-plotly-plot .gtitle", "nodes => nodes.map(n => n.textContent || '')")


def _main_title(page) -> str:
    # The main plot is the first chart with a title (the live view inside the status box comes first while training).
    return next((t for t in _titles(page) if "final model" in t or "replay" in t or "not trained" in t), "")


def _replay_value(page) -> str:
    slider = page.locator("[data-testid=stSlider]").filter(has_text="Replay").get_by_role("slider")
    return slider.get_attribute("aria-valuetext") or slider.get_attribute("aria-valuenow") or ""


def _shown_epoch(page) -> str:
    texts = page.eval_on_selector_all("[data-testid=stMarkdownContainer]", "nodes => nodes.map(n => n.innerText)")
    return next((t.split()[-1] for t in texts if t.startswith("At epoch")), "")


def test_train_xor_scrub_replay_then_play_keeps_slider_plot_and_metrics_together(boundary_server, boundary_cache, page, output_dir):
    # XOR with 2 hidden layers (the page's defaults), kept small so it trains in seconds; a seed of
    # its own per try, so a retry trains again instead of finding the first try's model.
    config = BOUNDARY_DEFAULTS.replace(epochs=6, n_samples=80, batch_size=20, seed=int.from_bytes(os.urandom(3), "little"))
    page.goto(f"{boundary_server.url}/boundary?{urlencode(full_params(config))}")
    wait_for_app(page)
    page.get_by_text("has not been trained yet").wait_for()
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].some(t => t.textContent.includes('final model'))",
        timeout=180_000,
    )
    wait_for_app(page)
    job = json.loads((boundary_cache / ".jobs" / f"{config.key()}.json").read_text())  # a background job trained it
    assert job["state"] == "done" and not job["cached"] and len(job["history"]["loss"]) == 6, job["state"]
    assert page.locator(".js-plotly-plot .heatmaplayer").count() >= 1  # the probability heatmap is drawn
    page.screenshot(path=str(output_dir / "boundary-trained.png"), full_page=True)
    assert "after epoch 6" in _main_title(page)

    # Scrub the replay slider back to epoch 1: the figure changes to the recorded snapshot.
    slider = page.locator("[data-testid=stSlider]").filter(has_text="Replay").get_by_role("slider")
    slider.focus()
    slider.press("Home")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].some(t => t.textContent.includes('after epoch 1'))",
        timeout=60_000,
    )
    wait_for_app(page)
    assert "replay" in _main_title(page) and _replay_value(page) == "1" and _shown_epoch(page) == "1"

    # Play: when it ends, the slider, the plot and the metrics all show the last epoch (the slider used to stay at 1).
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].some(t => t.textContent.includes('final model'))",
        timeout=60_000,
    )
    wait_for_app(page)
    assert "after epoch 6" in _main_title(page)
    assert (_replay_value(page), _shown_epoch(page)) == ("6", "6")
    page.screenshot(path=str(output_dir / "boundary-after-play.png"), full_page=True)


def test_the_grid_button_disappears_once_the_grid_is_complete(boundary_server, page):
    # 1 layer x units 2, 4, 8: three cells, one more than the visitor may queue at once (2 on this server).
    config = BOUNDARY_DEFAULTS.replace(epochs=1, n_samples=40, batch_size=20, seed=int.from_bytes(os.urandom(3), "little"))
    page.goto(f"{boundary_server.url}/boundary?{urlencode(full_params(config))}")
    wait_for_app(page)
    page.get_by_text("Small multiples: compare architectures").click()
    layers = page.locator("[data-testid=stMultiSelect]").filter(has_text="Layers (rows)").locator("input")
    for _ in range(2):  # [1, 2, 3] -> [1]
        layers.click()
        layers.press("Backspace")
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
        wait_for_app(page)
    page.get_by_role("button", name="Train the 3 missing combination(s)").click()
    blank = "() => [...document.querySelectorAll('.js-plotly-plot .annotation-text')].filter(a => a.textContent.includes('not trained')).length"
    page.wait_for_function(f"() => ({blank})() === 0", timeout=240_000)
    wait_for_app(page)
    assert page.get_by_role("button", name=re.compile("missing combination")).count() == 0
    assert not page.get_by_text("not trained yet (blank cells)").count()


def test_click_on_the_plane_adds_a_point_also_without_hovering_first(boundary_server, page, output_dir):
    # Click on the plane: a point of the chosen class is added to the data and to the URL.
    page.goto(f"{boundary_server.url}/boundary?dataset=xor&layers=1&epochs=2&n_samples=40")
    wait_for_app(page)
    page.get_by_text("Retrain after each new point").click()  # keep the test short: no retraining
    page.wait_for_timeout(1500)  # let the rerun start before waiting for it to end
    wait_for_app(page)
    plot = page.locator(".js-plotly-plot").filter(has=page.locator(".gtitle", has_text=re.compile("not trained"))).first
    drag_area = plot.locator(".nsewdrag").first
    drag_area.wait_for(state="visible")
    box = drag_area.bounding_box()
    target = (box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2)
    page.mouse.move(*target, steps=5)
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
    # (drawn from float32 arrays: 8.57 comes back as 8.5699997)
    assert page.evaluate(find_stars) == [[[pytest.approx(float(x), abs=1e-4)], [pytest.approx(float(y), abs=1e-4)]]]

    # The plane was drawn anew under a mouse that has not moved since: press and release right there,
    # with no hover in between (a tap on a touch screen is the same). A second point is added.
    page.wait_for_timeout(500)
    page.mouse.down()
    page.mouse.up()
    page.wait_for_function("() => decodeURIComponent(window.location.search).split(';').length === 2", timeout=30_000)
    wait_for_app(page)
    page.get_by_text("2 point(s) of yours").wait_for()
    page.screenshot(path=str(output_dir / "boundary-user-point.png"), full_page=True)
