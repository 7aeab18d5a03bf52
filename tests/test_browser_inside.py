"""Inside the network in a real browser: a small MLP's embedding moves with the epoch slider; histograms and the dead-unit table render."""

from __future__ import annotations

import pytest

from core.config import RunConfig
from core.presets import preset
from dashboard import state
from tests.helpers import train_in_subprocess, wait_for, wait_for_app

SMALL_MLP = RunConfig(arch="mlp", layers=1, units=12, epochs=3, batch_size=256)

# The embedding scatter's x coordinates (all traces), or null before it is drawn.
SCATTER_X = """() => {
  const plot = document.querySelector('.st-key-inside_embedding .js-plotly-plot');
  if (!plot || !plot.data) return null;
  const traces = plot._fullData || [];
  return traces.map(trace => Array.from(trace.x || []).slice(0, 20).map(v => Math.round(v * 1000) / 1000)).flat();
}"""


@pytest.mark.browser
def test_epoch_slider_moves_the_embedding(app_server, page, browser_cache, output_dir):
    train_in_subprocess(browser_cache, "--layers", "1", "--units", "12", "--epochs", "3", "--batch-size", "256")
    query = "&".join(f"{name}={value}" for name, value in state.encode(SMALL_MLP, preset("base")).items())
    page.goto(f"{app_server.url}/inside?{query}")
    wait_for_app(page, timeout=180_000)
    page.wait_for_function(f"() => ({SCATTER_X})() !== null && ({SCATTER_X})().length > 0", timeout=120_000)
    final = page.evaluate(SCATTER_X)
    assert page.get_by_text("epoch 3: ").first.is_visible()  # the chart's title names the epoch shown
    page.screenshot(path=str(output_dir / "inside-final-epoch.png"), full_page=True)

    slider = page.locator(".st-key-inside_epoch input[type=range]")
    slider.focus()
    slider.press("Home")  # back to "before training"
    before = wait_for(lambda: (lambda x: x if x and x != final else None)(page.evaluate(SCATTER_X)), "the scatter to change", 60)
    assert before != final
    page.get_by_text("before training: ").first.wait_for(timeout=30_000)

    # The histograms (weights and activations over epochs) and the layer-health table are drawn too.
    for chart in ("inside_weights_chart", "inside_activations_chart", "inside_gradients_chart"):
        page.locator(f".st-key-{chart} .js-plotly-plot").wait_for(timeout=60_000)
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
    assert page.get_by_text("dead ReLU units per layer").first.is_visible()
    page.screenshot(path=str(output_dir / "inside-before-training.png"), full_page=True)
