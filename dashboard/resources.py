"""Process-wide caches for the pages: loaded models (bounded), datasets, and what models compute.

Pages never import TensorFlow; they ask core/ through these functions. `st.cache_resource`
keeps at most MAX_MODELS models in memory however many users open however many runs. Every
st.cache_resource / st.cache_data wrapper of the dashboard lives here, keyed by model key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from core import cache, evaluation, jobs
from core.config import RunConfig
from core.data import Splits, load_mnist
from dashboard.charts import explorer as explorer_charts

if TYPE_CHECKING:  # imported by the functions that load a model: listing runs or jobs needs no TensorFlow
    from core.training import Run

MAX_MODELS = 8


class NotCached(LookupError):
    """Raised (never cached by Streamlit) when a key has no valid entry."""


@st.cache_resource(max_entries=MAX_MODELS, show_spinner="Loading the model from the cache…")
def _cached_run(key: str) -> Run:
    run = cache.load(key)
    if run is None:
        raise NotCached(key)
    return run


def cached_run(key: str) -> Run | None:
    """A cached Run by key, held in memory across reruns and users; None when there is no valid entry.

    A model evicted or deleted on disk is dropped from memory too, so nobody sees a removed run.
    """
    if not cache.exists(key):
        return None
    try:
        return _cached_run(key)
    except NotCached:
        return None


def forget_models() -> None:
    """Drop every model held in memory (after a delete, say)."""
    _cached_run.clear()


@st.cache_resource(show_spinner=False)
def job_runner() -> jobs.JobRunner:
    """The server's job runner (dashboard/app.py starts it, and its workers, on the first visit)."""
    return jobs.runner()


@st.cache_resource(show_spinner=False)
def freeze_heap() -> bool:
    """Once per server, after the first page imported TensorFlow: move what the heavy imports left in
    memory out of the garbage collector's reach. Streamlit collects garbage after every script run,
    fragment reruns included, and with TensorFlow loaded each full collection cost ~240 ms of CPU under
    the interpreter lock (bench/RESULTS-jobs.md): pages polling a job slowed the whole server."""
    import gc

    gc.freeze()
    return True


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist(dataset: str = "embedded") -> Splits:
    return load_mnist(dataset)


def run_table():
    """All cached runs as a DataFrame, newest first: one row per cache.RunSummary (cheap: reads meta.json files only)."""
    import pandas as pd

    rows = [summary.as_row() for summary in cache.list_runs()]
    if not rows:
        return pd.DataFrame(columns=["key", "description", "test_accuracy", "val_accuracy", "epochs_run", "train_seconds", "params", "created", "size_mb"])
    return pd.DataFrame(rows)


def mnist_runs() -> pd.DataFrame:
    """The cached runs trained on MNIST (toy runs left out), newest first."""
    runs = run_table()
    if runs.empty or "task" not in runs:
        return runs.iloc[0:0]
    return runs[runs["task"] == "mnist"].reset_index(drop=True)


# -- which model a page opens when the address names none ------------------------------------

RECENT_MODEL = "neural_lab_recent_model"  # st.session_state: the model this session looked at last, on any page


@dataclass(frozen=True)
class ModelChoice:
    """The model a page shows and why: 'address' (the URL named a cached model), 'recent' (the model this
    session looked at last), 'preferred' (the page's usual model, e.g. the `best` preset), 'best' (the most
    accurate cached one) or 'none' (nothing cached)."""

    key: str | None
    reason: str
    candidates: int = 0  # how many cached models there were to choose from

    @property
    def fallback(self) -> bool:
        """True when the page opened another model than the address asked for (the page should say so)."""
        return self.reason in ("recent", "preferred", "best")


