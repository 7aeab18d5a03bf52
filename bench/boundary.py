"""Decision-boundary timings measured in one run: grid evaluation, replay frame render, snapshot bytes.

    .venv/bin/python -m bench.boundary            (prints a markdown table)

Goals from issue 5: a 200x200 grid in < 30 ms, a replay frame rendered server side in < 50 ms.
Also: how long the page's default model (XOR, 2 layers of 4 tanh, 100 epochs, snapshots every
epoch) takes to train through core.training.train, as wall-clock and CPU seconds: on a shared,
loaded machine the CPU seconds are the better estimate of the wall time on an idle one.
"""

from __future__ import annotations

import io
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from core import boundary
from core.config import RunConfig
from core.data import toy_bounds, toy_splits
from core.presets import BOUNDARY_DEFAULTS
from core.training import train
from dashboard.charts import boundary as charts


def best_of(function, repeats: int = 7) -> tuple[float, float, float]:
    """(best wall ms, median wall ms, best CPU ms): on a loaded machine the CPU time is what the work costs."""
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        function()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return min(times) * 1000, float(np.median(times)) * 1000, min(cpu_times) * 1000


def main() -> None:
    config = RunConfig(task="toy", dataset="xor", layers=2, units=8, activation="tanh", n_samples=200, epochs=20, batch_size=16, learning_rate=0.03)
    splits = toy_splits(config)
    bounds = toy_bounds(config.dataset)
    started = time.perf_counter()
    run = train(config)
    train_seconds = time.perf_counter() - started
    model = run.model
    points = boundary.make_grid(bounds, 200).points
    boundary.probability_grid(model, bounds, 200)  # trace once
    rows = []
    rows.append(("200x200 grid, compiled (None,2) function", *best_of(lambda: boundary.probability_grid(model, bounds, 200))))
    rows.append(("200x200 grid, model.predict_on_batch", *best_of(lambda: model.predict_on_batch(points))))
    rows.append(("200x200 grid, model.predict", *best_of(lambda: model.predict(points, verbose=0), repeats=3)))
    boundary.neuron_grids(model, bounds, 60)
    rows.append(("neuron grids 60x60 (8+8 units)", *best_of(lambda: boundary.neuron_grids(model, bounds, 60))))

    snapshots = run.arrays["snapshots"]

    def replay_frame():
        probabilities = np.asarray(snapshots[len(snapshots) // 2], dtype=np.float32)
        predicted = boundary.grid_lookup(probabilities, bounds, splits.x_train).argmax(axis=1)
        figure = charts.boundary_figure(probabilities, bounds, splits.x_train, splits.y_train, splits.x_test, splits.y_test,
                                        train_predicted=predicted, clickable=True)
        return figure.to_json()

    rows.append(("replay frame: figure + JSON (100x100 snapshot, clickable)", *best_of(replay_frame)))

    def final_frame():
        probabilities = boundary.probability_grid(model, bounds, 200)
        figure = charts.boundary_figure(probabilities, bounds, splits.x_train, splits.y_train, splits.x_test, splits.y_test, clickable=True)
        return figure.to_json()

    rows.append(("final frame: 200x200 grid + figure + JSON", *best_of(final_frame)))

    buffer = io.BytesIO()
    np.savez_compressed(buffer, snapshots=snapshots, snapshot_epochs=run.arrays["snapshot_epochs"])
    per_epoch_raw = snapshots[0].nbytes
    per_epoch_compressed = buffer.getbuffer().nbytes / len(snapshots)

    wall, cpu = time.perf_counter(), time.process_time()
    default_run = train(BOUNDARY_DEFAULTS)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    print(f"Decision-boundary bench ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}); "
          f"model {config.describe()}, trained in {train_seconds:.1f} s ({train_seconds / config.epochs * 1000:.0f} ms/epoch incl. snapshot)\n")
    print("| measurement | best ms | median ms | best CPU ms |\n|---|---:|---:|---:|")
    for name, best, median, cpu in rows:
        print(f"| {name} | {best:.1f} | {median:.1f} | {cpu:.1f} |")
    print(f"\nSnapshot per epoch: {per_epoch_raw / 1024:.1f} KiB raw (100x100x2 float16), "
          f"{per_epoch_compressed / 1024:.1f} KiB compressed in arrays.npz; {len(snapshots)} snapshots for {config.epochs} epochs.")
    promised = boundary.estimated_train_seconds(BOUNDARY_DEFAULTS, len(toy_splits(BOUNDARY_DEFAULTS).y_train))
    print(f"\nPage default ({BOUNDARY_DEFAULTS.describe()}, {BOUNDARY_DEFAULTS.n_samples} points): trained in {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU in-process; train accuracy {default_run.history['accuracy'][-1]:.0%}, test {default_run.meta['test_accuracy']:.0%}; "
          f"the page promises about {promised:.0f} s on 2 cores through its worker (core.boundary.estimated_train_seconds).")


if __name__ == "__main__":
    main()
