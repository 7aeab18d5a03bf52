"""Train: hyperparameters -> live curves -> result; cached combinations load at once; compare runs.

The configuration lives in the URL (dashboard.state), so a copied address restores the same
controls and the same cached model. Training happens only when the form is submitted.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # standalone runs (AppTest, `streamlit run` of this file)
    sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core import cache, jobs  # noqa: E402
from core.config import RunConfig  # noqa: E402
from core.data import FullMnistUnavailable, toy_splits  # noqa: E402
from core.export import keras_code  # noqa: E402
from core.jobs import Job  # noqa: E402
from core.models import layer_table  # noqa: E402
from core.presets import PRESETS  # noqa: E402
from core.training import Run  # noqa: E402
from dashboard import resources, state, training_ui  # noqa: E402
from dashboard.charts.training import (  # noqa: E402
    compare_curves,
    gap_summary,
    learning_curve,
    parallel_coordinates,
    parallel_table,
    sweep_heatmap,
)
from dashboard.controls import UNIT_CHOICES, hyperparameter_form, preset_picker  # noqa: E402

DEFAULTS = RunConfig()
TUTORIAL_PRESETS = ["base", "seed001-dnn", "seed001-cnn", "seed001-cnn-regularized", "seed000-classic", "best"]
TRAINED_KEY = training_ui.TRAINED_KEY  # keys this browser session's jobs trained (not loaded), in order: what tests count
FORM_GENERATION = "training_form_generation"
FORM_ERROR = "training_form_error"
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


def show_curves(run: Run, loss_slot, accuracy_slot) -> None:
    meta = run.meta
    for slot, metric in ((loss_slot, "loss"), (accuracy_slot, "accuracy")):
        figure = learning_curve(
            run.history, metric, epochs=run.config.epochs, best_epoch=meta.get("best_epoch"),
            early_stopped_at=meta.get("early_stopped_at"),
        )
        slot.plotly_chart(figure, width="stretch", key=f"final-{metric}")
    gap = gap_summary(run.history)
    if gap is not None:
        if gap["gap"] > 0.02:
            verdict = "overfitting: the shaded gap is what memorising the training set costs"
        elif gap["gap"] < -0.02:
            verdict = "validation above train: dropout/augmentation make training harder than testing"
        else:
            verdict = "train and validation agree"
        st.caption(
            f"Last epoch: train accuracy {gap['train']:.1%} vs validation {gap['validation']:.1%} "
            f"(gap {gap['gap'] * 100:+.1f} points, {verdict}). Best validation loss at epoch {meta.get('best_epoch')} (star)."
        )
    if meta.get("early_stopped_at"):
        st.info(
            f"Early stopping ended the run at epoch {meta['early_stopped_at']} of {run.config.epochs}: validation loss had "
            f"not improved for 5 epochs; the weights of epoch {meta.get('best_epoch')} were kept.",
            icon=":material/front_hand:",
        )


def show_result(run: Run) -> None:
    meta = run.meta
    columns = st.columns(4)
    columns[0].metric("Test accuracy", f"{run.test_accuracy:.2%}", help=f"On {meta.get('data_sizes', {}).get('test', '?')} held-out digits")
    columns[1].metric("Parameters", f"{meta.get('params', 0):,}")
    columns[2].metric("Seconds per epoch", f"{meta.get('seconds_per_epoch', 0):.2f}")
    columns[3].metric("Epochs run", f"{meta.get('epochs_run', '?')} / {run.config.epochs}")
    with st.expander("Layers", expanded=False):
        st.dataframe(pd.DataFrame(layer_table(run.model)), hide_index=True, width="stretch")
    st.caption(f"Model key `{run.key}` · data: {meta.get('data_source', '?')}")


def show_export(run: Run) -> None:
    st.subheader("Share & export")
    st.caption("The address bar holds this whole configuration: copy it to share; opening it loads this same cached model.")
    model_file = (run.path or cache.entry_path(run.key)) / "model.keras"
    columns = st.columns(2)
    columns[0].download_button(
        "Download model.keras", data=lambda: model_file.read_bytes(), file_name=f"neural-lab-{run.key}.keras",
        mime="application/octet-stream", icon=":material/download:", width="stretch", disabled=not model_file.is_file(),
    )
    toy_mean = toy_variance = None
    if run.config.task == "toy":
        x_train = toy_splits(run.config).x_train
        toy_mean, toy_variance = x_train.mean(axis=0).tolist(), x_train.var(axis=0).clip(1e-6).tolist()
    code = keras_code(run.config, toy_mean, toy_variance)
    columns[1].download_button(
        "Download the Keras code", data=code, file_name=f"neural_lab_{run.key}.py", mime="text/x-python",
        icon=":material/code:", width="stretch",
    )
    with st.expander("Equivalent plain Keras code (paste into a notebook)"):
        st.code(code, language="python")


# -- compare -----------------------------------------------------------------------------------


def compare_section(current: RunConfig, runs: pd.DataFrame) -> None:
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
        requested = [k for k in (st.query_params.get("compare") or "").split(",") if k]
        unknown = [k for k in requested if k not in labels]
        if unknown:
            st.warning(f"URL parameter compare: no cached run with key(s) {', '.join(unknown)}; they were ignored.", icon="⚠️")
        default = [k for k in requested if k in labels] or [k for k in [current.key(), *mnist_runs["key"]] if k in labels][:2]
        default = list(dict.fromkeys(default))
    chosen = st.multiselect(
        "Runs to overlay", list(labels), default=default, format_func=labels.get, key=COMPARE_KEY,
        help="Every cached MNIST run, newest first. The Runs page lists them all.",
    )
    metric = st.radio("Curve", ["val_accuracy", "val_loss", "accuracy", "loss"], horizontal=True, key="compare_metric")
    if chosen:
        histories = {}
        for key in chosen:
            history = cache.read_history(key)
            if history is not None:
                histories[f"{labels[key][:60]} [{key[:6]}]"] = history
        st.plotly_chart(compare_curves(histories, metric), width="stretch", key="compare_chart")
    else:
        st.caption("Pick runs above to overlay their curves.")
    st.subheader("All cached runs: hyperparameters → validation accuracy")
    table = parallel_table(mnist_runs)
    st.plotly_chart(parallel_coordinates(table), width="stretch", key="parallel_chart")
    st.caption("Each line is one cached run; drag along an axis to filter.")


def sweep_cells(base: RunConfig, layers: list[int], units: list[int]) -> list[tuple[int, int, RunConfig]]:
    """The valid (layers, units, config) cells of a layers x units grid around `base`."""
    cells = []
    for depth in layers:
        for width in units:
            try:
                cells.append((depth, width, base.replace(layers=depth, units=width)))
            except ValueError:
                continue
    return cells


def sweep_section(current: RunConfig) -> None:
    st.header("Layers × units")
    st.caption(f"Validation accuracy of every depth and width, all other settings as now ({current.describe()}).")
    columns = st.columns(2)
    depth_choices = list(range(0, 7)) if current.arch == "mlp" else list(range(1, 5))
    layers = columns[0].multiselect("Hidden layers", depth_choices, default=[d for d in SWEEP_LAYERS if d in depth_choices], key="sweep_layers")
    units = columns[1].multiselect("Units per layer", UNIT_CHOICES, default=SWEEP_UNITS, key="sweep_units")
    if not layers or not units:
        st.info("Pick at least one depth and one width.")
        return
    cells = sweep_cells(current, sorted(layers), sorted(units))
    known = set(cache.entry_keys())
    missing = [(d, w, c) for d, w, c in cells if c.key() not in known]
    training = training_ui.active_keys(c.key() for _, _, c in missing)
    waiting = [(d, w, c) for d, w, c in missing if c.key() not in training]
    if waiting and st.button(f"Train the {len(waiting)} missing cell(s)", icon=":material/grid_on:", key="sweep_train"):
        queued, refused = training_ui.submit_many(c for _, _, c in waiting)
        if refused:
            st.warning(refused, icon=":material/hourglass_full:")
        training = sorted(set(training) | set(queued))
    if training:
        training_ui.watch_many(training, "Layers × units grid")
    accuracy = resources.run_table().set_index("key")["val_accuracy"] if cache.entry_keys() else pd.Series(dtype=float)
    frame = pd.DataFrame(
        [{"layers": d, "units": w, "val_accuracy": float(accuracy.get(c.key(), float("nan")))} for d, w, c in cells]
    )
    st.plotly_chart(sweep_heatmap(frame), width="stretch", key="sweep_chart")


# -- the page ----------------------------------------------------------------------------------

st.title("Train a network")
st.caption(
    "Pick hyperparameters in the sidebar and press **Train / load**. A combination anyone trained before loads at once; "
    "a new one trains in the background with live curves (leave the page if you like: it goes on). "
    "The address bar always holds the configuration."
)

if FORM_ERROR in st.session_state:
    st.error(st.session_state.pop(FORM_ERROR), icon=":material/cloud_off:")

config = state.config_from_url(DEFAULTS, extra=("compare",))
compare_param = {"compare": st.query_params.get("compare")}

with st.sidebar:
    picked = preset_picker([n for n in TUTORIAL_PRESETS if n in PRESETS], config)
    if picked is not None:
        state.write_url(picked, DEFAULTS, extra=compare_param)
        st.rerun()
    generation = st.session_state.get(FORM_GENERATION, 0)
    submitted = hyperparameter_form(config, form_key=f"hyperparameters-{generation}")

if submitted is not None and submitted.task == "mnist" and submitted.dataset == "full" and not cache.exists(submitted):
    reason = full_mnist_available()
    if reason is not None:
        # Back to the embedded set: a new form key resets the widgets to the URL's configuration.
        st.session_state[FORM_ERROR] = f"Full MNIST is not available here: {reason}. The embedded 5k set stays selected; nothing was trained."
        st.session_state[FORM_GENERATION] = generation + 1
        st.rerun()

if submitted is not None:
    config = submitted
    state.write_url(config, DEFAULTS, extra=compare_param)

job = jobs.read_job(config.key())
if submitted is not None and not cache.exists(config):
    job = training_ui.submit(config) or job

run: Run | None = resources.cached_run(config.key())
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
            st.caption("The curves up to where it stopped (not cached):")
            training_ui.draw_curves(job)
    st.info(f"**{config.describe()}** has not been trained yet. Press **Train / load** in the sidebar to train it.")

if run is not None:
    for note in run.notes:
        st.warning(note)
    curves = st.columns(2)
    show_curves(run, curves[0].empty(), curves[1].empty())
    show_result(run)
    show_export(run)

st.divider()
compare_section(config, resources.run_table())
st.divider()
sweep_section(config)
