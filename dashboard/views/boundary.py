"""Sections of the Decision-boundaries page: the plane with its replay, the point controls, the
curves, the hidden neurons and the small multiples.

Each render_*() takes plain inputs (a RunConfig, a Run, the data splits, the plane's bounds) and
draws one part of the page; dashboard/app_pages/boundary.py calls them in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

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
PLAYING = "boundary_playing"  # set by Play's callback: the next run of the plane animates the replay
DISCRETIZE = "boundary_discretize"
GRID_WANTED = "multiples_wanted"  # keys of the small-multiples cells the visitor asked to train
CLICK_FIX = Path(__file__).with_name("click_before_hover.html")

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
        help="Click anywhere on the plane to add a training point of this class (a star). "
        "Try: put a class-1 point deep inside class 0 and watch the boundary bend to reach it.",
    )
    auto_retrain = st.toggle(
        "Retrain after each new point", value=True, key="boundary_auto_retrain",
        help="On: every click trains the new data set in the background (a few seconds). Off: add several points "
        "first, then press Train. Try: off, add five points, then Train once.",
    )
    discretize = st.toggle(
        "Discretize (hard classes)", value=False, key=DISCRETIZE,
        help="Colour every place by its predicted class only, hiding how sure the model is. "
        "Try: on, then off again to see where the model is unsure (the pale band).",
    )
    show_test = st.toggle(
        "Show test points", value=True, key="boundary_show_test",
        help="Test points (white with a coloured ring) were never trained on: they show how the boundary generalises. "
        "Try: off, to see only what the model learned from.",
    )
    if config.user_points:
        st.caption(f"{len(config.user_points)} point(s) of yours are in the training set and the URL.")
        if st.button(
            "Clear my points", icon=":material/delete:", width="stretch",
            help="Removes every point you added (from the data and the address) and retrains if 'Retrain' is on.",
        ):
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
    last = snapshots is None or len(snapshots) == 0 or epoch_index >= len(epochs) - 1
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


@st.cache_resource(max_entries=96, show_spinner=False)
def _cached_figure_at(key: str, trained: str, epoch_index: int, config: RunConfig, discretize: bool, clickable: bool,
                      show_test: bool, _run: Run, _splits: Splits, _bounds: Bounds):
    """`_figure_at`, memoised per run, epoch and view: scrubbing back to an epoch already shown builds nothing.

    The data and the plane follow from `config` (its user points included), so (key, when it was trained, config,
    options) name the figure: an entry deleted and trained again gets new figures. cache_resource hands out the very same figure, so its chart keeps its element id and a click on it
    still reaches this run (see resources.confusion_chart); nothing mutates it.
    """
    return _figure_at(_run, epoch_index, _splits, config, _bounds, discretize, clickable, show_test)


def _metrics_at(history: dict, epoch: int) -> None:
    """'At epoch N' and the four metrics of that epoch (the same epoch the plot and the slider show)."""
    index = max(0, min(epoch, len(history.get("loss", []))) - 1)

    def value(name: str) -> float:
        values = history.get(name) or []
        return values[index] if index < len(values) else float("nan")

    st.markdown(f"**At epoch {epoch}**")
    left, right = st.columns(2)
    left.metric("Train loss", f"{value('loss'):.3f}")
    right.metric("Test loss", f"{value('val_loss'):.3f}")
    left.metric("Train accuracy", f"{value('accuracy'):.1%}")
    right.metric("Test accuracy", f"{value('val_accuracy'):.1%}")


def _untrained_plane(config: RunConfig, job: Job | None, splits: Splits, bounds: Bounds, options: PlaneOptions, n_train: int):
    """The data alone (clickable) with a Train button; returns the plot's selection event."""
    plot_slot = st.empty()
    if job is None or not job.active:
        seconds = boundary.estimated_train_seconds(config, n_train)
        st.info(
            f"This combination has not been trained yet. Press **Train** (about {max(1, round(seconds))} s on 2 cores); "
            "the boundary forms live."
        )
        if st.button(
            "Train", type="primary", icon=":material/play_arrow:",
            help="Trains these settings in a background worker; the boundary and the curves draw live, and the result "
            "is cached for everyone. Try: Train, then change one setting and Train again to compare.",
        ):
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


def _request_play(slider_key: str, last_epoch: int) -> None:
    """Play's callback (it runs before the script): animate, and leave the slider on the last epoch."""
    st.session_state[PLAYING] = True
    st.session_state[slider_key] = last_epoch


