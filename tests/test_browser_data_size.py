""""More data?" in Chromium: the button queues the missing training-set sizes as background jobs, within
the job runner's per-visitor cap (the page says how many were not queued), the chart shows queued
sizes as queued and fills in as each job finishes; a second press queues the rest; the reading appears.

One server with its own cache, two workers and at most 3 active jobs per visitor: of the 5 sizes of
the embedded set, 3 are queued by the first press and 2 refused. A tiny MLP (1 epoch) trains each size
in about a second; waits are generous (a shared, noisy machine), nothing asserts a duration.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

import pytest

from core.config import RunConfig
from dashboard.state import full_params
from tests.helpers import AppServer, wait_for_app

pytestmark = pytest.mark.browser

SERVER_ENV = {"NEURAL_LAB_JOB_WORKERS": "2", "NEURAL_LAB_JOBS_MAX_PER_SESSION": "3"}
SECTION = ".st-key-data_size_chart"
READING = re.compile(r"Reading: (Test still rising|Flat)")


@pytest.fixture
def data_size_server(tmp_path):
    server = AppServer(tmp_path / "cache", env=SERVER_ENV)
    (tmp_path / "cache").mkdir()
    server.start()
    yield server
    server.stop()


def tiny_config() -> RunConfig:
    """A small MLP (3 epochs, about a second per size); a fresh seed so a retried test does not find the first try's entries."""
    return RunConfig(layers=1, units=32, epochs=3, batch_size=64, seed=int.from_bytes(os.urandom(3), "little"))


def main_text(page) -> str:
    return page.locator("[data-testid=stMain]").inner_text()


def chart_text(page) -> str:
    """The text drawn inside the section's Plotly chart (status labels of unfinished sizes, ticks)."""
    return " ".join(page.locator(f"{SECTION} svg text").all_text_contents())


def wait_chart(page, pattern: str, timeout: float = 60_000) -> str:
    """Until the chart's text matches `pattern` (Plotly draws a moment after the page's run ends); that text."""
    page.wait_for_function(
        "([selector, pattern]) => new RegExp(pattern).test([...document.querySelectorAll(selector + ' svg text')].map(t => t.textContent).join(' '))",
        arg=[SECTION, pattern], timeout=timeout,
    )
    return chart_text(page)


def entries(cache: Path) -> set[str]:
    return {p.name for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")}


def test_the_button_queues_sizes_within_the_cap_and_the_chart_fills_in(data_size_server, page, output_dir):
    config = tiny_config()
    page.goto(f"{data_size_server.url}/train?{urllib.parse.urlencode(full_params(config))}")
    wait_for_app(page)
    page.get_by_role("heading", name="More data?").scroll_into_view_if_needed()
    assert "A reading needs at least 3 finished sizes: 0 so far" in main_text(page)
    assert wait_chart(page, "not trained").count("not trained") == 5

    page.get_by_role("button", name="Train the 5 missing size(s)").click()
    page.wait_for_function("() => document.body.innerText.includes('2 of 5 not queued')", timeout=60_000)
    page.wait_for_function("() => document.body.innerText.includes('Training-set sizes: 0 of 3 finished')", timeout=60_000)
    wait_chart(page, "queued|training…")  # the queued sizes are marked as such

    # The three queued sizes finish one by one; the page redraws the chart as each lands in the cache.
    # (The two refused sizes are offered again at once: "Train the 2 missing size(s)".)
    page.wait_for_function("() => /Reading: (Test still rising|Flat)/.test(document.body.innerText)", timeout=300_000)
    wait_for_app(page)
    assert len(entries(data_size_server.cache)) == 3  # three sizes: enough for a reading
    assert wait_chart(page, "not trained").count("not trained") == 2  # the two refused sizes
    assert "queued" not in chart_text(page) and "Train the 2 missing size(s)" in main_text(page)

    page.get_by_role("button", name="Train the 2 missing size(s)").click()
    page.wait_for_function("() => !document.body.innerText.includes('missing size(s)') && /Reading: (Test still rising|Flat)/.test(document.body.innerText)", timeout=300_000)
    wait_for_app(page)
    assert len(entries(data_size_server.cache)) == 5
    assert "not trained" not in chart_text(page) and "queued" not in chart_text(page)
    assert not page.locator("[data-testid=stException]").count()
    page.get_by_role("heading", name="More data?").evaluate("element => element.scrollIntoView({block: 'start'})")
    heading, chart = page.get_by_role("heading", name="More data?").bounding_box(), page.locator(SECTION).bounding_box()
    bottom = min(chart["y"] + chart["height"] + 100, page.viewport_size["height"])
    page.screenshot(path=str(output_dir / "data-size.png"), clip={"x": 0, "y": max(0, heading["y"] - 16), "width": chart["x"] + chart["width"] + 16, "height": bottom - max(0, heading["y"] - 16)})
