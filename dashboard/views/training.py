"""Sections of the Train page: the run's status line, its curves, result, export, compare, and the sweep.

Each render_*() takes plain inputs (a RunConfig, a Run, a Job, a DataFrame) and draws one part of
the page; dashboard/app_pages/training.py calls them in order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core import cache, grids
from core.config import RunConfig
from core.data import FullMnistUnavailable, toy_splits
from core.jobs import Job
from dashboard import resources, training_ui
from dashboard.charts import training as charts
from dashboard.controls import UNIT_CHOICES
from dashboard.views.readings import render_readings

if TYPE_CHECKING:  # TensorFlow only once a model is shown (see the Train page)
    from core.training import Run

COMPARE_KEY = "compare_runs"
SWEEP_LAYERS = [1, 2, 3]
SWEEP_UNITS = [16, 64, 256]


def ago(created: str | None) -> str:
    """'3 minutes ago (2026-01-02 10:00 UTC)' from an ISO timestamp."""
    try:
        moment = datetime.fromisoformat(str(created))
    except ValueError:
        return "at an unknown time"
    seconds = max(0.0, (datetime.now(UTC) - moment).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            relative = f"{count} {unit}{'s' if count > 1 else ''} ago"
            break
    else:
        relative = "just now"
    return f"{relative} ({moment.strftime('%Y-%m-%d %H:%M')} UTC)"


def cache_badge(run: Run, waited: bool = False) -> str:
    """The green line over a loaded run; `waited`: this session waited while another one trained it."""
    meta = run.meta
    source = "Loaded: another session trained it while this one waited" if waited else "Loaded from cache"
    return (
        f"{source} — trained {ago(meta.get('created'))}, {meta.get('train_seconds', 0):.1f} s, "
        f"{meta.get('epochs_run', '?')} epochs. Nothing was trained{' here' if waited else ''}."
    )


def full_mnist_available() -> str | None:
    """None when full MNIST can be used, else the reason (offline)."""
    try:
        resources.mnist("full")
    except FullMnistUnavailable as error:
        return str(error)
    return None


def outcome_badge(run: Run, job: Job | None) -> str:
    """The green line over a model: trained by this session's job just now, loaded after waiting, or from the cache."""
    if job is not None and job.state == "done" and training_ui.announce_once(job.key):
        if job.cached:
            return cache_badge(run, waited=True)
        return f"Trained in {job.train_seconds or 0:.1f} s in the background and cached — test accuracy {run.test_accuracy:.2%}."
    return cache_badge(run)


def render_status(config: RunConfig, run: Run | None, job: Job | None) -> None:
    """Loaded / training (live panel) / stopped or failed / not trained yet."""
    if run is not None:
        st.success(outcome_badge(run, job), icon=":material/bolt:")
    elif job is not None and job.active:
        training_ui.watch(config.key())
    else:
        ended = training_ui.ended_message(job)
        if ended is not None:
            level, text = ended
            getattr(st, level)(text, icon=":material/stop_circle:")
            if job.history.get("loss"):
                epochs_done = len(job.history["loss"])
                st.caption(
                    f"**Stopped, not cached:** the curves of the {epochs_done} epoch{'s' if epochs_done != 1 else ''} it trained "
                    "(kept here for an hour; only complete runs are cached)."
                    if job.state == "cancelled" else "The curves up to where it ended (not cached):"
                )
                training_ui.draw_curves(job)
            elif job.state == "cancelled":
                st.caption("It stopped before its first epoch ended, so there are no curves to show.")
        st.info(f"**{config.describe()}** has not been trained yet. Press **Train / load** in the sidebar to train it.")


def best_cached(config: RunConfig, runs: pd.DataFrame) -> pd.Series | None:
    """The most accurate cached run of the same task (a row of resources.run_table()), or None.

    The shared rule of every page that needs a model (resources.choose_model: best test accuracy,
    ties: the most recently used), asked without an address or a session's last model.
    """
    if runs.empty or "key" not in runs:
        return None
    same_task = runs[(runs["task"] == config.task) & (runs["key"] != config.key())] if "task" in runs else runs
    choice = resources.choose_model(same_task)
    if choice.key is None:
        return None
    return same_task[same_task["key"] == choice.key].iloc[0]


