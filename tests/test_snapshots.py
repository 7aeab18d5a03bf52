"""core/snapshots.py: what the training records about its inside, and reading it back (also from the cache)."""

from __future__ import annotations

import numpy as np
import pytest

from core import cache, snapshots
from core.config import RunConfig
from core.data import load_mnist
from core.training import train


@pytest.fixture(scope="module")
def toy_run():
    return train(RunConfig(task="toy", dataset="xor", layers=2, units=3, activation="tanh", epochs=3, n_samples=60, batch_size=16))


@pytest.fixture(scope="module")
def mlp_run():
    return train(RunConfig(arch="mlp", layers=2, units=(16, 8), activation=("relu", "tanh"), epochs=2, batch_size=256))


def test_toy_run_records_every_dense_layer_per_epoch(toy_run):
    arrays = toy_run.arrays
    assert snapshots.weight_epochs(arrays) == [0, 1, 2, 3]
    final = snapshots.dense_weights_at(arrays, 3)
    assert [kernel.shape for kernel, _ in final] == [(2, 3), (3, 3), (3, 2)]
    dense = [layer for layer in toy_run.model.layers if type(layer).__name__ == "Dense"]
    for (kernel, bias), layer in zip(final, dense, strict=True):
        np.testing.assert_allclose(kernel, np.asarray(layer.kernel))
        np.testing.assert_allclose(bias, np.asarray(layer.bias))
    before = snapshots.dense_weights_at(arrays, 0)
    assert not np.allclose(before[0][0], final[0][0])  # training moved the weights
    # An epoch that was not recorded gives the latest recorded one before it.
    np.testing.assert_allclose(snapshots.dense_weights_at(arrays, 99)[0][0], final[0][0])
    assert not any(name.startswith("inside_") for name in arrays)  # toy runs get weights, not the MNIST record


def test_readers_of_runs_without_weights():
    assert snapshots.weight_epochs({}) == [] and snapshots.dense_weights_at({}, 1) is None
    damaged = {"weights_epochs": np.array([0, 1]), "weights_kernel_0": np.zeros((1, 2, 2)), "weights_bias_0": np.zeros((2, 2))}
    assert snapshots.dense_weights_at(damaged, 1) is None  # 1 kernel for 2 epochs: not trusted


def test_long_toy_runs_are_thinned_to_the_budget():
    assert snapshots.recorded_epochs(10, 100) == list(range(11))
    chosen = snapshots.recorded_epochs(200, 50)
    assert chosen[0] == 0 and chosen[-1] == 200 and len(chosen) <= 52


def test_mnist_run_records_the_inside(mlp_run):
    record = snapshots.read_inside(mlp_run.arrays)
    assert list(record.epochs) == [0, 1, 2]
    splits = load_mnist("embedded")
    np.testing.assert_array_equal(record.probe_index, snapshots.probe_indices(len(splits.y_test)))
    np.testing.assert_array_equal(record.probe_labels, splits.y_test[record.probe_index])
    assert record.embedding.shape == (3, len(record.probe_labels), 8)  # 8 units in the last hidden layer: 8 axes
    assert record.embedding_layer == "probabilities"  # the embedding is what the output layer receives
    assert record.weight_layers == ["dense_1", "dense_2", "probabilities"]
    assert record.activation_kinds == ["relu", "tanh"]
    assert np.isfinite(record.dead_share[:, 0]).all() and np.isnan(record.dead_share[:, 1]).all()  # tanh cannot die
    assert (record.gradient_norms > 0).all()
    # The final epoch's predictions are the model's.
    final = np.asarray(mlp_run.model.predict_on_batch(splits.x_test[record.probe_index])).argmax(axis=1)
    assert np.mean(final == record.predictions(-1)) > 0.99


def test_probe_is_the_same_for_every_run_on_a_split():
    np.testing.assert_array_equal(snapshots.probe_indices(10000), snapshots.probe_indices(10000))
    assert len(snapshots.probe_indices(10000)) == snapshots.PROBE_SIZE and len(snapshots.probe_indices(500)) == 500


