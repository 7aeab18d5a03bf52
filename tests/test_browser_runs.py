"""The Runs page in a real browser lists a model trained through the CLI, below the background
trainings of everyone (tests/test_browser_jobs.py cancels one there)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import train_in_subprocess, wait_for_app

pytestmark = pytest.mark.browser
SLOW = 180_000  # ms: the first page of a fresh server imports TensorFlow; a busy machine is slow


def test_runs_page_lists_a_trained_model(app_server, browser_cache, page):
    summary = train_in_subprocess(browser_cache, "--preset", "seed001-dnn", "--epochs", "2", "--quiet")
    page.set_default_timeout(SLOW)
    page.goto(f"{app_server.url}/runs")
    wait_for_app(page, SLOW)
    page.get_by_role("heading", name="Background trainings").wait_for()
    page.get_by_text("Cached models").first.wait_for()
    table = page.locator("[data-testid=stDataFrame]")
    table.wait_for()
    # The data grid draws on a canvas; its accessible copy holds the cell text.
    page.wait_for_function(f"() => document.body.innerText.includes('{summary['key']}') || "
                           f"[...document.querySelectorAll('[data-testid=stDataFrame] *')].some(e => (e.textContent || '').includes('{summary['key']}'))")
    assert page.locator("[data-testid=stException]").count() == 0


def test_runs_filter_filters(app_server, browser_cache, page, output_dir):
    summary = train_in_subprocess(browser_cache, "--layers", "1", "--units", "8", "--epochs", "1", "--batch-size", "256", "--quiet")
    page.set_default_timeout(SLOW)
    page.goto(f"{app_server.url}/runs")
    wait_for_app(page, SLOW)
    page.locator("[data-testid=stDataFrame]").wait_for()
    page.get_by_text("Select a run").first.wait_for()  # the hint while nothing is selected
    box = page.get_by_label("Filter runs", exact=True)
    box.fill(summary["key"])
    box.press("Enter")
    wait_for_app(page, SLOW)
    page.get_by_text(re.compile(r"Showing 1( of \d+)? cached runs?")).wait_for()
    box.fill("no run is called this")
    box.press("Enter")
    wait_for_app(page, SLOW)
    page.get_by_text("No run matches").wait_for()
    assert page.locator("[data-testid=stDataFrame]").count() == 0
    assert page.get_by_label("Filter runs", exact=True).input_value() == "no run is called this"  # still there, to change
    page.screenshot(path=str(output_dir / "runs-filter-nothing.png"), full_page=True)
    box.fill("")
    box.press("Enter")
    wait_for_app(page, SLOW)
    page.locator("[data-testid=stDataFrame]").wait_for()
    assert page.locator("[data-testid=stException]").count() == 0
