"""The Train page's "More data?" section: accuracy vs training-set size for the current configuration.

Sizes and the reading come from core.data_size; the missing sizes are queued through the grid path of
dashboard.training_ui (its caps and messages included), and the chart fills in as each job lands in
the cache (watch_many reruns the page when one finishes).
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core import cache, data_size, jobs
from core.config import RunConfig
from dashboard import training_ui
from dashboard.charts.data_size import data_size_curve
from dashboard.views.training import full_mnist_available

BUTTON_HELP = (
    "Queues one background training per missing size: your settings, trained on a stratified subset of that many "
    "training digits (the same share of every digit) and tested on the same test digits. Each point appears as soon "
    "as its training is cached. Try: a small MLP first (seconds per size), then the same with a CNN."
)


def _point(size: int, config: RunConfig, known: set[str]) -> dict:
    """One row of the curve: the size, its accuracies once cached, else the state of its job."""
    key = config.key()
    row = {"size": size, "key": key, "train_accuracy": math.nan, "test_accuracy": math.nan, "status": "missing"}
    if key in known:
        try:
            meta = cache.read_meta(key)
        except cache.CorruptEntry:
            return row  # a broken entry is retrained like a missing one
        row.update(status="done", train_accuracy=meta.get("train_accuracy", math.nan), test_accuracy=meta.get("test_accuracy", math.nan))
        return row
    job = jobs.read_job(key)
    if job is not None and job.active:
        row["status"] = job.state
    return row


def render_data_size(config: RunConfig) -> None:
    """"More data?": train/test accuracy vs number of training digits for `config`, one button for the missing sizes."""
    st.header("More data?")
    if config.task != "mnist":
        st.info("Accuracy vs training-set size is for MNIST; toy 2-D puzzles have a *Training share* slider instead.", icon=":material/info:")
        return
    if config.dataset == "full":
        reason = full_mnist_available()
        if reason is not None:
            st.info(f"Full MNIST is not available here ({reason}): choose the embedded set to draw this curve.", icon=":material/cloud_off:")
            return
    points = data_size.size_configs(config)
    smallest, epochs = points[0][0], points[0][1].epochs
    st.caption(
        f"Your settings ({config.replace(train_size=0).describe()}) trained on {len(points)} sizes of the training split, "
        f"each a stratified subset (the same share of every digit). A smaller set gets more epochs ({smallest:,} digits: "
        f"{epochs} epochs), so every size makes about as many weight updates and the curve shows the data, not fewer steps."
    )
    known = set(cache.entry_keys())
    training_ui.train_missing(
        [point for _, point in points if point.key() not in known], label="Training-set sizes",
        button="Train the {count} missing size(s)", icon=":material/stacked_line_chart:", key="data_size_train", help=BUTTON_HELP,
    )
    frame = pd.DataFrame([_point(size, point, known) for size, point in points])
    st.plotly_chart(data_size_curve(frame), width="stretch", key="data_size_chart")
    st.markdown(f"**Reading:** {data_size.reading(frame['size'], frame['train_accuracy'], frame['test_accuracy'])}")
