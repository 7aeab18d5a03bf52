"""AppTest of dashboard/views/network.py through tests/network_page.py: calibration, the network picture (MLP
and CNN), convolution step by step, and a toy run's network with one heatmap per neuron per recorded epoch.
Tiny models trained once into a cache of this module's own."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import cache, network
from core.config import RunConfig

PAGE = str(Path(__file__).resolve().parent / "network_page.py")
MLP = RunConfig(arch="mlp", layers=1, units=8, epochs=1, batch_size=256)
OTHER_MLP = RunConfig(arch="mlp", layers=2, units=(8, 4), epochs=1, batch_size=256, label_smoothing=0.1)
CNN = RunConfig(arch="cnn", layers=1, units=4, epochs=1, batch_size=256)
TOY = RunConfig(task="toy", dataset="xor", layers=2, units=3, activation="tanh", learning_rate=0.03, epochs=3, n_samples=40,
                batch_size=20)
LOGISTIC_TOY = TOY.replace(layers=0, dataset="blobs")
OLD_TOY = TOY.replace(seed=1)  # trained with recording off: like an entry from before weight snapshots
OLD_MLP = MLP.replace(seed=1)  # likewise: an MNIST entry from before the network picture was recorded


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("network-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))
        for config in (MLP, OTHER_MLP, CNN, TOY, LOGISTIC_TOY):
            cache.get_or_train(config)
        patch.setenv("NEURAL_LAB_RECORD_INSIDE", "0")
        cache.get_or_train(OLD_TOY)
        cache.get_or_train(OLD_MLP)
    return folder


@pytest.fixture
def open_section(trained, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(trained))

    def run(section: str, config: RunConfig) -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=120)
        at.query_params["section"] = section
        at.query_params["key"] = config.key()
        at.run()
        assert not at.exception, at.exception
        return at

    return run


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _values(value) -> list:
    """A trace's array as a list: plotly 6 sends numpy arrays as {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return array.tolist()
    return list(value)


def _traces(spec: dict, kind: str) -> list[dict]:
    return [trace for trace in spec["data"] if trace.get("type") == kind]


def test_calibration_shows_ece_a_sentence_and_compares_two_models(open_section):
    at = open_section("calibration", MLP)
    ece = next(m for m in at.metric if m.label == "ECE (this model)")
    assert ece.value.endswith("%") and 0 <= float(ece.value.rstrip("%")) <= 100
    assert any(m.value.startswith("When this model says about") and "right" in m.value for m in at.markdown)
    spec = _specs(at)[0]
    assert sum("ECE" in trace.get("name", "") for trace in spec["data"]) == 1
    picker = at.selectbox(key="calibration_compare")
    labels = " | ".join(picker.options)  # AppTest lists the shown labels: "name · accuracy · key"
    assert OTHER_MLP.key() in labels and CNN.key() in labels and MLP.key() not in labels
    picker.set_value(OTHER_MLP.key()).run()
    assert not at.exception, at.exception
    assert {m.label for m in at.metric} >= {"ECE (this model)", "ECE (second model)"}
    assert sum("ECE" in trace.get("name", "") for trace in _specs(at)[0]["data"]) == 2
    assert any(m.value.startswith("When the second model says") for m in at.markdown)
    # More bins: the diagram's line has more points (or as many as are filled).
    at.select_slider(key="calibration_bins").set_value(20).run()
    assert not at.exception
    assert "20" in str(at.select_slider(key="calibration_bins").value)


