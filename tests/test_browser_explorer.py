"""The Misclassified explorer in a real browser: click a confusion cell, see only that pair, open a digit."""

from __future__ import annotations

import re

import pytest

from core.config import RunConfig
from core.presets import preset
from dashboard import state
from tests.helpers import train_in_subprocess, wait_for_app

TINY_CNN = RunConfig(arch="cnn", layers=1, units=4, epochs=1)

# Pixel position (page coordinates) of the clickable marker of the biggest off-diagonal cell.
FIND_CELL = """
() => {
  const plot = document.querySelector('.st-key-explorer_confusion .js-plotly-plot');
  if (!plot || !plot._fullLayout) return null;
  // The error heatmap's text holds the counts (rows = true, columns = predicted; '' for none).
  const text = plot.data.filter(trace => trace.type === 'heatmap')[1].text;
  let best = null;
  text.forEach((row, t) => row.forEach((label, p) => {
    const n = parseInt(label, 10);
    if (t !== p && n > 0 && (!best || n > best[2])) best = [t, p, n];
  }));
  if (!best) return null;
  const layout = plot._fullLayout, box = plot.getBoundingClientRect();
  return {
    true: best[0], predicted: best[1], count: best[2],
    x: box.left + layout.xaxis._offset + layout.xaxis.l2p(best[1]) + window.scrollX,
    y: box.top + layout.yaxis._offset + layout.yaxis.l2p(best[0]) + window.scrollY,
  };
}
"""


@pytest.mark.browser
def test_click_a_confusion_cell_then_open_a_digit(app_server, page, browser_cache, output_dir):
    train_in_subprocess(browser_cache, "--arch", "cnn", "--layers", "1", "--units", "4", "--epochs", "1")
    query = "&".join(f"{name}={value}" for name, value in state.encode(TINY_CNN, preset("base")).items())
    page.goto(f"{app_server.url}/explorer?{query}")
    wait_for_app(page, timeout=180_000)
    page.get_by_text("errors", exact=False).first.wait_for(timeout=180_000)
    page.wait_for_function(f"() => ({FIND_CELL})() !== null", timeout=60_000)
    cell = page.evaluate(FIND_CELL)
    page.screenshot(path=str(output_dir / "explorer-before-click.png"), full_page=True)

    page.mouse.click(cell["x"] - page.evaluate("window.scrollX"), cell["y"] - page.evaluate("window.scrollY"))
    wanted = f"for true {cell['true']} / predicted {cell['predicted']}"
    page.get_by_text(wanted).wait_for(timeout=60_000)
    count_line = page.get_by_text(wanted).inner_text()
    assert f"{cell['count']} errors" in count_line.replace(",", "")
    wait_for_app(page)
    gallery = page.locator("[role=tabpanel]").first  # the Errors tab (the other tabs' cards are in the DOM too)
    captions = [text.replace("\u00a0", " ") for text in gallery.locator("[data-testid=stImageCaption]").all_inner_texts()]
    assert len(captions) == min(cell["count"], 24)
    assert all(caption.startswith(f"pred {cell['predicted']} / true {cell['true']} ") for caption in captions), captions
    # The address is rewritten at the end of the script run, which can finish after the gallery has drawn.
    page.wait_for_url(re.compile(rf"[?&]true={cell['true']}(&|$)"), timeout=60_000)
    assert re.search(rf"[?&]true={cell['true']}(&|$)", page.url) and re.search(rf"[?&]pred={cell['predicted']}(&|$)", page.url)
    page.screenshot(path=str(output_dir / "explorer-after-click.png"), full_page=True)

    gallery.get_by_role("button", name="Details").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Test digit #").wait_for(timeout=60_000)
    assert f"true {cell['true']}, predicted {cell['predicted']}" in dialog.inner_text().replace("**", "")
    dialog.get_by_text("First conv layer's 4 filters").wait_for(timeout=60_000)
    dialog.locator(".js-plotly-plot").nth(3).wait_for(timeout=60_000)
    page.screenshot(path=str(output_dir / "explorer-detail.png"), full_page=False)
