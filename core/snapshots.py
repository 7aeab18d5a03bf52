"""What happens inside a network while it learns, recorded by the training itself.

Two Keras callbacks add arrays to a run (they land in the cache entry's `arrays.npz`):

- `WeightRecorder` (toy 2-D runs): every Dense layer's kernel and bias before training (epoch 0)
  and at the end of chosen epochs. Toy networks are tiny (tens to thousands of numbers), so the
  weights are kept exactly (float32) for the network picture and its replay.
- `InsideRecorder` (MNIST runs, MLP and CNN): on a fixed probe sample of 500 test digits (the same
  for every run), before training and after chosen epochs: the last hidden layer's activations
  (stored as coordinates on the final epoch's principal axes, see `core.inside`), the predicted
  probabilities, distribution summaries (quantiles) of every layer's weights and activations,
  the gradient norm per layer on one fixed training batch, and the share of dead ReLU units.

Readers (`weight_epochs`, `dense_weights_at`, `inside_record`) never raise on old or damaged
entries: a run trained before this module existed simply has no such arrays.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import logging
import os
import time
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("neural_lab.snapshots")

# -- toy runs: exact Dense weights per epoch ----------------------------------------------------

WEIGHT_EPOCHS = "weights_epochs"
WEIGHT_KERNEL = "weights_kernel_{}"
WEIGHT_BIAS = "weights_bias_{}"
# Toy weights are stored exactly; past this budget (a wide toy net over many epochs) epochs are thinned.
WEIGHT_BUDGET_BYTES = 2_000_000


def weight_epochs(arrays: dict) -> list[int]:
    """Epochs with recorded Dense weights (0 = before training), ascending; [] when the run has none."""
    epochs = arrays.get(WEIGHT_EPOCHS) if isinstance(arrays, dict) else None
    if epochs is None or WEIGHT_KERNEL.format(0) not in arrays:
        return []
    try:
        values = [int(e) for e in np.asarray(epochs).ravel()]
    except (TypeError, ValueError):
        return []
    return values


def _dense_count(arrays: dict) -> int:
    count = 0
    while WEIGHT_KERNEL.format(count) in arrays and WEIGHT_BIAS.format(count) in arrays:
        count += 1
    return count


def dense_weights_at(arrays: dict, epoch: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(kernel, bias) of every Dense layer (input side first, the output layer last) at the end of `epoch`.

    `epoch` 0 is before training. When `epoch` was not recorded (long runs keep every k-th
    epoch) the latest recorded epoch before it is used (the first one if none is before).
    None when the run has no weight snapshots or they are damaged.
    """
    epochs = weight_epochs(arrays)
    count = _dense_count(arrays) if epochs else 0
    if not epochs or not count:
        return None
    earlier = [i for i, e in enumerate(epochs) if e <= int(epoch)]
    index = earlier[-1] if earlier else 0
    layers = []
    try:
        for layer in range(count):
            kernels, biases = np.asarray(arrays[WEIGHT_KERNEL.format(layer)]), np.asarray(arrays[WEIGHT_BIAS.format(layer)])
            if kernels.ndim != 3 or biases.ndim != 2 or len(kernels) != len(epochs) or len(biases) != len(epochs):
                return None
            layers.append((kernels[index].astype(np.float32), biases[index].astype(np.float32)))
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    return layers


# -- an MNIST MLP's network picture at every recorded epoch ----------------------------------------
#
# The picture draws at most core.network.MAX_UNITS_SHOWN units per column, chosen once on the final
# weights. Only the weights between those units are kept per recorded epoch (float16): ~1-2 KB an
# epoch, where the whole first layer alone would be 200 KB.

GRAPH_SIZES = "inside_graph_sizes"
GRAPH_UNITS = "inside_graph_units_{}"
GRAPH_KERNEL = "inside_graph_kernel_{}"
GRAPH_BIAS = "inside_graph_bias_{}"


def graph_arrays(history: list[list[tuple[np.ndarray, np.ndarray]]]) -> dict[str, np.ndarray]:
    """The arrays of the picture's replay from every record's Dense (kernel, bias) stack (input side first)."""
    from core import network

    final = [np.asarray(kernel, dtype=np.float32) for kernel, _ in history[-1]]
    shown = [network.shown_units(importance) for importance in network.unit_importance(final)]
    out = {GRAPH_SIZES: np.asarray([final[0].shape[0]] + [kernel.shape[1] for kernel in final], dtype=np.int32)}
    for column, units in enumerate(shown):
        out[GRAPH_UNITS.format(column)] = units.astype(np.int32)
    for layer in range(len(final)):
        rows, columns = shown[layer], shown[layer + 1]
        out[GRAPH_KERNEL.format(layer)] = np.stack([np.asarray(stack[layer][0])[np.ix_(rows, columns)] for stack in history]).astype(np.float16)
        out[GRAPH_BIAS.format(layer)] = np.stack([np.asarray(stack[layer][1])[columns] for stack in history]).astype(np.float16)
    return out


