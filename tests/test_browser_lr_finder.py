"""The learning-rate finder in Chromium: run the range test of a tiny MLP from the Train page, the
loss-vs-learning-rate chart appears with its suggestion, and "Use this learning rate" moves the
sidebar's learning-rate slider (and the address) to it."""

from __future__ import annotations

import os
import re

import pytest

from tests.helpers import REPO, wait_for_app

pytestmark = pytest.mark.browser

# Each try gets its own seed (a new configuration), so a retry does not find the first try's result cached.
START = "layers=1&units=16&epochs=2&batch_size=256"
SUGGESTED = re.compile(r"Suggested learning rate: ([0-9.e-]+)")


def _learning_rate_slider(page):
    return page.locator("[data-testid=stSidebar] [data-testid=stSlider]").filter(has_text="Learning rate").locator("input[type=range]")


def test_range_test_draws_its_chart_and_use_this_sets_the_slider(app_server, page, output_dir):
    page.goto(f"{app_server.url}/train?{START}&seed={int.from_bytes(os.urandom(3), 'little')}")
    wait_for_app(page)
    page.get_by_text("has not been trained yet").wait_for()
    assert _learning_rate_slider(page).get_attribute("aria-valuetext") == "0.001"

    page.get_by_text("Find a learning rate").click()
    page.get_by_role("button", name="Run the range test").click()
    suggestion = page.get_by_text(SUGGESTED)
    suggestion.wait_for(timeout=180_000)  # queued, a worker runs ~100 batches, the page reruns once
    wanted = SUGGESTED.search(suggestion.inner_text()).group(1)
    expander = page.locator("[data-testid=stExpander]").filter(has_text="Find a learning rate")
    chart = expander.locator("[data-testid=stPlotlyChart]")
    chart.wait_for()
    assert chart.locator(".scatterlayer .trace").count() >= 3  # raw, smoothed, the suggestion (and the lowest point)
    assert expander.get_by_text(f"suggested: {wanted}").count()  # the legend names the marked value
    expander.screenshot(path=str(output_dir / "lr-finder.png"))
    if os.environ.get("NEURAL_LAB_SAVE_DOCS_SCREENSHOTS"):
        expander.screenshot(path=str(REPO / "docs" / "lr-finder.png"))

    page.get_by_role("button", name=re.compile("Use this learning rate")).click()
    page.get_by_text(f"Learning rate set to {wanted} in the form").wait_for()
    assert _learning_rate_slider(page).get_attribute("aria-valuetext") == wanted
    assert f"learning_rate={wanted}" in page.url
    page.get_by_text("has not been trained yet").wait_for()  # nothing trained: the new rate is a new combination