def render_best_model_hint(config: RunConfig, runs: pd.DataFrame) -> str | None:
    """Under "not trained yet": one click opens the best cached model instead; returns its key when clicked."""
    best = best_cached(config, runs)
    if best is None:
        return None
    accuracy = pd.to_numeric(best.get("test_accuracy"), errors="coerce")
    if st.button(
        f"Open the best cached model: {str(best['description'])[:70]}" + ("" if pd.isna(accuracy) else f" · test {accuracy:.1%}"),
        icon=":material/star:", key="open_best_cached",
        help="Loads the cached model with the highest test accuracy (nothing is trained) and puts its settings in the "
        "sidebar and the address. Try: open it, then change one setting and press Train / load to see what that setting does.",
    ):
        return str(best["key"])
    return None


def render_curves(run: Run) -> None:
    """Loss and accuracy side by side, the train/validation gap in words, the early stop if any."""
    meta = run.meta
    columns = st.columns(2)
    for column, metric in zip(columns, ("loss", "accuracy"), strict=True):
        figure = charts.learning_curve(
            run.history, metric, epochs=run.config.epochs, best_epoch=meta.get("best_epoch"),
            early_stopped_at=meta.get("early_stopped_at"), classes=run.config.n_classes,
        )
        column.empty().plotly_chart(figure, width="stretch", key=f"final-{metric}")
    render_reading(run)
    if meta.get("early_stopped_at"):
        st.info(
            f"Early stopping ended the run at epoch {meta['early_stopped_at']} of {run.config.epochs}: validation loss had "
            f"not improved for 5 epochs; the weights of epoch {meta.get('best_epoch')} were kept.",
            icon=":material/front_hand:",
        )


def render_reading(run: Run) -> None:
    """What the curves say, in words, under them: the last epoch's numbers, then 1-3 readings (core/readings.py)."""
    gap = charts.gap_summary(run.history)
    if gap is not None:
        st.caption(
            f"Last epoch: train accuracy {gap['train']:.1%} vs validation {gap['validation']:.1%} "
            f"(gap {gap['gap'] * 100:+.1f} points). Best validation loss at epoch {run.meta.get('best_epoch')} (star)."
        )
    render_readings(run.history, task=run.config.task)


def render_result(run: Run) -> None:
    """Test accuracy, size and speed of the model, its layers and its key."""
    meta = run.meta
    columns = st.columns(4)
    columns[0].metric("Test accuracy", f"{run.test_accuracy:.2%}", help=f"On {meta.get('data_sizes', {}).get('test', '?')} held-out digits")
    columns[1].metric("Parameters", f"{meta.get('params', 0):,}")
    columns[2].metric("Seconds per epoch", f"{meta.get('seconds_per_epoch', 0):.2f}")
    columns[3].metric("Epochs run", f"{meta.get('epochs_run', '?')} / {run.config.epochs}")
    with st.expander("Layers", expanded=False):
        from core.models import layer_table  # the model is loaded: TensorFlow is there already

        st.dataframe(pd.DataFrame(layer_table(run.model)), hide_index=True, width="stretch")
    st.caption(f"Model key `{run.key}` · data: {meta.get('data_source', '?')}")


def render_export(run: Run) -> None:
    """Download the model file and the equivalent plain Keras code."""
    st.subheader("Share & export")
    st.caption("The address bar holds this whole configuration: copy it to share; opening it loads this same cached model.")
    model_file = (run.path or cache.entry_path(run.key)) / "model.keras"
    columns = st.columns(2)
    columns[0].download_button(
        "Download model.keras", data=lambda: model_file.read_bytes(), file_name=f"neural-lab-{run.key}.keras",
        mime="application/octet-stream", icon=":material/download:", width="stretch", disabled=not model_file.is_file(),
        help="The trained network as one Keras file. Try: keras.saving.load_model('neural-lab-….keras') in a notebook, then .summary().",
    )
    toy_mean = toy_variance = None
    if run.config.task == "toy":
        x_train = toy_splits(run.config).x_train
        toy_mean, toy_variance = x_train.mean(axis=0).tolist(), x_train.var(axis=0).clip(1e-6).tolist()
    from core.export import keras_code

    code = keras_code(run.config, toy_mean, toy_variance)
    columns[1].download_button(
        "Download the Keras code", data=code, file_name=f"neural_lab_{run.key}.py", mime="text/x-python",
        icon=":material/code:", width="stretch",
        help="A plain Python script that builds and trains this same network without the app. Try: run it and compare its accuracy with this page's.",
    )
    with st.expander("Equivalent plain Keras code (paste into a notebook)"):
        st.code(code, language="python")


