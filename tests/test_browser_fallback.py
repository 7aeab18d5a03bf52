"""Pages that need a model, opened from the sidebar (no address): they show a cached model and say which.

Before issue #16 the Misclassified digits page opened this way showed two empty pickers and no
matrix, although MNIST models were cached.
"""

from __future__ import annotations

import pytest

from tests.helpers import train_in_subprocess, wait_for_app

pytestmark = pytest.mark.browser

CONFUSION_DRAWN = "() => document.querySelectorAll('.st-key-explorer_confusion .js-plotly-plot .heatmaplayer image').length >= 2"


def test_pages_opened_from_the_sidebar_show_a_cached_model(app_server, page, browser_cache, output_dir):
    # Other browser tests may have cached better models in this session's cache: any cached one will do.
    train_in_subprocess(browser_cache, "--arch", "mlp", "--layers", "1", "--units", "16", "--epochs", "1")
    page.goto(app_server.url)
    wait_for_app(page, timeout=180_000)

    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Misclassified digits").click()
    wait_for_app(page, timeout=180_000)
    page.wait_for_function(CONFUSION_DRAWN, timeout=180_000)
    note = page.get_by_text("so this page opened").first
    note.wait_for()
    assert "cached MNIST model" in note.inner_text()
    picker = page.locator(".st-key-explorer_model").inner_text()
    assert "Choose a cached MNIST model" not in picker  # not an empty picker
    page.wait_for_url(lambda url: "units=" in url, timeout=60_000)  # the address now names the model shown
    page.screenshot(path=str(output_dir / "fallback-explorer-from-sidebar.png"), full_page=False)

    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Draw a digit").click()
    wait_for_app(page, timeout=180_000)
    page.locator(".st-key-draw_canvas_0 canvas.upper-canvas").wait_for(timeout=60_000)
    chosen = page.locator(".st-key-draw_model input").input_value()
    assert "test" in chosen  # a model label ('… · 12.3% test · abc123'), not a placeholder
    page.get_by_text("so this page opened").first.wait_for()
    page.wait_for_url(lambda url: "run=" in url, timeout=60_000)
    page.screenshot(path=str(output_dir / "fallback-draw-from-sidebar.png"), full_page=False)