def choose_model(runs: pd.DataFrame, wanted: str | None = None, recent: str | None = None,
                 preferred: Iterable[str] = ()) -> ModelChoice:
    """The model a page should open: the address's own if cached, else the one this session looked at last,
    else the first cached of the page's `preferred` keys, else the most accurate cached one (ties: the most
    recently used, then the newest). Pure: no st.* here.

    `runs` is a run table (`run_table()` / `mnist_runs()`: columns key, test_accuracy and, when known,
    last_used / created). Every page that needs a trained model uses this rule, so a page opened from the
    sidebar never shows empty pickers while models are cached.
    """
    keys = [] if runs is None or runs.empty or "key" not in runs else [str(key) for key in runs["key"]]
    if not keys:
        return ModelChoice(None, "none", 0)
    if wanted in keys:
        return ModelChoice(wanted, "address", len(keys))
    if recent in keys:
        return ModelChoice(recent, "recent", len(keys))
    for key in preferred:
        if key in keys:
            return ModelChoice(key, "preferred", len(keys))
    table = runs.assign(
        _accuracy=pd.to_numeric(runs.get("test_accuracy"), errors="coerce").fillna(-1.0),
        _used=pd.to_datetime(runs["last_used"], utc=True, errors="coerce") if "last_used" in runs else pd.NaT,
        _created=pd.to_datetime(runs["created"], utc=True, errors="coerce") if "created" in runs else pd.NaT,
    )
    best = table.sort_values(["_accuracy", "_used", "_created"], ascending=False, na_position="last", kind="stable")
    return ModelChoice(str(best.iloc[0]["key"]), "best", len(keys))


def choice_note(choice: ModelChoice, name: str, asked_for: str | None = None, picker: str = "Model") -> str:
    """One sentence saying which model a page opened instead of the address's, and why ('' when no fallback).

    `asked_for` describes what the address named (e.g. a configuration with no trained model yet); `picker` is the
    label of the page's model picker.
    """
    if not choice.fallback:
        return ""
    plural = "s" if choice.candidates != 1 else ""
    why = {"recent": "the model you looked at last", "preferred": "this page's usual model"}.get(
        choice.reason, f"the most accurate of the {choice.candidates} cached MNIST model{plural}")
    asked = (f"The address asks for {asked_for}, which has no trained model yet" if asked_for
             else "The address names no trained model")
    return f"{asked}, so this page opened **{name}**, {why}. Pick another in **{picker}**."


def recent_model() -> str | None:
    """The model this session looked at last on any page (None at first)."""
    return st.session_state.get(RECENT_MODEL)


def remember_model(key: str | None) -> None:
    """Record the model the page shows, so the next page opened without an address shows it too."""
    if key is not None and st.session_state.get(RECENT_MODEL) != key:
        st.session_state[RECENT_MODEL] = key


def run_configs(keys: Iterable[str]) -> dict[str, RunConfig]:
    """The RunConfig of each key (cheap: config.json only); keys whose entry turned corrupt are left out."""
    configs = {}
    for key in keys:
        try:
            configs[key] = cache.read_meta(key)["config"]
        except cache.CorruptEntry:
            continue
    return configs


def model(key: str):
    """The Keras model of a cached run; LookupError when it cannot be loaded (never cached as a result)."""
    run = cached_run(key)
    if run is None:
        raise LookupError(f"the cached model {key} could not be loaded")
    return run.model


# -- what a model computes, by model key: never recomputed on a rerun ------------------------


@st.cache_data(max_entries=32, show_spinner="Computing this model's answers on the test digits (once per model)…")
def test_predictions(key: str, dataset: str) -> evaluation.Predictions:
    splits = mnist(dataset)
    return evaluation.test_predictions(key, lambda: model(key), splits.x_test, splits.y_test)


@st.cache_data(max_entries=256, show_spinner=False)
def saliency(key: str, image: np.ndarray, class_index: int | None = None) -> np.ndarray:
    """Integrated-gradients saliency of a 28x28 image for one class (None: the predicted one)."""
    return evaluation.saliency(model(key), image, class_index)