def graph_epochs(arrays: dict) -> list[int]:
    """Recorded epochs (0 = before training) of the network picture's replay; [] when the run has none."""
    if not isinstance(arrays, dict) or GRAPH_SIZES not in arrays or "inside_epochs" not in arrays:
        return []
    try:
        return [int(epoch) for epoch in np.asarray(arrays["inside_epochs"]).ravel()]
    except (TypeError, ValueError):
        return []


def graph_at(arrays: dict, index: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]] | None:
    """The picture at the `index`-th recorded epoch (of `inside_epochs`): full-size (kernel, bias) per Dense
    layer, zero off the drawn units, and the drawn units per column (for core.network.network_graph's `shown`).

    None when the run recorded no picture (trained before it was recorded, or a CNN); SnapshotError when damaged.
    """
    if not isinstance(arrays, dict) or GRAPH_SIZES not in arrays:
        return None
    try:
        sizes = [int(size) for size in np.asarray(arrays[GRAPH_SIZES]).ravel()]
        shown = [np.asarray(arrays[GRAPH_UNITS.format(column)]).astype(np.int64).ravel() for column in range(len(sizes))]
        weights = []
        for layer in range(len(sizes) - 1):
            kernels = np.asarray(arrays[GRAPH_KERNEL.format(layer)], dtype=np.float32)
            biases = np.asarray(arrays[GRAPH_BIAS.format(layer)], dtype=np.float32)
            rows, columns = shown[layer], shown[layer + 1]
            if kernels.shape[1:] != (len(rows), len(columns)) or biases.shape[1:] != (len(columns),):
                raise ValueError(f"layer {layer}: kernels {kernels.shape}, biases {biases.shape} for {len(rows)} x {len(columns)} units")
            if not 0 <= index < min(len(kernels), len(biases)):
                raise IndexError(f"epoch index {index} of {min(len(kernels), len(biases))}")
            if any(len(units) and (units.min() < 0 or units.max() >= size)
                   for units, size in ((rows, sizes[layer]), (columns, sizes[layer + 1]))):
                raise ValueError(f"layer {layer}: units outside its {sizes[layer]} x {sizes[layer + 1]} kernel")
            kernel = np.zeros((sizes[layer], sizes[layer + 1]), dtype=np.float32)
            kernel[np.ix_(rows, columns)] = kernels[index]
            bias = np.zeros(sizes[layer + 1], dtype=np.float32)
            bias[columns] = biases[index]
            weights.append((kernel, bias))
    except (KeyError, IndexError, ValueError, TypeError) as error:
        raise SnapshotError(f"the recorded network picture is damaged ({type(error).__name__}: {error})") from None
    if not weights:
        raise SnapshotError("the recorded network picture has no layers")
    return weights, shown


def recorded_epochs(epochs: int, limit: int) -> list[int]:
    """0 (before training) plus every epoch, or every k-th for long runs (the last one always)."""
    step = max(1, int(np.ceil(epochs / max(1, limit))))
    chosen = list(range(step, epochs + 1, step))
    if not chosen or chosen[-1] != epochs:
        chosen.append(epochs)
    return [0] + chosen


@functools.cache
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController  # requirements.txt (scikit-learn needs it too)
    except ImportError:
        return None
    return ThreadpoolController()


def single_threaded_blas():
    """A context in which numpy's BLAS (OpenBLAS) uses one thread.

    The recorder's numpy work is small (a 500 x 784 by 784 x 128 product takes ~1 ms on one thread).
    Split over OpenBLAS's threads it gains nothing, and after every call those threads keep spinning
    on the second core for a while, so the training that goes on beside them lost ~0.1 s per record:
    that, not the recording itself, was most of the recording's wall-clock cost (bench/RESULTS-inside.md).
    """
    controller = _blas_controller()
    return controller.limit(limits=1, user_api="blas") if controller is not None else contextlib.nullcontext()


@functools.cache
def _embedding_reduction(width: int) -> np.ndarray:
    # The same seeded matrix for every run of that width (a QR of width x 256: ~50 ms, once per process).
    from core.inside import random_reduction

    with single_threaded_blas():
        matrix = random_reduction(width, MAX_EMBEDDING_WIDTH)
    matrix.setflags(write=False)
    return matrix


def _keras():
    # Imported lazily so the readers above work in processes that never load TensorFlow.
    import keras

    return keras


