"""The Runs page in a real browser lists a model trained through the CLI, below the background
trainings of everyone (tests/test_browser_jobs.py cancels one there)."""

from __future__ import annotations

import pytest

from tests.helpers import train_in_subprocess, wait_for_app

pytestmark = pytest.mark.browser


def test_runs_page_lists_a_trained_model(app_server, browser_cache, page):
    summary = train_in_subprocess(browser_cache, "--preset", "seed001-dnn", "--epochs", "2", "--quiet")
    page.goto(f"{app_server.url}/runs")
    wait_for_app(page)
    page.get_by_role("heading", name="Background trainings").wait_for()
    page.get_by_text("Cached models").first.wait_for()
    table = page.locator("[data-testid=stDataFrame]")
    table.wait_for()
    # The data grid draws on a canvas; its accessible copy holds the cell text.
    page.wait_for_function(f"() => document.body.innerText.includes('{summary['key']}') || "
                           f"[...document.querySelectorAll('[data-testid=stDataFrame] *')].some(e => (e.textContent || '').includes('{summary['key']}'))")
    assert page.locator("[data-testid=stException]").count() == 0
