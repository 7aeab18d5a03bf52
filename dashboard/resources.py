"""Process-wide caches for the pages: loaded models (bounded) and datasets.

Pages never import TensorFlow; they ask core/ through these functions. `st.cache_resource`
keeps at most MAX_MODELS models in memory however many users open however many runs.
"""

from __future__ import annotations

import streamlit as st

from core import cache, jobs
from core.data import Splits, load_mnist
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
    """The server's job runner: its worker processes start (and import TensorFlow) with the first page."""
    return jobs.runner()


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist(dataset: str = "embedded") -> Splits:
    return load_mnist(dataset)


def run_table():
    """All cached runs as a DataFrame (cheap: reads meta.json files only)."""
    return cache.list_runs()