@st.fragment
def render_compare(current: RunConfig, runs: pd.DataFrame, requested: str | None) -> None:
    """Overlay the curves of chosen cached MNIST runs; `requested`: the URL's `compare` keys (comma-separated).

    A fragment: picking runs or a curve reruns this section only, not the page above it.
    """
    st.header("Compare runs")
    mnist_runs = runs[runs["task"] == "mnist"] if "task" in runs else runs
    if mnist_runs.empty:
        st.info("No cached MNIST runs yet: train one above and it appears here.")
        return
    labels = {row.key: f"{row.description} · test {row.test_accuracy:.1%}" for row in mnist_runs.itertuples()}
    if COMPARE_KEY in st.session_state:
        st.session_state[COMPARE_KEY] = [k for k in st.session_state[COMPARE_KEY] if k in labels]
        default = None
    else:
        wanted = [k for k in (requested or "").split(",") if k]
        unknown = [k for k in wanted if k not in labels]
        if unknown:
            st.warning(f"URL parameter compare: no cached run with key(s) {', '.join(unknown)}; they were ignored.", icon="⚠️")
        default = [k for k in wanted if k in labels] or [k for k in [current.key(), *mnist_runs["key"]] if k in labels][:2]
        default = list(dict.fromkeys(default))
    chosen = st.multiselect(
        "Runs to overlay", list(labels), default=default, format_func=labels.get, key=COMPARE_KEY,
        help="Every cached MNIST run, newest first (the Runs page lists them all). Try: pick a run with dropout and the "
        "same run without it, then look at the validation loss.",
    )
    metric = st.radio(
        "Curve", ["val_accuracy", "val_loss", "accuracy", "loss"], horizontal=True, key="compare_metric",
        help="Which curve to overlay: validation (held-out digits) or training, accuracy or loss. "
        "Try: val_loss — the run whose curve turns upward first is the one that overfits.",
    )
    if chosen:
        histories = {}
        for key in chosen:
            history = cache.read_history(key)
            if history is not None:
                histories[f"{labels[key][:60]} [{key[:6]}]"] = history
        st.plotly_chart(charts.compare_curves(histories, metric), width="stretch", key="compare_chart")
    else:
        st.caption("Pick runs above to overlay their curves.")
    # Drawn only while open: a parallel-coordinates chart is WebGL, and without a GPU it held a new tab's
    # main thread for 2-6 s, so the curves above appeared only after it (bench/interactions.py, open-train).
    everything = st.expander("All cached runs: hyperparameters → validation accuracy (parallel coordinates)",
                             key="parallel_open", on_change="rerun")
    if everything.open:
        with everything:
            table = charts.parallel_table(mnist_runs)
            st.plotly_chart(charts.parallel_coordinates(table), width="stretch", key="parallel_chart")
            st.caption("Each line is one cached run; drag along an axis to filter.")


@st.fragment
def render_sweep(current: RunConfig) -> None:
    """Validation accuracy over a layers x units grid around `current`; trains the missing cells on request.

    A fragment: changing the depths or widths reruns this section only, not the page above it.
    """
    st.header("Layers × units")
    st.caption(f"Validation accuracy of every depth and width, all other settings as now ({current.describe()}).")
    columns = st.columns(2)
    depth_choices = list(range(0, 7)) if current.arch == "mlp" else list(range(1, 5))
    layers = columns[0].multiselect(
        "Hidden layers", depth_choices, default=[d for d in SWEEP_LAYERS if d in depth_choices], key="sweep_layers",
        help="The depths to compare (rows of the grid). Try: add 0 — a network with no hidden layer at all.",
    )
    units = columns[1].multiselect(
        "Units per layer", UNIT_CHOICES, default=SWEEP_UNITS, key="sweep_units",
        help="The widths to compare (columns of the grid). Try: add a very narrow width such as 4 and see where accuracy drops.",
    )
    if not layers or not units:
        st.info("Pick at least one depth and one width.")
        return
    # Combinations RunConfig rejects (e.g. too deep a CNN for 28x28) are left out of the grid.
    cells = [cell for cell in grids.grid(current, {"layers": sorted(layers), "units": sorted(units)}) if cell.config is not None]
    known = set(cache.entry_keys())
    missing = [cell.config for cell in cells if cell.config.key() not in known]
    training_ui.train_missing(
        missing, label="Layers × units grid", button="Train the {count} missing cell(s)", icon=":material/grid_on:", key="sweep_train"
    )
    accuracy = resources.run_table().set_index("key")["val_accuracy"] if cache.entry_keys() else pd.Series(dtype=float)
    frame = pd.DataFrame(
        [{**cell.values, "val_accuracy": float(accuracy.get(cell.config.key(), float("nan")))} for cell in cells]
    )
    st.plotly_chart(charts.sweep_heatmap(frame), width="stretch", key="sweep_chart")
