"""core/network.py: units to draw, edges, the numpy forward pass, block shapes/parameters, convolution arithmetic.

The convolution output sizes are checked against what Keras itself computes for every padding x stride x
pool choice the step-by-step view offers; the numpy convolution against Keras' Conv2D values.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core import network
from core.config import RunConfig


def test_shown_units_keeps_all_when_they_fit_else_the_most_wired_in():
    assert network.shown_units(np.array([3.0, 1.0, 2.0]), limit=16).tolist() == [0, 1, 2]
    importance = np.arange(40, dtype=float)[::-1]  # unit 0 most important
    assert network.shown_units(importance, limit=5).tolist() == [0, 1, 2, 3, 4]
    assert network.shown_units(np.array([0, 9, 0, 8, 7.0]), limit=3).tolist() == [1, 3, 4]


def test_unit_importance_sums_incoming_and_outgoing_magnitudes():
    first = np.array([[1.0, -2.0], [0.5, 0.0]])  # 2 inputs -> 2 hidden
    second = np.array([[3.0], [-1.0]])  # 2 hidden -> 1 output
    inputs, hidden, outputs = network.unit_importance([first, second])
    assert inputs.tolist() == [3.0, 0.5]
    assert hidden.tolist() == [1.5 + 3.0, 2.0 + 1.0]
    assert outputs.tolist() == [4.0]


def test_network_graph_lists_every_edge_between_drawn_units_and_summarises_the_rest():
    rng = np.random.default_rng(0)
    weights = [(rng.normal(size=(20, 30)), np.zeros(30)), (rng.normal(size=(30, 3)), np.arange(3.0))]
    graph = network.network_graph(weights, ["in", "hidden", "out"], limit=8)
    assert [layer.size for layer in graph.layers] == [20, 30, 3]
    assert [len(layer.shown) for layer in graph.layers] == [8, 8, 3]
    assert [layer.hidden for layer in graph.layers] == [12, 22, 0]
    assert len(graph.weight) == 8 * 8 + 8 * 3
    # Edge k carries the kernel entry between the drawn units it joins.
    k = 70
    column, source, target = graph.column[k], graph.source[k], graph.target[k]
    kernel = weights[column][0]
    assert graph.weight[k] == pytest.approx(kernel[graph.layers[column].shown[source], graph.layers[column + 1].shown[target]])
    assert graph.biases[2].tolist() == [0.0, 1.0, 2.0]
    # A fixed choice of units is honoured (so a replay does not reshuffle the nodes).
    fixed = [np.arange(8), np.arange(8), np.arange(3)]
    assert network.network_graph(weights, ["in", "hidden", "out"], shown=fixed).layers[1].shown.tolist() == list(range(8))


def test_network_graph_refuses_kernels_that_do_not_chain():
    with pytest.raises(ValueError, match="do not chain"):
        network.network_graph([(np.zeros((2, 3)), np.zeros(3)), (np.zeros((4, 2)), np.zeros(2))], ["a", "b", "c"])


def test_node_positions_are_centred_and_top_down():
    assert network.node_positions(3).tolist() == [1.0, 0.0, -1.0]
    assert network.node_positions(1).tolist() == [0.0]


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "elu", "gelu", "softmax"])
def test_numpy_activations_match_keras(name):
    import keras

    values = np.linspace(-4, 4, 18).reshape(2, 9).astype(np.float32)
    expected = np.asarray(getattr(keras.activations, name)(values))
    np.testing.assert_allclose(network.activate(name, values), expected, rtol=1e-5, atol=1e-6)


def test_forward_pass_and_layer_grids_match_the_trained_toy_model():
    from core import boundary, cache

    config = RunConfig(task="toy", dataset="xor", layers=2, units=(4, 3), activation=("tanh", "relu"), epochs=2, n_samples=40, batch_size=20)
    run = cache.get_or_train(config)
    weights = network.dense_stack(run.model)
    assert [k.shape for k, _ in weights] == [(2, 4), (4, 3), (3, 2)]
    mean, variance = network.input_normalisation(run.model)
    bounds = (-6.0, 6.0, -6.0, 6.0)
    grids = network.layer_grids(weights, list(config.activation_per_layer()), bounds, 20, mean, variance)
    assert [g.shape for g in grids] == [(20, 20, 2), (20, 20, 4), (20, 20, 3), (20, 20, 2)]
    np.testing.assert_allclose(grids[-1], boundary.probability_grid(run.model, bounds, 20), atol=1e-5)
    keras_neurons = boundary.neuron_grids(run.model, bounds, 20)
    np.testing.assert_allclose(grids[1], keras_neurons[0], atol=1e-5)
    np.testing.assert_allclose(grids[2], keras_neurons[1], atol=1e-5)


def test_forward_needs_one_activation_per_hidden_layer():
    with pytest.raises(ValueError, match="activations"):
        network.forward([(np.zeros((2, 2)), np.zeros(2))], ["relu"], np.zeros((1, 2)))


# -- blocks: shapes and parameter counts agree with the model Keras builds -------------------------

CONFIGS = [
    RunConfig(arch="mlp", layers=2, units=(64, 16)),
    RunConfig(arch="mlp", layers=0),
    RunConfig(arch="mlp", layers=1, units=32, batch_norm=True, dropout=0.2),
    RunConfig(arch="cnn", layers=2, units=(8, 16), kernel_size=3),
    RunConfig(arch="cnn", layers=3, units=4, kernel_size=5, dense_units=32, batch_norm=True),
    RunConfig(arch="cnn", layers=1, units=6, kernel_size=7, dropout=0.3),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.describe()[:40])
def test_blocks_match_the_keras_model(config):
    from core.models import build_model

    model = build_model(config)
    assert network.parameter_count(config) == model.count_params()
    by_name = {layer.name: layer for layer in model.layers}
    for block in network.blocks(config):
        if block.kind in ("input",):
            continue
        layer = by_name[block.name]
        assert tuple(layer.output.shape[1:]) == block.shape, block.name
        assert layer.count_params() == block.params, block.name


def test_blocks_refuse_toy_runs():
    with pytest.raises(ValueError, match="toy"):
        network.blocks(RunConfig(task="toy", dataset="xor"))


# -- convolution arithmetic --------------------------------------------------------------------

PADDINGS = ["valid", "same", 1, 2]
STRIDES = [1, 2]
POOLS = [("max", 2), ("max", 3), ("average", 2), ("average", 3)]
KERNELS = [3, 5]


def test_output_sizes_agree_with_keras_for_every_padding_stride_and_pool_choice():
    import keras

    checked = 0
    for padding, stride, (mode, window), kernel in itertools.product(PADDINGS, STRIDES, POOLS, KERNELS):
        layers = [keras.Input((28, 28, 1))]
        if isinstance(padding, int):
            layers.append(keras.layers.ZeroPadding2D(padding))
        layers.append(keras.layers.Conv2D(1, kernel, strides=stride, padding="same" if padding == "same" else "valid"))
        conv_shape = keras.Sequential(layers).output_shape
        pooling = keras.layers.MaxPooling2D(window) if mode == "max" else keras.layers.AveragePooling2D(window)
        pooled_shape = keras.Sequential([*layers, pooling]).output_shape
        size = network.conv_output_size(28, kernel, stride, padding)
        assert conv_shape[1:3] == (size, size), (padding, stride, kernel)
        assert pooled_shape[1:3] == (network.pool_output_size(size, window),) * 2, (padding, stride, mode, window, kernel)
        checked += 1
    assert checked == len(PADDINGS) * len(STRIDES) * len(POOLS) * len(KERNELS)


def test_textbook_formula_for_explicit_padding():
    # OH = (H + 2P - FH) / S + 1
    assert network.conv_output_size(28, 3, 1, 1) == 28
    assert network.conv_output_size(28, 5, 2, 2) == 14
    assert network.conv_output_size(28, 3, 2, "valid") == 13
    assert network.conv_output_size(3, 5, 1, "valid") == 0
    assert network.padding_amounts(28, 3, 2, "same") == (0, 1)  # TensorFlow puts the odd pixel after
    assert network.padding_amounts(28, 5, 1, "same") == (2, 2)


@pytest.mark.parametrize(("padding", "stride"), list(itertools.product(PADDINGS, STRIDES)))
def test_numpy_convolution_and_pooling_equal_keras_values(padding, stride):
    import keras

    rng = np.random.default_rng(1)
    image = rng.uniform(0, 1, (28, 28)).astype(np.float32)
    kernel = rng.normal(size=(3, 3)).astype(np.float32)
    layers = [keras.Input((28, 28, 1))]
    if isinstance(padding, int):
        layers.append(keras.layers.ZeroPadding2D(padding))
    conv = keras.layers.Conv2D(1, 3, strides=stride, padding="same" if padding == "same" else "valid")
    model = keras.Sequential([*layers, conv])
    conv.set_weights([kernel[:, :, None, None], np.array([0.25], dtype=np.float32)])
    expected = np.asarray(model(image[None, :, :, None]))[0, :, :, 0]
    ours = network.convolve(image, kernel, stride, padding, bias=0.25)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)
    for mode, layer in (("max", keras.layers.MaxPooling2D(2)), ("average", keras.layers.AveragePooling2D(2))):
        pooled = np.asarray(layer(expected[None, :, :, None]))[0, :, :, 0]
        np.testing.assert_allclose(network.pool(ours, 2, mode), pooled, rtol=1e-4, atol=1e-4)


def test_receptive_field_and_one_output_pixel_by_hand():
    image = np.arange(16, dtype=float).reshape(4, 4)
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    out = network.convolve(image, kernel, stride=2, padding="valid")
    assert out.shape == (2, 2)
    top, left, bottom, right = network.receptive_field(1, 0, 2, 2)
    assert (top, left, bottom, right) == (2, 0, 4, 2)
    window = image[top:bottom, left:right]
    assert out[1, 0] == (window * kernel).sum() == 8.0 - 13.0


def test_pool_refuses_unknown_modes():
    with pytest.raises(ValueError, match="max"):
        network.pool(np.zeros((4, 4)), 2, "median")