def test_numpy_and_tensorflow_paths_agree():
    config = RunConfig(layers=2, units=8, activation="sigmoid", batch_norm=True, label_smoothing=0.1, epochs=1)
    from core.models import build_model, compile_model

    splits = load_mnist("embedded")
    model = build_model(config, splits.x_train)
    compile_model(model, config, 1)
    recorder = snapshots.make_inside_recorder(config, splits)
    recorder.set_model(model)
    recorder.on_train_begin()
    assert recorder.numpy
    quantiles, peaks, embedding, probabilities = recorder._probe_numpy()
    gradients = recorder._gradients()
    recorder.numpy = False
    quantiles_tf, peaks_tf, embedding_tf, probabilities_tf = recorder._probe_tensorflow()
    np.testing.assert_allclose(gradients, recorder._gradients(), rtol=1e-3)
    np.testing.assert_allclose(np.concatenate(peaks), np.concatenate(peaks_tf), atol=1e-4)
    np.testing.assert_allclose(embedding.astype(np.float32), embedding_tf.astype(np.float32), atol=2e-2)
    np.testing.assert_allclose(probabilities.astype(np.float32), probabilities_tf.astype(np.float32), atol=2e-3)


def test_cnn_run_records_through_tensorflow_with_a_reduced_embedding():
    run = train(RunConfig(arch="cnn", layers=1, units=4, kernel_size=3, epochs=1, batch_size=256))
    record = snapshots.read_inside(run.arrays)
    assert record.weight_layers == ["conv_1", "probabilities"]
    # 14x14x4 = 784 flattened features, reduced to 256, then to the final epoch's 16 principal axes.
    assert record.embedding.shape == (2, snapshots.PROBE_SIZE, snapshots.EMBEDDING_COMPONENTS)
    assert record.dead_share.shape == (2, 1)
    assert snapshots.graph_epochs(run.arrays) == []  # a CNN is drawn as blocks: no weights kept for a picture


def test_logistic_regression_has_no_embedding():
    run = train(RunConfig(layers=0, epochs=1, batch_size=512))
    record = snapshots.read_inside(run.arrays)
    assert record.embedding is None and record.activation_layers == []
    assert record.weight_layers == ["probabilities"]


def test_record_survives_the_cache(cache_dir, mlp_run):
    cache.save(mlp_run)
    loaded = cache.load(mlp_run.config)
    record = snapshots.read_inside(loaded.arrays)
    np.testing.assert_allclose(record.embedding, snapshots.read_inside(mlp_run.arrays).embedding)
    assert loaded.meta["size_bytes"] < 5_000_000


def test_damaged_records_raise_and_old_runs_have_none(mlp_run):
    assert snapshots.read_inside({}) is None
    assert snapshots.read_inside({"snapshots": np.zeros((1, 2, 2, 2))}) is None  # a toy run's boundary grids only
    missing = {name: value for name, value in mlp_run.arrays.items() if name != "inside_gradient_norms"}
    with pytest.raises(snapshots.SnapshotError):
        snapshots.read_inside(missing)
    wrong = dict(mlp_run.arrays, inside_embedding=mlp_run.arrays["inside_embedding"][:1])
    with pytest.raises(snapshots.SnapshotError):
        snapshots.read_inside(wrong)