def test_mlp_picture_draws_at_most_16_units_per_column_and_summarises_the_pixels(open_section):
    at = open_section("picture", OTHER_MLP)
    spec = _specs(at)[0]
    texts = [a["text"] for a in spec["layout"]["annotations"]]
    assert any("+768 more" in text for text in texts)  # 784 pixels, 16 drawn
    assert any("<b>hidden 1</b> (8)" in text for text in texts) and any("<b>output</b> (10)" in text for text in texts)
    nodes = [t for t in _traces(spec, "scatter") if t.get("mode") == "markers" and t["name"] in ("pixels", "hidden 1", "hidden 2", "output")]
    assert [len(_values(t["y"])) for t in nodes] == [16, 8, 4, 10]
    edges = [t for t in _traces(spec, "scatter") if t.get("mode") == "lines" and "weight" in t["name"]]
    assert sum(len(_values(t["x"])) // 3 for t in edges) == 16 * 8 + 8 * 4 + 4 * 10


def _mnist_edges(spec: dict) -> list:
    return [(t["line"]["color"], t["line"]["width"], _values(t["y"])) for t in _traces(spec, "scatter") if t.get("mode") == "lines"]


def test_mlp_picture_replays_the_recorded_epochs(open_section):
    at = open_section("picture", OTHER_MLP)
    slider = at.select_slider(key=f"mnist_network_epoch_{OTHER_MLP.key()}")
    assert list(slider.options) == ["before training", "epoch 1"] and slider.value == 1
    last = _specs(at)[0]
    assert last["layout"]["title"]["text"] == "after epoch 1"
    slider.set_value(0).run()
    assert not at.exception, at.exception
    first = _specs(at)[0]
    assert first["layout"]["title"]["text"].startswith("before training")
    nodes = [t for t in _traces(first, "scatter") if t.get("mode") == "markers" and t["name"] in ("pixels", "hidden 1", "hidden 2", "output")]
    assert [len(_values(t["y"])) for t in nodes] == [16, 8, 4, 10]  # the same units are drawn at every epoch
    assert _mnist_edges(first) != _mnist_edges(last)


def test_mlp_picture_of_an_entry_from_before_the_recording_is_the_final_model(open_section):
    at = open_section("picture", OLD_MLP)
    assert not at.select_slider
    assert any("trained before its network picture was recorded" in c.value for c in at.caption)
    spec = _specs(at)[0]
    assert spec["layout"]["title"]["text"] == "final model"
    assert any("+768 more" in a["text"] for a in spec["layout"]["annotations"])  # 784 pixels, 16 drawn


def test_cnn_picture_is_blocks_with_shapes_and_parameters(open_section):
    at = open_section("picture", CNN)
    spec = _specs(at)[0]
    assert f"{network.parameter_count(CNN):,} parameters in all" in spec["layout"]["title"]["text"]
    texts = " ".join(a["text"] for a in spec["layout"]["annotations"])
    assert "28×28×4" in texts and "14×14×4" in texts and "40 params" in texts  # conv_1: 3*3*1*4 + 4


def test_convolution_slides_a_learned_filter_and_its_sizes_agree_with_keras(open_section):
    at = open_section("convolution", CNN)
    filters = at.selectbox(key="conv_filter")
    assert filters.options[:4] == [f"learned filter {i}" for i in range(1, 5)]
    text = " ".join(m.value for m in at.markdown)
    assert "feature map is 28×28" in text and "the same :green" in text
    for padding, stride, expected in (("valid", 1, 26), ("valid", 2, 13), (2, 2, 15)):
        at.segmented_control(key="conv_padding").set_value(padding).run()
        at.segmented_control(key="conv_stride").set_value(stride).run()
        assert not at.exception, at.exception
        text = " ".join(m.value for m in at.markdown)
        assert f"feature map is {expected}×{expected}" in text and "the same :green" in text, (padding, stride, text)
    # Moving the step moves the highlighted output pixel.
    slider = next(s for s in at.slider if s.key.startswith("conv_step"))
    slider.set_value(1).run()
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["meta"]["output_pixel"] == [0, 0]
    assert any("Output pixel (row 0, column 0)" in m.value for m in at.markdown)


def test_convolution_of_an_mlp_says_so_and_offers_classic_filters(open_section):
    at = open_section("convolution", MLP)
    assert any("This model is an MLP" in info.value and "learned filters" in info.value for info in at.info)
    assert at.selectbox(key="conv_filter").options == list(network.CLASSIC_KERNELS)
    assert any("the same :green" in m.value for m in at.markdown)


def _toy_spec(at: AppTest) -> dict:
    return next(spec for spec in _specs(at) if any(t.get("type") == "heatmap" for t in spec["data"]))


def _edges(spec: dict) -> list:
    """Every drawn edge's weight (the hover text of the edge layer) and the drawn lines (colour, width, ends)."""
    weights = next(t["text"] for t in _traces(spec, "scatter") if t["name"] == "edge weights")
    lines = [(t["line"]["color"], t["line"]["width"], _values(t["y"])) for t in _traces(spec, "scatter") if t.get("mode") == "lines"]
    return [weights, lines]


def test_toy_network_has_one_heatmap_per_neuron_and_changes_with_the_epoch(open_section):
    at = open_section("toy", TOY)
    slider = at.select_slider(key=f"toy_network_epoch_{TOY.key()}")
    assert [int(o) for o in slider.options] == [0, 1, 2, 3] and int(slider.value) == 3
    spec = _toy_spec(at)
    names = [t["name"] for t in _traces(spec, "heatmap")]
    assert len([n for n in names if n.startswith("hidden")]) == 6  # 2 layers x 3 units
    assert len([n for n in names if n.startswith("input")]) == 2 and len([n for n in names if n.startswith("output")]) == 2
    last_edges, last_maps = _edges(spec), [_values(t["z"]) for t in _traces(spec, "heatmap") if t["name"].startswith("hidden")]
    slider.set_value(0).run()
    assert not at.exception, at.exception
    first = _toy_spec(at)
    assert first["layout"]["title"]["text"].startswith("before training")
    assert len(_edges(first)[0]) == len(last_edges[0]) == 2 * 3 + 3 * 3 + 3 * 2
    assert _edges(first)[0] != last_edges[0]
    assert [_values(t["z"]) for t in _traces(first, "heatmap") if t["name"].startswith("hidden")] != last_maps


def test_toy_run_without_weight_snapshots_shows_the_final_model_and_says_so(open_section):
    at = open_section("toy", OLD_TOY)
    assert not at.select_slider
    assert any("trained before weight snapshots" in c.value for c in at.caption)
    spec = _toy_spec(at)
    assert spec["layout"]["title"]["text"] == "final model"
    assert len([t for t in _traces(spec, "heatmap") if t["name"].startswith("hidden")]) == 6


def test_toy_logistic_regression_is_inputs_straight_to_outputs(open_section):
    at = open_section("toy", LOGISTIC_TOY)
    spec = _toy_spec(at)
    names = [t["name"] for t in _traces(spec, "heatmap")]
    assert not [n for n in names if n.startswith("hidden")]
    assert len([n for n in names if n.startswith("input")]) == 2 and len([n for n in names if n.startswith("output")]) == 2
    assert len(_edges(spec)[0]) == 2 * 2
