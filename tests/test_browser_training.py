"""The Training page in Chromium: move sliders, submit, watch the loss curve grow while the job trains
in the background, reload the address and get the same model from the cache."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from tests.helpers import POINTS_JS, wait_for_app

pytestmark = pytest.mark.browser

# ~220 batches per epoch x 12 epochs: long enough (5+ s here) to watch the curve grow. Each try gets
# its own seed (a new combination), so a retry does not find the first try's model in the cache.
START = "layers=1&units=16&epochs=12&batch_size=16"
# While the job is queued or trains, its panel ("Queued: …" / "Training: …") holds the Stop button.
RUNNING_JS = """() => document.body.innerText.includes('Stop training') && !document.body.innerText.includes('Trained in')"""
TRAINED = re.compile(r"Trained in [\d.]+ s in the background and cached — test accuracy")


def _slider(page, label: str):
    return page.locator("[data-testid=stSidebar] [data-testid=stSlider]").filter(has_text=label).locator("input[type=range]")


def test_curves_grow_while_training_and_the_address_reloads_from_cache(app_server, browser_cache, page, output_dir):
    # Train is the landing page: Streamlit serves the default page at "/" ("/train" shows "Page not found").
    page.goto(f"{app_server.url}/train?{START}&seed={int.from_bytes(os.urandom(3), 'little')}")
    wait_for_app(page)
    page.get_by_text("has not been trained yet").wait_for()

    layers = _slider(page, "Conv blocks")
    layers.focus()
    layers.press("ArrowRight")  # 1 -> 2 hidden layers
    dropout = _slider(page, "Dropout (dense layers)")
    dropout.focus()
    for _ in range(4):
        dropout.press("ArrowRight")  # 0 -> 0.2
    assert layers.get_attribute("aria-valuetext") == "2"

    page.locator("[data-testid=stSidebar]").get_by_role("button", name="Train / load").click()
    page.wait_for_function(RUNNING_JS, timeout=30_000)
    page.get_by_text("This training runs in the background").wait_for()
    samples: list[tuple[bool, int]] = []
    shot_taken = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        running = page.evaluate(RUNNING_JS)
        points = page.evaluate(POINTS_JS)
        samples.append((running, points))
        if running and 0 < points < 12 and not shot_taken:
            page.screenshot(path=str(output_dir / "training-live.png"), full_page=True)
            shot_taken = True
        if not running and page.get_by_text(TRAINED).count():
            break
        time.sleep(0.25)
    live_counts = sorted({p for running, p in samples if running and 0 < p < 12})
    assert len(live_counts) >= 2, f"the loss curve did not grow while training ran: {samples[-40:]}"

    assert "dropout=0.2" in page.url and "layers=1" not in page.url  # 2 layers is the default: left out
    page.get_by_text("Test accuracy").first.wait_for()
    key = page.locator("[data-testid=stMain] code").filter(has_text=re.compile(r"^[0-9a-f]{16}$")).first.inner_text()
    job = json.loads((browser_cache / ".jobs" / f"{key}.json").read_text())  # one background job trained it
    assert job["state"] == "done" and not job["cached"] and len(job["history"]["loss"]) == 12, job["state"]
    assert (browser_cache / key / "meta.json").is_file()
    page.wait_for_function(f"() => ({POINTS_JS})() === 12", timeout=20_000)
    page.screenshot(path=str(output_dir / "training-done.png"), full_page=True)

    page.reload()
    wait_for_app(page)
    badge = page.get_by_text(re.compile("Loaded from cache — trained"))
    badge.wait_for()
    assert "12 epochs" in badge.inner_text()
    assert _slider(page, "Conv blocks").get_attribute("aria-valuetext") == "2"
    assert _slider(page, "Dropout (dense layers)").get_attribute("aria-valuetext") == "0.20"
    page.wait_for_function(f"() => ({POINTS_JS})() === 12", timeout=20_000)
    page.screenshot(path=str(output_dir / "training-reloaded.png"), full_page=True)
