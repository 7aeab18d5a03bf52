"""Sections of the Decision-boundaries page: the plane with its replay, the point controls, the
curves, the hidden neurons and the small multiples.

Each render_*() takes plain inputs (a RunConfig, a Run, the data splits, the plane's bounds) and
draws one part of the page; dashboard/app_pages/boundary.py calls them in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from core import boundary, cache, grids, jobs
from core.config import MAX_USER_POINTS, RunConfig
from core.data import Splits
from core.jobs import Job
from core.presets import LESSONS, PRESETS
from core.training import Run
from dashboard import selection, state, training_ui
from dashboard.charts import boundary as charts

MAIN_RESOLUTION = 200
NEURON_RESOLUTION = 60
PLAY_FRAMES = 30
LAYER_CHOICES = [0, 1, 2, 3, 4, 5, 6]
UNIT_CHOICES = [1, 2, 3, 4, 6, 8, 12, 16, 32]
TRAIN_NOW = "boundary_train_now"  # set before a rerun: train the (new) configuration as soon as the page loads

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class PlaneOptions:
    """What the toggles beside the plane chose."""

    new_class: int | None
    auto_retrain: bool
    discretize: bool
    show_test: bool


def render_no_data(config: RunConfig, error: ValueError, defaults: RunConfig) -> None:
    """The settings give no usable data: say so, and offer to clear the user's points."""
    st.error(f"These settings give no usable data, so nothing was trained: {error}.", icon="🚫")
    if config.user_points and st.button("Clear my points", icon=":material/delete:"):
        state.write_url(config.replace(user_points=()), defaults)
        st.rerun()


def render_summary(config: RunConfig, splits: Splits) -> None:
    """One line naming the configuration and the data; the lesson it is, if any."""
    st.markdown(f"**{config.describe()}** · {len(splits.y_train)} training points, {len(splits.y_test)} test points")
    lesson = next((name for name in LESSONS if PRESETS[name].config == config), None)
    if lesson is not None:
        st.caption(f"Lesson **{lesson}**: {PRESETS[lesson].summary}.")


def _live_boundary(config: RunConfig, splits: Splits, bounds: Bounds):
    """What the job panel draws above its curves: the boundary as the worker last published it."""
    train_x, train_y = splits.x_train, splits.y_train

    def draw(job) -> None:
        live = jobs.read_live_grid(job.key)
        if live is None:
            return
        epoch, probabilities = live
        figure = charts.boundary_figure(
            probabilities, bounds, train_x, train_y, n_classes=config.n_classes, height=420,
            title=f"live · epoch {epoch}/{config.epochs}",
        )
        st.plotly_chart(figure, width="stretch", config={"displayModeBar": False}, key=f"live-boundary-{job.key}")

    return draw


def render_training(config: RunConfig, run: Run | None, job: Job | None, splits: Splits, bounds: Bounds) -> None:
    """While no model is cached: the job's live panel (boundary + curves), or how it ended."""
    if run is not None:
        return
    if job is not None and job.active:
        training_ui.watch(config.key(), extra=_live_boundary(config, splits, bounds))
    elif (ended := training_ui.ended_message(job)) is not None:
        getattr(st, ended[0])(ended[1], icon=":material/stop_circle:")


def render_plane_options(config: RunConfig, defaults: RunConfig) -> PlaneOptions:
    """The class a click adds, the toggles, and 'Clear my points' (which rewrites the URL)."""
    new_class = st.segmented_control(
        "A click adds a point of class", list(range(config.n_classes)), default=1, key="boundary_click_class",
        format_func=lambda c: f"class {c}",
    )
    auto_retrain = st.toggle("Retrain after each new point", value=True, key="boundary_auto_retrain")
    discretize = st.toggle("Discretize (hard classes)", value=False, key="boundary_discretize")
    show_test = st.toggle("Show test points", value=True, key="boundary_show_test")
    if config.user_points:
        st.caption(f"{len(config.user_points)} point(s) of yours are in the training set and the URL.")
        if st.button("Clear my points", icon=":material/delete:", width="stretch"):
            state.write_url(config.replace(user_points=()), defaults)
            st.session_state[TRAIN_NOW] = auto_retrain
            st.rerun()
    return PlaneOptions(new_class, auto_retrain, discretize, show_test)


def _data_parts(splits: Splits, config: RunConfig):
    """(generated training points, their labels, the user's points (M, 3)): toy_splits appends the user's last."""
    user = np.asarray(config.user_points, dtype=np.float32).reshape(-1, 3)
    n_data = len(splits.y_train) - len(user)
    return splits.x_train[:n_data], splits.y_train[:n_data], user


