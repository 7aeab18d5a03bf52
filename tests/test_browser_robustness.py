"""The Robustness page in a real browser: two cached models give one chart with two curves and a gallery of
damaged digits with each model's answer; moving the strength slider redraws the gallery."""

from __future__ import annotations

import pytest

from core.config import RunConfig
from tests.helpers import train_in_subprocess, wait_for, wait_for_app

MLP = RunConfig(arch="mlp", layers=1, units=24, epochs=2, batch_size=256)
CNN = RunConfig(arch="cnn", layers=1, units=4, epochs=1)

# Names of the chart's traces (the models' curves and the chance line), or null before it is drawn.
TRACE_NAMES = """() => {
  const plot = document.querySelector('.st-key-robustness_chart .js-plotly-plot');
  return plot && plot.data ? plot.data.map(trace => trace.name) : null;
}"""
GALLERY_IMAGES = "() => Array.from(document.querySelectorAll('.st-key-robustness_gallery img')).map(img => img.src)"


@pytest.mark.browser
def test_two_models_one_chart_and_a_gallery(app_server, page, browser_cache, output_dir):
    train_in_subprocess(browser_cache, "--arch", "mlp", "--layers", "1", "--units", "24", "--epochs", "2", "--batch-size", "256")
    train_in_subprocess(browser_cache, "--arch", "cnn", "--layers", "1", "--units", "4", "--epochs", "1")
    page.goto(f"{app_server.url}/robustness?models={MLP.key()},{CNN.key()}&perturbation=rotation&strength=40")
    wait_for_app(page, timeout=180_000)
    names = wait_for(lambda: page.evaluate(TRACE_NAMES), "the robustness chart", 180)
    assert len(names) == 3 and "chance (guessing)" in names  # a curve per model
    assert any(name.startswith("MLP") for name in names) and any(name.startswith("CNN") for name in names)
    images = wait_for(lambda: (lambda srcs: srcs if len(srcs) == 20 else None)(page.evaluate(GALLERY_IMAGES)),
                      "two gallery rows of ten digits", 120)
    assert page.get_by_text("Most robust to rotation").first.is_visible()
    assert page.get_by_text("of 10 right").count() == 2  # each model's answers
    page.screenshot(path=str(output_dir / "robustness-two-models.png"), full_page=True)

    slider = page.locator(".st-key-robustness_strength_rotation input[type=range]")
    slider.focus()
    slider.press("Home")  # strength 0: the clean digits
    wait_for(lambda: (lambda srcs: len(srcs) == 20 and srcs != images)(page.evaluate(GALLERY_IMAGES)), "the gallery to redraw", 120)
    wait_for_app(page, timeout=60_000)
    assert "strength=0" in page.url