@st.cache_data(max_entries=64, show_spinner=False)
def feature_maps(key: str, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(layer name, activations) of each convolution layer for a 28x28 image."""
    return evaluation.feature_maps(model(key), image)


@st.cache_data(max_entries=16, show_spinner=False)
def filters(key: str) -> np.ndarray:
    """The first convolution layer's kernels."""
    return evaluation.filters(model(key))


@st.cache_data(max_entries=4000, show_spinner=False)
def card_png(key: str, dataset: str, index: int, probabilities: tuple[float, ...], true_label: int) -> bytes:
    """A gallery card as PNG bytes, memoised: a rerun re-sends bytes instead of redrawing them (~7 ms each)."""
    image = mnist(dataset).x_test[index]
    return explorer_charts.png_bytes(explorer_charts.digit_card(image, np.asarray(probabilities), true_label))


@st.cache_resource(max_entries=64, show_spinner=False)
def confusion_chart(key: str, matrix: np.ndarray, normalised: bool, selected: tuple[int, int] | None):
    """The confusion figure, memoised per model and state (building a plotly figure costs ~0.1 s).

    cache_resource, not cache_data: every run must get the very same figure. Streamlit derives the
    chart's element id from the figure's JSON and a click is sent for that id; cache_data hands out
    pickled copies, whose layout keys serialise in another order than the freshly built figure's, so
    the rerun a first click triggers drew a "new" chart and the click was lost. Nothing mutates it.
    """
    return explorer_charts.confusion_figure(matrix, normalised=normalised, selected=selected)


# -- Inside the network (dashboard/views/inside.py) --------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def inside_record(key: str):
    """(InsideRecord or None, problem or None) of a cached run: None + None when the run recorded nothing
    (trained before recording existed), None + the reason when the record is damaged, or the model is gone."""
    from core.snapshots import SnapshotError, read_inside

    run = cached_run(key)
    if run is None:
        return None, "the cached model could not be loaded"
    try:
        return read_inside(run.arrays), None
    except SnapshotError as error:
        return None, str(error)


@st.cache_data(max_entries=8, show_spinner=False)
def probe_hover_texts(dataset: str, indices: tuple[int, ...]) -> list[str]:
    """Each probe digit as block characters for the scatter's hover label (once per dataset and probe)."""
    from dashboard.charts.inside import digit_text

    images = mnist(dataset).x_test
    return [digit_text(images[index]) for index in indices]


@st.cache_data(max_entries=8, show_spinner="Computing t-SNE of the final epoch (a few seconds)…")
def inside_tsne(key: str) -> np.ndarray | None:
    """t-SNE (2-D) of the final epoch's embedding of a run; None when it has none or scikit-learn is missing."""
    from core import inside

    record, _ = inside_record(key)
    if record is None or record.embedding is None or not inside.tsne_available():
        return None
    final = record.embedding[-1]
    return inside.tsne(final[:, np.all(np.isfinite(final), axis=0)])


@st.cache_resource(max_entries=8, show_spinner="Computing the views from the saved model (a few seconds)…")
def saved_model_record(key: str):
    """(InsideRecord or None, problem or None) for a run trained before recording existed: before training (rebuilt
    from its seed) and the saved final model, computed once per key and server (nothing is written to the cache)."""
    from core.snapshots import SnapshotError, read_inside, record_saved_model

    run = cached_run(key)
    if run is None:
        return None, "the cached model could not be loaded"
    try:
        arrays = record_saved_model(run.model, run.config, mnist(run.config.dataset), int(run.meta.get("epochs_run") or run.config.epochs))
        return read_inside(arrays), (None if arrays else "the saved model could not be read layer by layer")
    except (SnapshotError, ValueError, OSError) as error:
        return None, str(error)


# -- Robustness lab (dashboard/views/robustness.py) --------------------------------------------


def robustness_curve(key: str, dataset: str, perturbation: str, progress=None):
    """The accuracy-vs-strength Curve of a cached model under one perturbation: stored with its entry (read in ~1 ms),
    else computed once, calling `progress` with the share done. Not memoised here: the progress bar is drawn while it
    computes, and the stored artifact is the memo."""
    from core import robustness

    splits = mnist(dataset)
    return robustness.curve(key, lambda: model(key), splits.x_test, splits.y_test, perturbation, progress)


@st.cache_data(max_entries=512, show_spinner=False)
def robustness_gallery(key: str, dataset: str, perturbation: str, strength: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, probabilities, true labels) of one test digit per class damaged at `strength`, as this model sees them
    (FGSM attacks each model with its own gradient)."""
    from core import robustness

    splits = mnist(dataset)
    indices = robustness.gallery_indices(splits.y_test)
    images, labels = splits.x_test[indices], splits.y_test[indices]
    network = model(key)
    damaged = robustness.perturb(images, perturbation, strength, model=network, labels=labels)
    return damaged, evaluation.predict_probabilities(network, damaged), labels