def _play_frames(count: int) -> list[int]:
    """Snapshot indices Play shows: about PLAY_FRAMES of them, the first and the last always."""
    step = max(1, count // PLAY_FRAMES)
    return [*range(0, count - 1, step), count - 1]


def _trained_plane(config: RunConfig, run: Run, splits: Splits, bounds: Bounds, options: PlaneOptions, metrics_slot):
    """The boundary with its epoch replay (slider + Play), the metrics at that epoch in `metrics_slot` and the
    curves with that epoch marked: the three always show the same epoch, during Play too. Returns the click event."""
    plot_slot = st.empty()
    snapshot_epochs = [int(e) for e in run.arrays.get("snapshot_epochs", [])]
    history = run.history
    final_epoch = int(run.meta.get("epochs_run", len(history.get("loss", [])) or config.epochs))
    slider_key = f"replay_{run.key}"
    if len(snapshot_epochs) > 1:
        slider_column, button_column = st.columns([5, 1], vertical_alignment="bottom")
        slider_slot = slider_column.empty()
        button_column.button(
            "Play", icon=":material/play_arrow:", width="stretch", on_click=_request_play,
            args=(slider_key, snapshot_epochs[-1]),
            help="Animates the boundary from the first epoch to the last (from recorded snapshots, no retraining); "
            "the slider, the metrics and the curves follow. Try: watch where the boundary first bends.",
        )
    else:
        slider_slot = None
        why = "it was trained for a single epoch" if snapshot_epochs else "it was cached without per-epoch snapshots"
        st.caption(f"No replay for this entry: {why}, so only the final model can be shown.")
    history_slot = st.empty()

    def show(index: int | None, clickable: bool, frame_key: str):
        """Plot, metrics and curves at snapshot `index` (None: the final model)."""
        epoch = snapshot_epochs[index] if index is not None else final_epoch
        figure = _cached_figure_at(
            run.key, str(run.meta.get("created", "")), index if index is not None else len(snapshot_epochs), config,
            options.discretize, clickable, options.show_test, run, splits, bounds,
        )
        with metrics_slot.container():
            _metrics_at(history, epoch)
            for note in run.notes:
                st.warning(note)
        # While Play runs, a dotted line on the curves follows the epoch. A slider step keeps the curves as they are (the
        # metrics beside the plot name the epoch): redrawing them at each step doubled its wait (0.37 -> 0.52 s median,
        # bench/interactions.py), past the half second an instrument must answer in.
        playing = frame_key.startswith("play")
        history_slot.plotly_chart(
            charts.history_figure(history, upto=epoch if playing else None, epochs=final_epoch), width="stretch",
            config={"displayModeBar": False}, key=f"boundary-history-{frame_key}" if playing else "boundary-history",
        )
        return figure

    if slider_slot is not None and st.session_state.pop(PLAYING, False):
        frames = _play_frames(len(snapshot_epochs))
        for number, index in enumerate(frames, start=1):
            slider_slot.progress(number / len(frames), text=f"Playing: epoch {snapshot_epochs[index]} of {snapshot_epochs[-1]}")
            plot_slot.plotly_chart(show(index, False, f"play-{index}"), width="stretch", config={"displayModeBar": False},
                                   key=f"boundary-play-{index}")
            time.sleep(0.08)
    if slider_slot is None:
        return _clickable_plot(plot_slot, show(None, True, "final"), config)
    if st.session_state.get(slider_key) not in snapshot_epochs:
        st.session_state[slider_key] = snapshot_epochs[-1]
    epoch = slider_slot.select_slider(
        "Replay: boundary after epoch", snapshot_epochs, key=slider_key,
        help="Snapshots recorded during training; scrubbing needs no retraining. Try: the first epochs, where the "
        "boundary moves most.",
    )
    index = snapshot_epochs.index(epoch)
    return _clickable_plot(plot_slot, show(index, True, "shown"), config)


@st.fragment
def render_plane(config: RunConfig, run: Run | None, job: Job | None, splits: Splits, bounds: Bounds, defaults: RunConfig,
                 discretize_on_page: bool) -> None:
    """The plane, its options, the replay, the metrics and the curves: one fragment, so a replay step, a toggle
    or a Play reruns only this section (a click that adds a point reruns the page: the data changed)."""
    plot_column, side_column = st.columns([3, 1.25], gap="medium")
    with side_column:
        options = render_plane_options(config, defaults)
        metrics_slot = st.empty()
    if options.discretize != discretize_on_page:
        st.rerun(scope="app")  # the small multiples below follow the toggle too
    with plot_column:
        n_train = len(splits.y_train)
        event = (_untrained_plane(config, job, splits, bounds, options, n_train) if run is None
                 else _trained_plane(config, run, splits, bounds, options, metrics_slot))
    add_clicked_point(config, event, options, defaults)


def render_click_fix() -> None:
    """A tiny script that lets a click on the plane count even when the mouse never hovered it (see the file)."""
    st.html(CLICK_FIX.read_text(), unsafe_allow_javascript=True, width="content")


def render_diagnosis(config: RunConfig, run: Run, defaults: RunConfig) -> None:
    """A run that ended low says why in one sentence (from its own curve) and offers the fix in one click."""
    diagnosis = boundary.diagnose(config, run.history)
    if diagnosis is None:
        return
    with st.container(border=True):
        st.markdown(f":material/lightbulb: **Why so low?** {diagnosis.reason}")
        if st.button(
            diagnosis.fix_label, icon=":material/upgrade:", key="boundary_fix",
            help=f"Opens and trains {diagnosis.fix.describe()} on the same data, so you can compare. Try: the back "
            "button returns to this run.",
        ):
            state.write_url(diagnosis.fix, defaults)
            st.session_state[TRAIN_NOW] = True
            st.rerun()


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


def _queue_refused_cells(missing: list[RunConfig]) -> None:
    """Finish a grid the visitor asked for: cells a queue bound refused are queued as earlier ones end.

    Pressing "Train the N missing" queues what the per-visitor bound allows; the rest used to wait for
    another press, so the grid never completed and the button stayed after its progress bar had gone.
    The page reruns whenever a cell ends (training_ui.watch_many), and each run queues what now fits.
    """
    pressed = st.session_state.get("multiples_train", False)
    wanted: set[str] = st.session_state.setdefault(GRID_WANTED, set())
    if pressed:
        wanted.update(config.key() for config in missing)
        return  # train_missing queues them in this run; what it could not, a later run does
    # A refused cell has no job record; one that failed or was stopped has, and is not queued again by itself.
    waiting = [c for c in missing if c.key() in wanted and jobs.read_job(c.key()) is None]
    if waiting:
        training_ui.submit_many(waiting)


def render_small_multiples(config: RunConfig, bounds: Bounds) -> None:
    """The same data and settings over layers (rows) x units (columns), each from the cache; trains the missing."""
    st.caption("The same data and settings with different depths (rows) and widths (columns), each from the cache.")
    picks_left, picks_right = st.columns(2)
    layer_counts = picks_left.multiselect(
        "Layers (rows)", LAYER_CHOICES, default=[1, 2, 3], key="multiples_layers",
        help="Hidden-layer counts to compare, one row each (0 = logistic regression). Try: 0, 1 and 2 on XOR.",
    )
    unit_counts = picks_right.multiselect(
        "Units per layer (columns)", UNIT_CHOICES, default=[2, 4, 8], key="multiples_units",
        help="Widths to compare, one column each. Try: 2 vs 8 units on the spiral.",
    )
    if not layer_counts or not unit_counts:
        st.info("Choose at least one layer count and one width.")
        return
    layer_counts, unit_counts = sorted(layer_counts), sorted(unit_counts)
    rows = grids.layers_by_units(config, layer_counts, unit_counts)
    unique = list({c.key(): c for row in rows for c in row}.values())
    missing = [c for c in unique if not cache.exists(c)]
    if missing:
        _queue_refused_cells(missing)
        training_ui.train_missing(missing, label="Small multiples", button="Train the {count} missing combination(s)",
                                  icon=":material/grid_view:", key="multiples_train")
        st.caption(f"{len(missing)} of {len(unique)} combinations are not trained yet (blank cells).")
    found = [[_final_grid(c.key()) if cache.exists(c) else (None, None) for c in row] for row in rows]
    st.plotly_chart(
        charts.small_multiples_figure(
            [[grid for grid, _ in row] for row in found], bounds,
            [f"{n} layer{'s' if n != 1 else ''}" if n else "logistic" for n in layer_counts],
            [f"{u} units" for u in unit_counts], [[score for _, score in row] for row in found],
            discretize=bool(st.session_state.get(DISCRETIZE, False)),
        ),
        width="stretch", config={"displayModeBar": False},
    )