def _dense_layers(model) -> list:
    keras = _keras()
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def make_weight_recorder(config):
    """A Keras callback recording every Dense layer's (kernel, bias) at epoch 0 and chosen epochs (toy runs)."""
    keras = _keras()

    class WeightRecorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.wanted = set(recorded_epochs(config.epochs, limit=100))
            self.epochs: list[int] = []
            self.weights: list[list[tuple[np.ndarray, np.ndarray]]] = []
            self.skip = False

        def _record(self, epoch: int) -> None:
            if self.skip or epoch not in self.wanted:
                return
            layers = [(np.array(layer.kernel, dtype=np.float32), np.array(layer.bias, dtype=np.float32)) for layer in _dense_layers(self.model)]
            size = sum(k.nbytes + b.nbytes for k, b in layers)
            if size * len(self.wanted) > WEIGHT_BUDGET_BYTES:
                # Thin the epochs so the whole record fits the budget; skip when not even two fit.
                keep = WEIGHT_BUDGET_BYTES // max(1, size)
                if keep < 2:
                    self.skip = True
                    return
                self.wanted = set(recorded_epochs(config.epochs, limit=keep - 1))
                if epoch not in self.wanted:
                    return
            self.epochs.append(epoch)
            self.weights.append(layers)

        def on_train_begin(self, logs=None):
            self._record(0)

        def on_epoch_end(self, epoch, logs=None):
            self._record(epoch + 1)

        def arrays(self) -> dict[str, np.ndarray]:
            if self.skip or not self.weights:
                return {}
            keep = [i for i, e in enumerate(self.epochs) if e in self.wanted]
            out = {WEIGHT_EPOCHS: np.asarray([self.epochs[i] for i in keep], dtype=np.int32)}
            for layer in range(len(self.weights[0])):
                out[WEIGHT_KERNEL.format(layer)] = np.stack([self.weights[i][layer][0] for i in keep])
                out[WEIGHT_BIAS.format(layer)] = np.stack([self.weights[i][layer][1] for i in keep])
            return out

    return WeightRecorder()


# -- MNIST runs: the inside record -------------------------------------------------------------

# 500 test digits (about 50 per class): on the embedded set an epoch is 3,500 digits forward and
# backward, so answering 1,000 more every epoch cost ~15 % of the fit time (bench/RESULTS-inside.md).
PROBE_SIZE = 500
PROBE_SEED = 17
GRADIENT_BATCH = 128
MAX_RECORDED_EPOCHS = 50
# Share of a training's wall time the inside record may take (NEURAL_LAB_RECORD_BUDGET). Before training
# and the last epoch are always recorded; an epoch in between is recorded only while the recording so
# far plus one more record stays within this share of the time spent fitting. A long training (the
# tutorial CNNs) records every epoch; a 4-second MLP records a few (measured cost of a record: bench/inside.py).
RECORD_BUDGET = 0.04
EMBEDDING_COMPONENTS = 16  # principal axes of the final epoch kept per epoch (the page shows 2)
MAX_EMBEDDING_WIDTH = 256  # wider layers (a CNN's flattened features) are first reduced (core.inside.random_reduction)
QUANTILE_SAMPLE = 20_000  # values per layer and epoch the quantiles are computed from (a fixed random sample beyond that)
PROBE_CHUNK = 500  # a larger probe goes through the network in equal chunks of at most this many digits

INSIDE_PREFIX = "inside_"


class SnapshotError(ValueError):
    """A run's inside record exists but cannot be trusted (damaged or inconsistent arrays)."""


def probe_indices(n_test: int, size: int = PROBE_SIZE, seed: int = PROBE_SEED) -> np.ndarray:
    """Indices into the test split of the probe sample: the same digits for every run on that split."""
    if n_test <= size:
        return np.arange(n_test, dtype=np.int32)
    return np.sort(np.random.default_rng(seed).choice(n_test, size, replace=False)).astype(np.int32)


def _weighted_layers(model) -> list:
    keras = _keras()
    return [layer for layer in model.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]


def _activation_layers(model) -> list:
    keras = _keras()
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Activation)]


def _activation_name(layer) -> str:
    function = getattr(layer, "activation", None)
    return getattr(function, "__name__", str(function))


def _sample_positions(size: int, seed: int) -> np.ndarray | None:
    if size <= QUANTILE_SAMPLE:
        return None
    return np.random.default_rng(seed).integers(0, size, QUANTILE_SAMPLE)