def _figure_at(run: Run, epoch_index: int, splits: Splits, config: RunConfig, bounds: Bounds, discretize: bool, clickable: bool,
               show_test: bool):
    """Main figure at a replayed snapshot (epoch_index) or, for the last epoch, from the model itself."""
    snapshots = run.arrays.get("snapshots")
    epochs = run.arrays.get("snapshot_epochs")
    data_x, data_y, user = _data_parts(splits, config)
    last = snapshots is None or epoch_index >= len(epochs) - 1
    if last:
        probabilities = boundary.probability_grid(run.model, bounds, MAIN_RESOLUTION)

        def predict(points):
            return boundary.point_probabilities(run.model, points).argmax(axis=1)

        label = f"after epoch {run.meta.get('epochs_run', config.epochs)} (final model)"
    else:
        probabilities = np.asarray(snapshots[epoch_index], dtype=np.float32)

        def predict(points):
            return boundary.grid_lookup(probabilities, bounds, points).argmax(axis=1)

        label = f"replay · after epoch {int(epochs[epoch_index])}"
    return charts.boundary_figure(
        probabilities, bounds, data_x, data_y,
        splits.x_test if show_test else None, splits.y_test if show_test else None,
        user_points=user[:, :2], user_labels=user[:, 2].astype(int),
        train_predicted=predict(data_x), test_predicted=predict(splits.x_test) if show_test else None,
        user_predicted=predict(user[:, :2]) if len(user) else None,
        n_classes=config.n_classes, discretize=discretize, clickable=clickable, title=label,
    )


def _metrics_at(history: dict, epoch: int) -> None:
    index = max(0, min(epoch, len(history.get("loss", []))) - 1)

    def value(name: str) -> float:
        return history.get(name, [float("nan")] * (index + 1))[index]

    left, right = st.columns(2)
    left.metric("Train loss", f"{value('loss'):.3f}")
    right.metric("Test loss", f"{value('val_loss'):.3f}")
    left.metric("Train accuracy", f"{value('accuracy'):.1%}")
    right.metric("Test accuracy", f"{value('val_accuracy'):.1%}")


def render_untrained_plane(config: RunConfig, job: Job | None, splits: Splits, bounds: Bounds, options: PlaneOptions):
    """The data alone (clickable) with a Train button; returns the plot's selection event."""
    plot_slot = st.empty()
    if job is None or not job.active:
        st.info("This combination has not been trained yet. Press **Train** (a few seconds); the boundary forms live.")
        if st.button("Train", type="primary", icon=":material/play_arrow:"):
            st.session_state[TRAIN_NOW] = True
            st.rerun()
    data_x, data_y, user = _data_parts(splits, config)
    show_test = options.show_test
    figure = charts.boundary_figure(
        None, bounds, data_x, data_y, splits.x_test if show_test else None, splits.y_test if show_test else None,
        user_points=user[:, :2], user_labels=user[:, 2].astype(int), n_classes=config.n_classes, clickable=True,
        title="data (not trained yet)",
    )
    return _clickable_plot(plot_slot, figure, config)


