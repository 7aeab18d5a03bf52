"""Decision boundaries: what a small network learns on 2-D toy data, drawn over the whole plane.

The seed-003 lessons in one click each (logistic regression on two blobs, 2 vs 4 hidden units
with tanh vs ReLU on the four blocks, two layers on XOR), the boundary forming live during
training, an epoch replay from the cached snapshots, every hidden neuron's own map, and a grid
of architectures side by side. Clicking on the plane adds a point of the chosen class.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the page must also run standalone (AppTest, `streamlit run` on this file)
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from core import boundary, cache, jobs  # noqa: E402
from core.config import MAX_USER_POINTS, RunConfig  # noqa: E402
from core.data import toy_bounds, toy_splits  # noqa: E402
from core.presets import (  # noqa: E402
    BOUNDARY_DEFAULTS,
    LESSONS,
    PRESETS,  # noqa: E402
)
from dashboard import controls, resources, selection, state, training_ui  # noqa: E402
from dashboard.charts import boundary as charts  # noqa: E402

DEFAULTS = BOUNDARY_DEFAULTS
MAIN_RESOLUTION = 200
NEURON_RESOLUTION = 60
PLAY_FRAMES = 30
LAYER_CHOICES = [0, 1, 2, 3, 4, 5, 6]
UNIT_CHOICES = [1, 2, 3, 4, 6, 8, 12, 16, 32]


def _live_boundary(config: RunConfig, splits, bounds):
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


@st.cache_data(max_entries=128, show_spinner=False)
def _final_grid(key: str) -> tuple[np.ndarray | None, float | None]:
    """Last snapshot and test accuracy of a cached run (for the small multiples)."""
    run = cache.load(key)
    if run is None:
        return None, None
    return boundary.final_snapshot(run.arrays), float(run.meta.get("test_accuracy", float("nan")))


def _data_parts(splits, config: RunConfig):
    """(generated training points, their labels, the user's points (M, 3)): toy_splits appends the user's last."""
    user = np.asarray(config.user_points, dtype=np.float32).reshape(-1, 3)
    n_data = len(splits.y_train) - len(user)
    return splits.x_train[:n_data], splits.y_train[:n_data], user


def _figure_at(run, epoch_index: int, splits, config, bounds, discretize: bool, clickable: bool, show_test: bool):
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


def _metrics_at(history: dict, epoch: int) -> None:
    index = max(0, min(epoch, len(history.get("loss", []))) - 1)
    value = lambda name: history.get(name, [float("nan")] * (index + 1))[index]  # noqa: E731
    left, right = st.columns(2)
    left.metric("Train loss", f"{value('loss'):.3f}")
    right.metric("Test loss", f"{value('val_loss'):.3f}")
    left.metric("Train accuracy", f"{value('accuracy'):.1%}")
    right.metric("Test accuracy", f"{value('val_accuracy'):.1%}")


# -- page -----------------------------------------------------------------------------------------

st.title("Decision boundaries")
st.caption(
    "A small network on 2-D points: colour is the predicted probability over the whole plane, the black line "
    "is where the two classes are equally likely. Filled dots train the model, outlined dots test it, a cross "
    "marks a point the model gets wrong. Click the plane to add your own points."
)

config = state.config_from_url(DEFAULTS)
train_now = st.session_state.pop("boundary_train_now", False)

with st.sidebar:
    st.subheader("Seed-003 lessons")
    chosen = controls.preset_picker(LESSONS, config, label="Lesson")
    if chosen is not None:
        config, train_now = chosen, True
    st.subheader("Hyperparameters")
    submitted = controls.hyperparameter_form(config)
    if submitted is not None:
        config, train_now = submitted, True
state.write_url(config, DEFAULTS)

bounds = toy_bounds(config.dataset)
try:
    splits = toy_splits(config)
except ValueError as error:
    st.error(f"These settings give no usable data, so nothing was trained: {error}.", icon="🚫")
    if config.user_points and st.button("Clear my points", icon=":material/delete:"):
        state.write_url(config.replace(user_points=()), DEFAULTS)
        st.rerun()
    st.stop()

st.markdown(f"**{config.describe()}** · {len(splits.y_train)} training points, {len(splits.y_test)} test points")
lesson = next((name for name in LESSONS if PRESETS[name].config == config), None)
if lesson is not None:
    st.caption(f"Lesson **{lesson}**: {PRESETS[lesson].summary}.")

run = resources.cached_run(config.key())
job = jobs.read_job(config.key())
if run is None and train_now:
    job = training_ui.submit(config) or job
if run is None and job is not None and job.active:
    training_ui.watch(config.key(), extra=_live_boundary(config, splits, bounds))
elif run is None and (ended := training_ui.ended_message(job)) is not None:
    getattr(st, ended[0])(ended[1], icon=":material/stop_circle:")

plot_column, side_column = st.columns([3, 1.25], gap="medium")
with side_column:
    class_options = list(range(config.n_classes))
    new_class = st.segmented_control(
        "A click adds a point of class", class_options, default=1, key="boundary_click_class",
        format_func=lambda c: f"class {c}",
    )
    auto_retrain = st.toggle("Retrain after each new point", value=True, key="boundary_auto_retrain")
    discretize = st.toggle("Discretize (hard classes)", value=False, key="boundary_discretize")
    show_test = st.toggle("Show test points", value=True, key="boundary_show_test")
    if config.user_points:
        st.caption(f"{len(config.user_points)} point(s) of yours are in the training set and the URL.")
        if st.button("Clear my points", icon=":material/delete:", width="stretch"):
            state.write_url(config.replace(user_points=()), DEFAULTS)
            st.session_state["boundary_train_now"] = auto_retrain
            st.rerun()

epoch_index = 0
with plot_column:
    plot_slot = st.empty()
    if run is None:
        if job is None or not job.active:
            st.info("This combination has not been trained yet. Press **Train** (a few seconds); the boundary forms live.")
        if (job is None or not job.active) and st.button("Train", type="primary", icon=":material/play_arrow:"):
            st.session_state["boundary_train_now"] = True
            st.rerun()
        data_x, data_y, user = _data_parts(splits, config)
        figure = charts.boundary_figure(
            None, bounds, data_x, data_y, splits.x_test if show_test else None, splits.y_test if show_test else None,
            user_points=user[:, :2], user_labels=user[:, 2].astype(int), n_classes=config.n_classes, clickable=True,
            title="data (not trained yet)",
        )
    else:
        snapshot_epochs = [int(e) for e in run.arrays.get("snapshot_epochs", [])]
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
                        _figure_at(run, index, splits, config, bounds, discretize, False, show_test),
                        width="stretch", config={"displayModeBar": False},
                    )
                    time.sleep(0.08)
                epoch_index = len(snapshot_epochs) - 1
        figure = _figure_at(run, epoch_index, splits, config, bounds, discretize, True, show_test)
        with side_column:
            shown = snapshot_epochs[epoch_index] if snapshot_epochs else config.epochs
            st.markdown(f"**At epoch {shown}**")
            _metrics_at(run.history, shown)
            for note in run.notes:
                st.warning(note)
    event = plot_slot.plotly_chart(
        figure, width="stretch", on_select="rerun", selection_mode="points",
        key=f"boundary_plot_{len(config.user_points)}", config={"displayModeBar": False},
    )

clicked = _clicked_position(event)
if clicked is not None:
    x, y = clicked
    if len(config.user_points) >= MAX_USER_POINTS:
        st.error(f"You already added {MAX_USER_POINTS} points, the most a dataset can hold. Clear some first.")
    elif new_class is None:
        st.warning("Choose the class a click should add first.")
    else:
        updated = config.replace(user_points=(*config.user_points, (round(x, 2), round(y, 2), int(new_class))))
        state.write_url(updated, DEFAULTS)
        st.session_state["boundary_train_now"] = auto_retrain
        st.rerun()

if run is not None:
    with plot_column:
        st.plotly_chart(
            charts.history_figure(run.history, upto=(snapshot_epochs[epoch_index] if snapshot_epochs else None)),
            width="stretch", config={"displayModeBar": False},
        )

    inside, multiples = st.tabs(["Inside the network", "Small multiples"])
    with inside:
        grids = boundary.neuron_grids(run.model, bounds, NEURON_RESOLUTION)
        if not grids:
            st.info("Logistic regression has no hidden neurons: the output is one straight line through the plane.")
        else:
            st.caption(
                "What every hidden neuron computes over the plane (blue positive, red negative, white zero). "
                "Each first-layer neuron can only draw a straight edge; the output combines them. Two tanh units "
                "give two soft edges; ReLU units give half-planes that add up to corners."
            )
            st.plotly_chart(
                charts.neuron_figure(grids, bounds, list(config.activation_per_layer())), width="stretch",
                config={"displayModeBar": False},
            )

with (multiples if run is not None else st.expander("Small multiples: compare architectures")):
    st.caption("The same data and settings with different depths (rows) and widths (columns), each from the cache.")
    picks_left, picks_right = st.columns(2)
    layer_counts = picks_left.multiselect("Layers (rows)", LAYER_CHOICES, default=[1, 2, 3], key="multiples_layers")
    unit_counts = picks_right.multiselect("Units per layer (columns)", UNIT_CHOICES, default=[2, 4, 8], key="multiples_units")
    if not layer_counts or not unit_counts:
        st.info("Choose at least one layer count and one width.")
    else:
        layer_counts, unit_counts = sorted(layer_counts), sorted(unit_counts)
        grid_configs = boundary.architecture_grid(config, layer_counts, unit_counts)
        unique = list({c.key(): c for row in grid_configs for c in row}.values())
        missing = [c for c in unique if not cache.exists(c)]
        training = training_ui.active_keys(c.key() for c in missing)
        waiting = [c for c in missing if c.key() not in training]
        if waiting and st.button(f"Train the {len(waiting)} missing combination(s)", icon=":material/grid_view:"):
            queued, refused = training_ui.submit_many(waiting)
            if refused:
                st.warning(refused, icon=":material/hourglass_full:")
            training = sorted(set(training) | set(queued))
        if training:
            training_ui.watch_many(training, "Small multiples")
        cells, scores = [], []
        for row in grid_configs:
            row_cells, row_scores = [], []
            for cell_config in row:
                grid, score = _final_grid(cell_config.key()) if cache.exists(cell_config) else (None, None)
                row_cells.append(grid)
                row_scores.append(score)
            cells.append(row_cells)
            scores.append(row_scores)
        if missing:
            st.caption(f"{len(missing)} of {len(unique)} combinations are not trained yet (blank cells).")
        st.plotly_chart(
            charts.small_multiples_figure(
                cells, bounds, [f"{n} layer{'s' if n != 1 else ''}" if n else "logistic" for n in layer_counts],
                [f"{u} units" for u in unit_counts], scores, discretize=discretize,
            ),
            width="stretch", config={"displayModeBar": False},
        )
