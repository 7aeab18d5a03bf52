"""The network sections in Chromium (tests/network_page.py, which calls the same render_* functions as the pages):
a toy run's network picture has one heatmap per hidden neuron and its edges change with the epoch slider; an MNIST
MLP's picture replays its epochs; the reliability diagram renders with an ECE value."""

from __future__ import annotations

import pytest

from core import cache as core_cache
from core.config import RunConfig
from tests.helpers import REPO, AppServer, wait_for_app

TOY = RunConfig(task="toy", dataset="xor", layers=2, units=3, activation="tanh", learning_rate=0.03, epochs=4, n_samples=40,
                batch_size=20)
MLP = RunConfig(arch="mlp", layers=1, units=8, epochs=1, batch_size=256)

# Figures as Plotly holds them in the page: trace types and names, and the edge layer's hover texts.
FIGURES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(plot => ({
  title: (plot.layout && plot.layout.title && plot.layout.title.text) || '',
  traces: (plot.data || []).map(t => ({type: t.type, name: t.name || '', text: Array.isArray(t.text) ? t.text.join('|') : ''})),
}))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cache = tmp_path_factory.mktemp("network-browser-cache")
    with pytest.MonkeyPatch.context() as patch:  # trained in this process: one TensorFlow import less than a CLI subprocess
        patch.setenv("NEURAL_LAB_CACHE_DIR", str(cache))
        keys = {"toy": core_cache.get_or_train(TOY).key, "mlp": core_cache.get_or_train(MLP).key}
    instance = AppServer(cache, script=REPO / "tests" / "network_page.py").start()
    yield instance, keys
    instance.stop()


def _toy_figure(page) -> dict:
    return next(f for f in page.evaluate(FIGURES_JS) if any(t["type"] == "heatmap" for t in f["traces"]))


def _edge_weights(figure: dict) -> str:
    return next(t["text"] for t in figure["traces"] if t["name"] == "edge weights")


def _replay_to_before_training(page) -> None:
    """Move the "Network after epoch" slider to epoch 0 (the random weights) and wait for that picture."""
    slider = page.locator("[data-testid=stSlider]").filter(has_text="Network after epoch").get_by_role("slider")
    slider.focus()
    slider.press("Home")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.layout && p.layout.title && "
        "String(p.layout.title.text).includes('before training'))",
        timeout=60_000,
    )
    wait_for_app(page)


@pytest.mark.browser
def test_toy_network_has_a_heatmap_per_hidden_neuron_and_its_edges_change_with_the_epoch(server, page, output_dir):
    app, keys = server
    page.goto(f"{app.url}/?section=toy&key={keys['toy']}")
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot .heatmaplayer")
    last = _toy_figure(page)
    assert "after epoch 4" in last["title"]
    hidden = [t for t in last["traces"] if t["type"] == "heatmap" and t["name"].startswith("hidden")]
    assert len(hidden) == 6  # 2 hidden layers x 3 neurons, one heatmap each
    assert page.locator(".js-plotly-plot .heatmaplayer .hm").count() >= 6 + 2 + 2  # drawn: inputs, hidden, outputs
    page.screenshot(path=str(output_dir / "network-toy-last-epoch.png"), full_page=True)

    _replay_to_before_training(page)
    first = _toy_figure(page)
    assert len([t for t in first["traces"] if t["type"] == "heatmap" and t["name"].startswith("hidden")]) == 6
    assert _edge_weights(first) != _edge_weights(last)
    page.screenshot(path=str(output_dir / "network-toy-epoch-0.png"), full_page=True)


@pytest.mark.browser
def test_reliability_diagram_renders_with_an_ece_value(server, page, output_dir):
    app, keys = server
    page.goto(f"{app.url}/?section=calibration&key={keys['mlp']}")
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot .scatterlayer")
    metric = page.locator("[data-testid=stMetric]").filter(has_text="ECE (this model)")
    assert metric.locator("[data-testid=stMetricValue]").inner_text().strip().endswith("%")
    names = [t["name"] for f in page.evaluate(FIGURES_JS) for t in f["traces"]]
    assert any(name.startswith("this model · ECE") for name in names)
    assert page.get_by_text("When this model says about").count() == 1
    page.screenshot(path=str(output_dir / "network-calibration.png"), full_page=True)


@pytest.mark.browser
def test_an_mnist_mlp_picture_replays_its_epochs(server, page, output_dir):
    app, keys = server
    page.goto(f"{app.url}/?section=picture&key={keys['mlp']}")
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot .scatterlayer")
    last = page.evaluate(FIGURES_JS)[0]
    assert "after epoch 1" in last["title"]
    _replay_to_before_training(page)
    first = page.evaluate(FIGURES_JS)[0]
    assert [t["name"] for t in first["traces"]] == [t["name"] for t in last["traces"]]  # the same units drawn
    assert _edge_weights(first) != _edge_weights(last)  # with the weights of that epoch
    page.screenshot(path=str(output_dir / "network-mlp-epoch-0.png"), full_page=True)