def render_trained_plane(config: RunConfig, run: Run, splits: Splits, bounds: Bounds, options: PlaneOptions, side_column):
    """The boundary with the epoch replay (slider + Play), the metrics at that epoch in `side_column`.

    Returns (the plot's selection event, the epoch shown or None when the run kept no snapshots).
    """
    plot_slot = st.empty()
    snapshot_epochs = [int(e) for e in run.arrays.get("snapshot_epochs", [])]
    epoch_index = 0
    if len(snapshot_epochs) > 1:
        slider_column, button_column = st.columns([5, 1], vertical_alignment="bottom")
        epoch = slider_column.select_slider(
            "Replay: boundary after epoch", snapshot_epochs, value=snapshot_epochs[-1], key=f"replay_{run.key}",
            help="Snapshots recorded during training; scrubbing needs no retraining.",
        )
        epoch_index = snapshot_epochs.index(epoch)
        if button_column.button("Play", icon=":material/play_arrow:", width="stretch"):
            step = max(1, len(snapshot_epochs) // PLAY_FRAMES)
            for index in [*range(0, len(snapshot_epochs) - 1, step), len(snapshot_epochs) - 1]:
                plot_slot.plotly_chart(
                    _figure_at(run, index, splits, config, bounds, options.discretize, False, options.show_test),
                    width="stretch", config={"displayModeBar": False},
                )
                time.sleep(0.08)
            epoch_index = len(snapshot_epochs) - 1
    figure = _figure_at(run, epoch_index, splits, config, bounds, options.discretize, True, options.show_test)
    with side_column:
        shown = snapshot_epochs[epoch_index] if snapshot_epochs else config.epochs
        st.markdown(f"**At epoch {shown}**")
        _metrics_at(run.history, shown)
        for note in run.notes:
            st.warning(note)
    event = _clickable_plot(plot_slot, figure, config)
    return event, (snapshot_epochs[epoch_index] if snapshot_epochs else None)


def _clickable_plot(plot_slot, figure, config: RunConfig):
    return plot_slot.plotly_chart(
        figure, width="stretch", on_select="rerun", selection_mode="points",
        key=f"boundary_plot_{len(config.user_points)}", config={"displayModeBar": False},
    )


def _clicked_position(event) -> tuple[float, float] | None:
    """Plane coordinates of a click: the click layer's customdata, else the clicked data point's x, y."""
    points = selection.selected_points(event)
    if not points:
        return None
    values = selection.customdata_values(points[-1])
    try:
        x, y = (values[0], values[1]) if values and len(values) >= 2 else (points[-1]["x"], points[-1]["y"])
        return float(x), float(y)
    except (KeyError, TypeError, ValueError):
        return None


def add_clicked_point(config: RunConfig, event, options: PlaneOptions, defaults: RunConfig) -> None:
    """A click on the plane adds a point of the chosen class to the URL (and retrains if asked)."""
    clicked = _clicked_position(event)
    if clicked is None:
        return
    x, y = clicked
    if len(config.user_points) >= MAX_USER_POINTS:
        st.error(f"You already added {MAX_USER_POINTS} points, the most a dataset can hold. Clear some first.")
    elif options.new_class is None:
        st.warning("Choose the class a click should add first.")
    else:
        updated = config.replace(user_points=(*config.user_points, (round(x, 2), round(y, 2), int(options.new_class))))
        state.write_url(updated, defaults)
        st.session_state[TRAIN_NOW] = options.auto_retrain
        st.rerun()


def render_history(run: Run, shown_epoch: int | None) -> None:
    """Train/test loss and accuracy per epoch, the replayed epoch marked."""
    st.plotly_chart(charts.history_figure(run.history, upto=shown_epoch), width="stretch", config={"displayModeBar": False})


def render_neurons(run: Run, config: RunConfig, bounds: Bounds) -> None:
    """What every hidden neuron computes over the plane."""
    layer_grids = boundary.neuron_grids(run.model, bounds, NEURON_RESOLUTION)
    if not layer_grids:
        st.info("Logistic regression has no hidden neurons: the output is one straight line through the plane.")
        return
    st.caption(
        "What every hidden neuron computes over the plane (blue positive, red negative, white zero). "
        "Each first-layer neuron can only draw a straight edge; the output combines them. Two tanh units "
        "give two soft edges; ReLU units give half-planes that add up to corners."
    )
    st.plotly_chart(
        charts.neuron_figure(layer_grids, bounds, list(config.activation_per_layer())), width="stretch",
        config={"displayModeBar": False},
    )


@st.cache_data(max_entries=128, show_spinner=False)
def _final_grid(key: str) -> tuple[np.ndarray | None, float | None]:
    """Last snapshot and test accuracy of a cached run (for the small multiples)."""
    run = cache.load(key)
    if run is None:
        return None, None
    return boundary.final_snapshot(run.arrays), float(run.meta.get("test_accuracy", float("nan")))


def render_small_multiples(config: RunConfig, bounds: Bounds, discretize: bool) -> None:
    """The same data and settings over layers (rows) x units (columns), each from the cache; trains the missing."""
    st.caption("The same data and settings with different depths (rows) and widths (columns), each from the cache.")
    picks_left, picks_right = st.columns(2)
    layer_counts = picks_left.multiselect("Layers (rows)", LAYER_CHOICES, default=[1, 2, 3], key="multiples_layers")
    unit_counts = picks_right.multiselect("Units per layer (columns)", UNIT_CHOICES, default=[2, 4, 8], key="multiples_units")
    if not layer_counts or not unit_counts:
        st.info("Choose at least one layer count and one width.")
        return
    layer_counts, unit_counts = sorted(layer_counts), sorted(unit_counts)
    rows = grids.layers_by_units(config, layer_counts, unit_counts)
    unique = list({c.key(): c for row in rows for c in row}.values())
    missing = [c for c in unique if not cache.exists(c)]
    training_ui.train_missing(missing, label="Small multiples", button="Train the {count} missing combination(s)", icon=":material/grid_view:")
    found = [[_final_grid(c.key()) if cache.exists(c) else (None, None) for c in row] for row in rows]
    if missing:
        st.caption(f"{len(missing)} of {len(unique)} combinations are not trained yet (blank cells).")
    st.plotly_chart(
        charts.small_multiples_figure(
            [[grid for grid, _ in row] for row in found], bounds,
            [f"{n} layer{'s' if n != 1 else ''}" if n else "logistic" for n in layer_counts],
            [f"{u} units" for u in unit_counts], [[score for _, score in row] for row in found], discretize=discretize,
        ),
        width="stretch", config={"displayModeBar": False},
    )
