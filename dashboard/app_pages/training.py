"""Train: hyperparameters -> live curves -> result; cached combinations load at once; compare runs.

The configuration lives in the URL (dashboard.state), so a copied address restores the same
controls and the same cached model. Training happens only when the form is submitted.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # standalone runs (AppTest, `streamlit run` of this file)
    sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core import cache  # noqa: E402
from core.config import PRESETS, RunConfig  # noqa: E402
from core.data import FullMnistUnavailable, toy_splits  # noqa: E402
from core.export import keras_code  # noqa: E402
from core.models import layer_table  # noqa: E402
from core.training import Run  # noqa: E402
from dashboard import resources, state  # noqa: E402
from dashboard.charts.training import (  # noqa: E402
    compare_curves,
    gap_summary,
    learning_curve,
    parallel_coordinates,
    parallel_table,
    sweep_heatmap,
)
from dashboard.controls import UNIT_CHOICES, hyperparameter_form, preset_picker  # noqa: E402
from dashboard.live import NOTE_KEY, LiveTraining, SweepProgress, stopped_message  # noqa: E402

DEFAULTS = RunConfig()
TUTORIAL_PRESETS = ["base", "seed001-dnn", "seed001-cnn", "seed001-cnn-regularized", "seed000-classic", "best"]
# Keys trained (not loaded) by this browser session, in order: what tests count.
TRAINED_KEY = "trained_this_session"
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


def wait_for_other_session(config: RunConfig) -> None:
    """Poll while another session trains this combination (st.* calls keep Stop and navigation working)."""
    started = time.perf_counter()
    with st.status("Being trained in another session…", expanded=True) as status:
        line = st.empty()
        while cache.is_training_elsewhere(config):
            line.write(f"Another session is training **{config.describe()}**; waiting {time.perf_counter() - started:.0f} s…")
            time.sleep(0.5)
        status.update(label="The other session finished; loading its model.", state="complete", expanded=False)


def train_live(config: RunConfig, loss_slot, accuracy_slot) -> tuple[Run | None, bool]:
    """get_or_train with a status box, a progress bar, live curves and a Stop button.

    Returns the run (None when stopped or impossible) and whether this session waited for another
    one that was training the same combination."""
    waited = cache.is_training_elsewhere(config)
    if waited:
        wait_for_other_session(config)
    with st.status(f"Training {config.describe()}", expanded=True) as status:
        progress = st.empty()
        st.button("Stop training", icon=":material/stop_circle:", key="stop_training", help="Stops after the current batch; nothing is cached.")
        listener = LiveTraining(config, progress=progress, loss_chart=loss_slot, accuracy_chart=accuracy_slot, notes=st.session_state)
        listener.draw_charts({}, force=True)
        try:
            run = cache.get_or_train(config, listener)
        except (FullMnistUnavailable, ValueError) as error:
            st.session_state.pop(NOTE_KEY, None)
            status.update(label="Training could not start", state="error")
            st.error(f"{error}. Nothing was trained.")
            return None, waited
        st.session_state.pop(NOTE_KEY, None)
        if run.stopped_at is not None:
            status.update(label=f"Stopped at epoch {run.stopped_at}; not cached", state="error")
            return None, waited
        waited = waited or listener.waited  # the other session may also have started between the check and the lock
        if run.cached:
            label = "Loaded: another session trained it meanwhile" if waited else "Loaded from the cache"
        else:
            st.session_state.setdefault(TRAINED_KEY, []).append(run.key)
            label = f"Trained in {run.meta['train_seconds']:.1f} s and cached"
        status.update(label=label, state="complete", expanded=False)
    return run, waited


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
    if missing and st.button(f"Train the {len(missing)} missing cell(s)", icon=":material/grid_on:", key="sweep_train"):
        progress = st.progress(0.0, text="Starting…")
        with st.status(f"Training {len(missing)} cell(s)…", expanded=False) as status:
            for index, (depth, width, config) in enumerate(missing):
                listener = SweepProgress(progress, index, len(missing), f"{depth} layer(s) × {width} units")
                try:
                    cache.get_or_train(config, listener)
                except (FullMnistUnavailable, ValueError) as error:
                    st.error(f"{depth} × {width}: {error}")
            status.update(label=f"Trained {len(missing)} cell(s)", state="complete")
        progress.progress(1.0, text=f"All {len(missing)} missing cell(s) trained and cached.")
    accuracy = resources.run_table().set_index("key")["val_accuracy"] if cache.entry_keys() else pd.Series(dtype=float)
    frame = pd.DataFrame(
        [{"layers": d, "units": w, "val_accuracy": float(accuracy.get(c.key(), float("nan")))} for d, w, c in cells]
    )
    st.plotly_chart(sweep_heatmap(frame), width="stretch", key="sweep_chart")


# -- the page ----------------------------------------------------------------------------------

st.title("Train a network")
st.caption(
    "Pick hyperparameters in the sidebar and press **Train / load**. A combination anyone trained before loads at once; "
    "a new one trains here with live curves. The address bar always holds the configuration."
)

interrupted = st.session_state.pop(NOTE_KEY, None)
if interrupted:
    st.warning(stopped_message(interrupted), icon=":material/stop_circle:")
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

curves = st.columns(2)
loss_slot, accuracy_slot = curves[0].empty(), curves[1].empty()

run: Run | None = None
if submitted is not None:
    run, waited = train_live(config, loss_slot, accuracy_slot)
    if run is not None and run.cached:
        st.success(cache_badge(run, waited), icon=":material/bolt:")
else:
    run = resources.cached_run(config.key())
    if run is not None:
        st.success(cache_badge(run), icon=":material/bolt:")
    elif cache.is_training_elsewhere(config):
        st.info("This combination is being trained in another session right now. Press **Train / load** to wait for it and load it.")
    else:
        st.info(f"**{config.describe()}** has not been trained yet. Press **Train / load** in the sidebar to train it.")

if run is not None:
    for note in run.notes:
        st.warning(note)
    show_curves(run, loss_slot, accuracy_slot)
    show_result(run)
    show_export(run)

st.divider()
compare_section(config, resources.run_table())
st.divider()
sweep_section(config)