def numpy_steps(model) -> tuple[list[tuple], list[int]] | None:
    """The model as core.inside.mlp_forward steps plus, per step, the index of the Keras layer it comes
    from; None when a layer has no numpy twin (a convolution: the recorder then uses TensorFlow)."""
    keras = _keras()
    steps: list[tuple] = []
    owners: list[int] = []
    identity = (keras.layers.Dropout, keras.layers.Reshape, keras.layers.RandomTranslation, keras.layers.RandomRotation,
                keras.layers.RandomZoom)
    for index, layer in enumerate(model.layers):
        if isinstance(layer, keras.layers.Rescaling):
            if np.any(np.asarray(layer.offset) != 0):
                return None
            added = [("scale", float(np.asarray(layer.scale)))]
        elif isinstance(layer, keras.layers.Flatten):
            added = [("flatten",)]
        elif isinstance(layer, identity):  # inactive at inference; a Reshape in an MLP is always followed by Flatten
            added = [("identity",)]
        elif isinstance(layer, keras.layers.Dense):
            added = [("dense", np.asarray(layer.kernel), np.asarray(layer.bias) if layer.use_bias else np.float32(0.0))]
            name = _activation_name(layer)
            if name != "linear":
                added.append(("activation", name))
        elif isinstance(layer, keras.layers.BatchNormalization):
            scale = 1.0 / np.sqrt(np.asarray(layer.moving_variance) + layer.epsilon)
            if layer.scale:
                scale = scale * np.asarray(layer.gamma)
            shift = -np.asarray(layer.moving_mean) * scale + (np.asarray(layer.beta) if layer.center else 0.0)
            added = [("affine", scale.astype(np.float32), shift.astype(np.float32))]
        elif isinstance(layer, keras.layers.Activation):
            added = [("activation", _activation_name(layer))]
        else:
            return None
        steps += added
        owners += [index] * len(added)
    if not steps or steps[-1] != ("activation", "softmax"):
        return None
    return steps, owners


# Traced probe and gradient functions of recent architectures, reused by later trainings in the same process
# (a worker trains many variants of one network: another learning rate, dropout, epochs, seed). A trace and
# its first call cost ~0.13-0.16 s per training, ~5 % of a 3-second CNN fit; a warm record takes ~30 ms.
# The functions take the weights as arguments (keras.StatelessScope), so another model of the same
# architecture runs through the graph traced for the first one.
_TRACED: collections.OrderedDict = collections.OrderedDict()
TRACED_ARCHITECTURES = 3


def architecture_signature(model, *extra) -> str:
    """What the traced graph depends on: every layer's configuration and the weights' shapes (plus `extra`)."""
    weights = [(v.path.split("/", 1)[-1], tuple(v.shape), str(v.dtype)) for v in model.weights]
    return json.dumps([model.get_config(), weights, extra], sort_keys=True, default=str)