def test_recording_can_be_switched_off_and_a_failing_recorder_loses_only_its_arrays(monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_RECORD_INSIDE", "0")
    assert snapshots.make_recorders(RunConfig(), None) == []

    class Broken:
        def arrays(self):
            raise RuntimeError("boom")

    class Fine:
        def arrays(self):
            return {"inside_x": np.zeros(1)}

    assert list(snapshots.collect_arrays([Broken(), Fine()])) == ["inside_x"]


def _small_splits(n_test: int):
    from core.data import Splits

    full = load_mnist("embedded")
    return Splits(full.x_train[:300], full.y_train[:300], full.x_val[:50], full.y_val[:50],
                  full.x_test[:n_test], full.y_test[:n_test], source="a slice")


def test_cnn_probe_of_odd_size_is_chunked_and_padded(monkeypatch):
    # 260 test digits in chunks of at most 250: two equal chunks of 130 (one traced shape), every digit answered once.
    monkeypatch.setattr(snapshots, "PROBE_CHUNK", 250)
    run = train(RunConfig(arch="cnn", layers=1, units=2, kernel_size=3, epochs=1, batch_size=128), splits=_small_splits(260))
    record = snapshots.read_inside(run.arrays)
    assert record.probabilities.shape == (2, 260, 10) and record.embedding.shape[:2] == (2, 260)


def test_a_recording_failure_never_costs_the_training(monkeypatch):
    from core import inside

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(inside, "quantile_summary", broken)
    run = train(RunConfig(layers=1, units=4, epochs=1, batch_size=256), splits=_small_splits(40))
    assert run.meta["epochs_run"] == 1 and not snapshots.has_inside_record(run.arrays)


def test_the_time_budget_admits_a_record_only_while_recording_stays_within_its_share():
    # Nothing recorded yet beyond epoch 0's 0.1 s: after 1 s of fitting, 4 % (0.04 s) is not enough for another.
    assert not snapshots.within_budget(0.1, 1, elapsed_seconds=1.1, budget=0.04)
    # After 10 s of fitting, 0.1 s + 0.1 s = 0.2 s <= 0.4 s: record.
    assert snapshots.within_budget(0.1, 1, elapsed_seconds=10.1, budget=0.04)
    assert snapshots.within_budget(5.0, 1, elapsed_seconds=5.0, budget=1.0)  # 1 = every chosen epoch


def test_a_short_training_under_a_zero_budget_records_before_training_and_its_last_epoch(monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_RECORD_BUDGET", "0")
    run = train(RunConfig(arch="mlp", layers=1, units=8, epochs=3, batch_size=512, seed=41))
    record = snapshots.read_inside(run.arrays)
    assert list(record.epochs) == [0, 3]
    assert record.embedding.shape[0] == 2


@pytest.mark.parametrize("raw, expected", [("0.1", 0.1), ("7", 1.0), ("-1", 0.0), ("nan", snapshots.RECORD_BUDGET), ("x", snapshots.RECORD_BUDGET)])
def test_the_budget_setting_is_clamped_and_bad_values_fall_back(monkeypatch, raw, expected):
    monkeypatch.setenv("NEURAL_LAB_RECORD_BUDGET", raw)
    assert snapshots.record_budget() == expected


def test_an_entry_trained_before_recording_gets_its_before_and_final_views_from_the_saved_model(monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_RECORD_INSIDE", "0")
    config = RunConfig(arch="mlp", layers=1, units=8, epochs=2, batch_size=512, seed=43)
    run = train(config)
    assert snapshots.read_inside(run.arrays) is None  # as if trained before recording existed
    arrays = snapshots.record_saved_model(run.model, config, load_mnist("embedded"), epochs_run=2)
    record = snapshots.read_inside(arrays)
    assert list(record.epochs) == [0, 2]
    splits = load_mnist("embedded")
    saved_answers = np.asarray(run.model.predict_on_batch(splits.x_test[record.probe_index]))
    np.testing.assert_allclose(record.probabilities[1], saved_answers, atol=1e-3)  # the saved model (stored as float16)
    assert np.abs(record.probabilities[0] - saved_answers).max() > 0.05  # epoch 0 is the untrained network
    assert snapshots.record_saved_model(run.model, RunConfig(task="toy", dataset="xor"), load_mnist("embedded"), 2) == {}


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"]


def test_the_recorder_keeps_numpy_blas_on_one_thread_while_the_training_goes_on(monkeypatch):
    # OpenBLAS's extra threads spin on the second core after every call, taking it from the training:
    # that, not the recording itself, was most of the recording's wall-clock cost (bench/inside.py).
    pytest.importorskip("threadpoolctl")
    from core import inside

    seen: list[list[int]] = []
    real_forward = inside.mlp_forward

    def forward(*args, **kwargs):
        seen.append(_blas_threads())
        return real_forward(*args, **kwargs)

    monkeypatch.setattr(inside, "mlp_forward", forward)
    outside = _blas_threads()
    run = train(RunConfig(layers=1, units=4, epochs=2, batch_size=256), splits=_small_splits(40))
    assert list(snapshots.read_inside(run.arrays).epochs) == [0, 1, 2]
    assert seen and all(threads == [1] * len(threads) for threads in seen)
    assert _blas_threads() == outside  # the process's own setting is given back after each record


def test_the_cnn_embedding_reduction_is_computed_once_and_is_the_seeded_matrix():
    from core import inside

    first = snapshots._embedding_reduction(300)
    assert snapshots._embedding_reduction(300) is first  # later trainings in the process reuse it
    np.testing.assert_array_equal(first, inside.random_reduction(300, snapshots.MAX_EMBEDDING_WIDTH))
    assert not first.flags.writeable  # shared between runs: nobody may change it


def test_an_mlp_run_records_its_network_picture_at_every_recorded_epoch(mlp_run):
    arrays = mlp_run.arrays
    assert snapshots.graph_epochs(arrays) == [0, 1, 2]
    weights, shown = snapshots.graph_at(arrays, 2)
    dense = [layer for layer in mlp_run.model.layers if type(layer).__name__ == "Dense"]
    assert [kernel.shape for kernel, _ in weights] == [(784, 16), (16, 8), (8, 10)]
    assert [len(units) for units in shown] == [16, 16, 8, 10]  # 784 pixels: the 16 most wired-in are drawn
    for index, ((kernel, bias), layer) in enumerate(zip(weights, dense, strict=True)):
        rows, columns = np.ix_(shown[index], shown[index + 1]), shown[index + 1]
        np.testing.assert_allclose(kernel[rows], np.asarray(layer.kernel)[rows], atol=2e-3)  # float16
        np.testing.assert_allclose(bias[columns], np.asarray(layer.bias)[columns], atol=2e-3)
    undrawn = np.setdiff1d(np.arange(784), shown[0])
    assert not weights[0][0][undrawn].any()  # only the drawn units' weights are kept
    before, _ = snapshots.graph_at(arrays, 0)
    assert not np.allclose(before[0][0], weights[0][0])  # the replay moves
    stored = sum(value.nbytes for name, value in arrays.items() if name.startswith("inside_graph_"))
    assert stored < 5_000  # three epochs of 16 x 16 + 16 x 8 + 8 x 10 float16 weights, not the 784 x 16 first layer


def test_the_network_picture_is_cut_to_the_final_models_strongest_units():
    rng = np.random.default_rng(0)
    history = [[(rng.normal(size=(20, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)),
                (rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32))] for _ in range(3)]
    history[-1][0][0][7] *= 100  # input 7 is the most wired-in in the final model
    arrays = dict(snapshots.graph_arrays(history), inside_epochs=np.array([0, 1, 2]))
    from core import network

    final_shown = [network.shown_units(i) for i in network.unit_importance([k for k, _ in history[-1]])]
    for index in range(3):
        weights, shown = snapshots.graph_at(arrays, index)
        assert [list(units) for units in shown] == [list(units) for units in final_shown] and 7 in shown[0]
        picture = network.network_graph(weights, ["in", "hidden", "out"], shown=shown)
        truth = network.network_graph(history[index], ["in", "hidden", "out"], shown=final_shown)
        np.testing.assert_allclose(picture.weight, truth.weight, rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(np.concatenate(picture.biases), np.concatenate(truth.biases), rtol=1e-3, atol=1e-3)


def test_a_damaged_network_picture_raises_and_a_run_without_one_has_none(mlp_run):
    assert snapshots.graph_epochs({}) == [] and snapshots.graph_at({}, 0) is None
    arrays = mlp_run.arrays
    with pytest.raises(snapshots.SnapshotError):
        snapshots.graph_at(arrays, 3)  # 3 recorded epochs: 0, 1, 2
    with pytest.raises(snapshots.SnapshotError):
        snapshots.graph_at(dict(arrays, inside_graph_kernel_1=arrays["inside_graph_kernel_1"][:, :3]), 0)
    with pytest.raises(snapshots.SnapshotError):
        snapshots.graph_at({k: v for k, v in arrays.items() if k != "inside_graph_bias_0"}, 0)
    with pytest.raises(snapshots.SnapshotError):
        snapshots.graph_at(dict(arrays, inside_graph_units_1=arrays["inside_graph_units_1"] + 100), 0)
    with pytest.raises(snapshots.SnapshotError):
        snapshots.graph_at(dict(arrays, inside_graph_units_2=arrays["inside_graph_units_2"] - 100), 0)



def test_a_second_model_of_one_architecture_reuses_the_traced_functions_with_its_own_weights():
    import tensorflow as tf

    from core.models import build_model, compile_model

    splits = _small_splits(300)
    snapshots._TRACED.clear()
    for seed in (0, 1):
        config = RunConfig(arch="cnn", layers=1, units=4, kernel_size=3, epochs=1, seed=seed)
        model = compile_model(build_model(config), config, 1)
        recorder = snapshots.make_inside_recorder(config, splits)
        recorder.set_model(model)
        recorder.on_train_begin()
        record = recorder.records[0]
        expected = np.asarray(model.predict_on_batch(recorder.probe_x))
        np.testing.assert_allclose(record["probabilities"].astype(np.float32), expected, atol=2e-3)
        with tf.GradientTape() as tape:
            loss = model.loss(recorder.batch_y, model(recorder.batch_x, training=False))
        weighted = [layer for layer in model.layers if layer.trainable_weights]
        gradients = tape.gradient(loss, [v for layer in weighted for v in layer.trainable_weights])
        norms = [np.sqrt(sum(float(tf.reduce_sum(g**2)) for g in gradients[2 * i:2 * i + 2])) for i in range(len(weighted))]
        np.testing.assert_allclose(record["gradients"], norms, rtol=1e-3)
    assert len(snapshots._TRACED) == 1  # one architecture: traced once, used by both models
    functions = next(iter(snapshots._TRACED.values()))  # probe, gradients, both in one call (the one used: 500 digits)
    assert [function.experimental_get_tracing_count() for function in functions] == [0, 0, 1]