def make_inside_recorder(config, splits):
    """A Keras callback recording the inside record of an MNIST run (see the module docstring)."""
    import tensorflow as tf

    from core import inside

    keras = _keras()

    class InsideRecorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.probe_index = probe_indices(len(splits.y_test))
            self.probe_x = np.asarray(splits.x_test[self.probe_index], dtype=np.float32)
            self.probe_y = np.asarray(splits.y_test[self.probe_index], dtype=np.int32)
            batch = min(GRADIENT_BATCH, len(splits.y_train))
            self.batch_x = tf.constant(splits.x_train[:batch], dtype=tf.float32)
            labels = np.asarray(splits.y_train[:batch])
            self.batch_numpy = np.asarray(splits.x_train[:batch], dtype=np.float32)
            self.batch_labels = labels
            self.batch_y = tf.constant(np.eye(config.n_classes, dtype=np.float32)[labels] if config.label_smoothing else labels)
            self.wanted = set(recorded_epochs(config.epochs, MAX_RECORDED_EPOCHS))
            self.records: list[dict] = []
            self.reduction: np.ndarray | None = None
            self.seconds = 0.0  # spent recording (any tracing included: it happens in the first record)
            self.budget = record_budget()
            self.last_epoch = 0

        def on_train_begin(self, logs=None):
            self.failed = False
            self.started = time.perf_counter()
            self._safely(self._begin)

        def on_epoch_end(self, epoch, logs=None):
            self.last_epoch = epoch + 1
            if self.last_epoch not in self.wanted or self.failed:
                return
            elapsed = time.perf_counter() - self.started
            if self.last_epoch == config.epochs or within_budget(self.seconds, len(self.records), elapsed, self.budget):
                self._safely(self._record, self.last_epoch)

        def on_train_end(self, logs=None):
            # Early stopping (or the budget) may have left the last epoch unrecorded: the embedding's axes need it.
            if not self.failed and self.records and self.records[-1]["epoch"] != self.last_epoch and self.last_epoch > 0:
                self._safely(self._record, self.last_epoch)

        def _safely(self, step, *args) -> None:
            # A recording bug must never cost the student the training: log it and record nothing more.
            try:
                step(*args)
            except Exception as error:  # noqa: BLE001
                log.warning("recording inside the network failed (%s: %s); the training goes on without it",
                            type(error).__name__, str(error)[:300])
                self.failed = True

        def _begin(self) -> None:
            model = self.model
            self.weighted = _weighted_layers(model)
            self.activations = _activation_layers(model)
            names = [layer.name for layer in model.layers]
            self.head = model.get_layer("probabilities") if "probabilities" in names else model.layers[-1]
            self.embedding_layer = self.head.name
            # An MLP takes the whole probe at once; a CNN's feature maps are large, so it goes in equal chunks
            # (one traced shape; the last chunk is padded with repeats of its own digits, dropped afterwards).
            self.chunks = 1 if config.arch == "mlp" else int(np.ceil(len(self.probe_x) / PROBE_CHUNK))
            self.chunk = int(np.ceil(len(self.probe_x) / self.chunks))
            # An MLP is answered in numpy (a few ms); tracing TensorFlow functions would cost more than its training.
            self.numpy = numpy_steps(model) is not None
            self.traced = None
            self._record(0)

        def _traced_functions(self):
            """(probe, gradients, both in one call), bound to this model's weights: compiled once per architecture
            and process (called eagerly, Keras' per-layer overhead cost ~0.1 s per record)."""
            if self.traced is not None:
                return self.traced
            signature = architecture_signature(self.model, self.chunk, tuple(self.batch_x.shape), tuple(self.batch_y.shape),
                                               config.label_smoothing, QUANTILE_SAMPLE, MAX_EMBEDDING_WIDTH)
            traced = _TRACED.get(signature)
            if traced is None:
                traced = self._trace()
                _TRACED[signature] = traced
                while len(_TRACED) > TRACED_ARCHITECTURES:
                    _TRACED.popitem(last=False)
            _TRACED.move_to_end(signature)
            probe, gradients, both = traced
            self.traced = (lambda x: probe(x, self._weight_values()),
                           lambda: gradients(self.batch_x, self.batch_y, self._weight_values()),
                           lambda x: both(x, self.batch_x, self.batch_y, self._weight_values()))
            return self.traced

        def _weight_values(self) -> list:
            return [tf.convert_to_tensor(variable) for variable in self.model.weights]

        def _trace(self):
            """tf.functions of (inputs, weight values) through this model's layers: any model of its architecture can use them."""
            template = self
            variables = list(self.model.weights)
            positions = {id(variable): index for index, variable in enumerate(variables)}
            groups = [[positions[id(v)] for v in layer.trainable_weights] for layer in self.weighted]

            def probe(x, values):
                with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                    return template._forward(x)

            def gradient_norms(x, y, values):
                with tf.GradientTape() as tape:
                    tape.watch(values)
                    with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                        loss = template.model.loss(y, template.model(x, training=False))
                gradients = tape.gradient(loss, values)
                norms = []
                for group in groups:
                    squares = [tf.reduce_sum(tf.square(gradients[i])) for i in group if gradients[i] is not None]
                    norms.append(tf.sqrt(tf.add_n(squares)) if squares else tf.constant(0.0))
                return norms

            def probe_and_gradient_norms(x, batch_x, batch_y, values):  # one call per record: one graph to instantiate
                return (*probe(x, values), gradient_norms(batch_x, batch_y, values))

            return (tf.function(probe, reduce_retracing=True, autograph=False), tf.function(gradient_norms, autograph=False),
                    tf.function(probe_and_gradient_norms, autograph=False))

        def _forward(self, x):
            """Per activation layer: peak output per unit and a fixed sample of outputs; the embedding; the probabilities."""
            activation_ids = {id(layer) for layer in self.activations}
            h, peaks, samples, features = x, [], [], None
            per_chunk = max(1, QUANTILE_SAMPLE // self.chunks)
            for layer in self.model.layers:
                if layer is self.head:
                    features = tf.reshape(h, [tf.shape(h)[0], -1])
                h = layer(h, training=False)
                if id(layer) in activation_ids:
                    peaks.append(tf.reduce_max(tf.reshape(h, [-1, h.shape[-1]]), axis=0))
                    flat = tf.reshape(h, [-1])
                    size = self.chunk * int(np.prod(h.shape[1:]))
                    if size > per_chunk:  # fixed positions (static shapes): the same sample every epoch
                        positions = np.random.default_rng(len(samples)).integers(0, size, per_chunk)
                        flat = tf.gather(flat, tf.constant(positions))
                    samples.append(flat)
            if features is not None and features.shape[-1] > MAX_EMBEDDING_WIDTH:
                if self.reduction is None:
                    self.reduction = _embedding_reduction(int(features.shape[-1]))
                features = tf.matmul(features, tf.constant(self.reduction))
            return peaks, samples, features, h

        def _probe(self):
            return self._probe_numpy() if self.numpy else self._probe_tensorflow()

        def _probe_numpy(self):
            steps, owners = numpy_steps(self.model)
            layers = list(self.model.layers)
            inputs, outputs = inside.mlp_forward(steps, self.probe_x)
            quantiles, peaks = [], []
            for layer in self.activations:
                values = outputs[owners.index(layers.index(layer))]
                peaks.append(values.reshape(-1, values.shape[-1]).max(axis=0))
                flat = values.ravel()
                positions = _sample_positions(flat.size, seed=len(peaks))
                quantiles.append(inside.quantile_summary(flat if positions is None else flat[positions]))
            features = inputs[owners.index(layers.index(self.head))]
            return quantiles, peaks, features.reshape(len(features), -1).astype(np.float16), outputs[-1].astype(np.float16)

        def _probe_tensorflow(self):
            """Every activation layer's quantiles and peak per unit, the embedding and the probabilities on the probe."""
            peaks: list[np.ndarray | None] = [None] * len(self.activations)
            samples: list[list[np.ndarray]] = [[] for _ in self.activations]
            embedding, probabilities = [], []
            for start in range(0, len(self.probe_x), self.chunk):
                digits = self.probe_x[start : start + self.chunk]
                real = len(digits)
                if real < self.chunk:
                    digits = np.concatenate([digits, digits[np.arange(self.chunk - real) % real]])
                if self.chunks == 1:  # the whole probe and the gradient batch in one call (the usual case)
                    chunk_peaks, chunk_samples, features, outputs, norms = self._traced_functions()[2](tf.constant(digits))
                    self.pending_norms = [float(norm) for norm in norms]
                else:
                    chunk_peaks, chunk_samples, features, outputs = self._traced_functions()[0](tf.constant(digits))
                features = None if features is None else np.asarray(features)[:real]
                outputs = np.asarray(outputs)[:real]
                for i, (peak, sample) in enumerate(zip(chunk_peaks, chunk_samples, strict=True)):
                    peak = np.asarray(peak)
                    peaks[i] = peak if peaks[i] is None else np.maximum(peaks[i], peak)
                    samples[i].append(np.asarray(sample))
                if features is not None:
                    embedding.append(np.asarray(features).astype(np.float16))
                probabilities.append(np.asarray(outputs).astype(np.float16))
            quantiles = [inside.quantile_summary(np.concatenate(chunks)) for chunks in samples]
            return quantiles, peaks, np.concatenate(embedding) if embedding else None, np.concatenate(probabilities)

        def _gradients(self) -> list[float]:
            if self.numpy:
                steps, _ = numpy_steps(self.model)
                return inside.mlp_gradient_norms(steps, self.batch_numpy, self.batch_labels, config.label_smoothing)
            norms, self.pending_norms = getattr(self, "pending_norms", None), None
            return norms if norms is not None else [float(norm) for norm in self._traced_functions()[1]()]

        def _record(self, epoch: int) -> None:
            started = time.perf_counter()
            with single_threaded_blas():
                self._record_now(epoch)
            self.seconds += time.perf_counter() - started  # bench/inside.py reports it beside the fit time

        def _record_now(self, epoch: int) -> None:
            quantiles, peaks, embedding, probabilities = self._probe()
            weights = []
            for layer in self.weighted:
                kernel = np.asarray(layer.kernel).ravel()
                positions = _sample_positions(kernel.size, seed=1000)
                weights.append(inside.quantile_summary(kernel if positions is None else kernel[positions]))
            dead = [float(np.mean(peak <= 0)) if inside.is_relu_family(_activation_name(layer)) else np.nan
                    for layer, peak in zip(self.activations, peaks, strict=True)]
            self.records.append({
                "epoch": epoch, "activation_quantiles": quantiles, "dead": dead, "embedding": embedding,
                "probabilities": probabilities, "weight_quantiles": weights, "gradients": self._gradients(),
            })
            if config.arch == "mlp":  # the network picture's replay (a CNN is drawn as blocks, not weights)
                self.records[-1]["dense"] = [
                    (np.array(layer.kernel, dtype=np.float32), np.array(layer.bias, dtype=np.float32) if layer.use_bias
                     else np.zeros(layer.units, dtype=np.float32)) for layer in self.weighted
                ]

        def arrays(self) -> dict[str, np.ndarray]:
            if not self.records or getattr(self, "failed", False):
                return {}
            records = self.records
            out = {
                "inside_epochs": np.asarray([r["epoch"] for r in records], dtype=np.int32),
                "inside_probe_index": self.probe_index,
                "inside_probe_labels": self.probe_y,
                "inside_probabilities": np.stack([r["probabilities"] for r in records]),
                "inside_weight_layers": np.asarray([layer.name for layer in self.weighted]),
                "inside_weight_quantiles": np.asarray([r["weight_quantiles"] for r in records], dtype=np.float32),
                "inside_gradient_norms": np.asarray([r["gradients"] for r in records], dtype=np.float32),
                "inside_activation_layers": np.asarray([layer.name for layer in self.activations], dtype=str),
                "inside_activation_kinds": np.asarray([_activation_name(layer) for layer in self.activations], dtype=str),
                "inside_activation_quantiles": np.asarray([r["activation_quantiles"] for r in records], dtype=np.float32).reshape(
                    len(records), len(self.activations), len(inside.QUANTILE_LEVELS)
                ),
                "inside_dead_share": np.asarray([r["dead"] for r in records], dtype=np.float32).reshape(len(records), len(self.activations)),
            }
            if self.activations and any(np.all(np.isfinite(r["embedding"])) for r in records):  # a hidden layer exists: the embedding, on the final epoch's principal axes
                with single_threaded_blas():
                    coordinates, projection = inside.project_epochs(
                        np.stack([r["embedding"] for r in records]).astype(np.float32), EMBEDDING_COMPONENTS
                    )
                out["inside_embedding"] = coordinates.astype(np.float16)
                out["inside_embedding_explained"] = projection.explained
                out["inside_embedding_layer"] = np.asarray(self.embedding_layer)
            if all("dense" in record for record in records):
                out.update(graph_arrays([record["dense"] for record in records]))
            return out

    return InsideRecorder()


def record_saved_model(model, config, splits, epochs_run: int) -> dict[str, np.ndarray]:
    """The inside record of an entry trained before recording existed, from what is left of it: the network
    before training (the same architecture built again from the run's seed: the same starting weights) and
    the saved final model at `epochs_run`; nothing in between. {} for toy runs or when it cannot be computed."""
    if config.task == "toy":
        return {}
    from core.models import build_model, compile_model

    fresh = compile_model(build_model(config, splits.x_train), config, steps_per_epoch=1)
    recorder = make_inside_recorder(config, splits)
    recorder.budget = 1.0
    recorder.set_model(fresh)
    recorder.on_train_begin()  # records the untrained network as epoch 0
    recorder.set_model(model)
    recorder._safely(recorder._begin)  # the final model's layers and functions, recorded as one more record
    if recorder.failed or len(recorder.records) != 2:
        return {}
    recorder.records[-1]["epoch"] = max(1, int(epochs_run))
    return recorder.arrays()


@dataclass(frozen=True)
class InsideRecord:
    """The inside record of one MNIST run, checked for consistency (see make_inside_recorder)."""

    epochs: np.ndarray  # (E,) 0 = before training
    probe_index: np.ndarray  # (N,) indices into the test split
    probe_labels: np.ndarray  # (N,)
    probabilities: np.ndarray  # (E, N, classes) float32
    weight_layers: list[str]
    weight_quantiles: np.ndarray  # (E, L, Q)
    gradient_norms: np.ndarray  # (E, L)
    activation_layers: list[str]
    activation_kinds: list[str]
    activation_quantiles: np.ndarray  # (E, A, Q)
    dead_share: np.ndarray  # (E, A) NaN for layers that cannot die
    embedding: np.ndarray | None  # (E, N, K) on the final epoch's principal axes; None without hidden layer
    embedding_explained: np.ndarray | None  # (K,)
    embedding_layer: str | None

    def predictions(self, epoch_index: int) -> np.ndarray:
        return self.probabilities[epoch_index].argmax(axis=1)


def has_inside_record(arrays: dict) -> bool:
    """True when the run recorded anything of the inside record (it may still be damaged)."""
    return isinstance(arrays, dict) and any(str(name).startswith(INSIDE_PREFIX) for name in arrays)


def read_inside(arrays: dict) -> InsideRecord | None:
    """The run's inside record; None when it has none (trained before recording existed, or a toy run).

    Raises SnapshotError when the arrays are there but damaged (missing pieces, shapes that disagree).
    """
    if not has_inside_record(arrays):
        return None
    try:
        epochs = np.asarray(arrays["inside_epochs"]).astype(np.int64).ravel()
        probe_index = np.asarray(arrays["inside_probe_index"]).astype(np.int64).ravel()
        labels = np.asarray(arrays["inside_probe_labels"]).astype(np.int64).ravel()
        probabilities = np.asarray(arrays["inside_probabilities"], dtype=np.float32)
        weight_quantiles = np.asarray(arrays["inside_weight_quantiles"], dtype=np.float32)
        gradients = np.asarray(arrays["inside_gradient_norms"], dtype=np.float32)
        activation_quantiles = np.asarray(arrays["inside_activation_quantiles"], dtype=np.float32)
        dead = np.asarray(arrays["inside_dead_share"], dtype=np.float32)
        weight_layers = [str(n) for n in np.asarray(arrays["inside_weight_layers"]).ravel()]
        activation_layers = [str(n) for n in np.asarray(arrays["inside_activation_layers"]).ravel()]
        kinds = [str(n) for n in np.asarray(arrays["inside_activation_kinds"]).ravel()]
        embedding = arrays.get("inside_embedding")
        embedding = None if embedding is None else np.asarray(embedding, dtype=np.float32)
        explained = arrays.get("inside_embedding_explained")
        explained = None if explained is None else np.asarray(explained, dtype=np.float32).ravel()
        layer = arrays.get("inside_embedding_layer")
        layer = None if layer is None else str(np.asarray(layer).ravel()[0]) if np.asarray(layer).size else None
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise SnapshotError(f"the recorded inside arrays are incomplete ({type(error).__name__}: {error})") from None
    n_epochs, n_probe = len(epochs), len(labels)
    checks = [
        n_epochs > 0 and n_probe > 0 and len(probe_index) == n_probe,
        probabilities.ndim == 3 and probabilities.shape[:2] == (n_epochs, n_probe),
        weight_quantiles.ndim == 3 and weight_quantiles.shape[:2] == (n_epochs, len(weight_layers)),
        gradients.shape == (n_epochs, len(weight_layers)),
        activation_quantiles.ndim == 3 and activation_quantiles.shape[:2] == (n_epochs, len(activation_layers)),
        dead.shape == (n_epochs, len(activation_layers)) and len(kinds) == len(activation_layers),
        embedding is None or (embedding.ndim == 3 and embedding.shape[:2] == (n_epochs, n_probe)),
        bool(np.all(np.diff(epochs) > 0)),
    ]
    if not all(checks):
        raise SnapshotError("the recorded inside arrays do not fit together (shapes disagree)")
    return InsideRecord(
        epochs=epochs, probe_index=probe_index, probe_labels=labels, probabilities=probabilities,
        weight_layers=weight_layers, weight_quantiles=weight_quantiles, gradient_norms=gradients,
        activation_layers=activation_layers, activation_kinds=kinds, activation_quantiles=activation_quantiles,
        dead_share=dead, embedding=embedding, embedding_explained=explained, embedding_layer=layer,
    )


# -- the hook core.training uses ----------------------------------------------------------------


def record_budget() -> float:
    """RECORD_BUDGET, or NEURAL_LAB_RECORD_BUDGET (a share between 0 and 1; 1 records every chosen epoch)."""
    try:
        value = float(os.environ.get("NEURAL_LAB_RECORD_BUDGET", RECORD_BUDGET))
    except ValueError:
        return RECORD_BUDGET
    return min(1.0, max(0.0, value)) if np.isfinite(value) else RECORD_BUDGET


def within_budget(recording_seconds: float, records: int, elapsed_seconds: float, budget: float) -> bool:
    """May one more record be taken? Yes while recording so far plus one more average record stays within
    `budget` of the time spent fitting (`elapsed_seconds` minus the recording itself)."""
    if budget >= 1.0:
        return True
    next_record = recording_seconds / max(1, records)
    fitting = max(0.0, elapsed_seconds - recording_seconds)
    return recording_seconds + next_record <= budget * fitting


def recording_enabled() -> bool:
    """Recording is on unless NEURAL_LAB_RECORD_INSIDE=0 (bench/inside.py measures its cost that way)."""
    return os.environ.get("NEURAL_LAB_RECORD_INSIDE", "1") not in ("0", "false", "no")


def make_recorders(config, splits) -> list:
    """The recording callbacks for one training: weights for toy runs, the inside record for MNIST runs."""
    if not recording_enabled():
        return []
    if config.task == "toy":
        return [make_weight_recorder(config)]
    return [make_inside_recorder(config, splits)]


def collect_arrays(recorders: list) -> dict[str, np.ndarray]:
    """Every recorder's arrays; a recorder that fails loses its own arrays only, never the training."""
    arrays: dict[str, np.ndarray] = {}
    for recorder in recorders:
        try:
            arrays.update(recorder.arrays())
        except Exception as error:  # noqa: BLE001 - a recording bug must not throw away a finished training
            log.warning("recording %s failed: %s", type(recorder).__name__, error)
    return arrays
