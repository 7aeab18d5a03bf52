"""Runs: every cached model, sortable, with delete."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import cache
from dashboard import resources, state, training_ui

st.title("Runs")
st.caption(
    "Every hyperparameter combination trained so far, by anyone, is kept on disk and loads instantly. "
    f"Cache folder: `{cache.cache_root()}`."
)

st.subheader("Background trainings")
st.caption("Queued and running trainings of everyone using this cache (any page, any browser, any server), with Cancel.")
training_ui.jobs_table()

st.subheader("Cached models")
summaries = cache.list_runs()
if not summaries:
    st.info("No model has been trained yet. Train one on the **Train** page or with `python -m core train --preset seed001-dnn`.")
    st.stop()

COLUMNS = ["key", "description", "test_accuracy", "val_accuracy", "epochs_run", "train_seconds", "params", "size_mb", "created"]
table = pd.DataFrame([{name: getattr(summary, name) for name in COLUMNS} for summary in summaries], columns=COLUMNS)
st.metric("Cached models", len(summaries), help=f"{sum(summary.size_mb for summary in summaries):.1f} MB on disk")
selection = st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="multi-row",
    key="runs_table",
    column_config={
        "key": st.column_config.TextColumn("key", help="Folder name in the cache (hash of the configuration)"),
        "description": st.column_config.TextColumn("configuration", width="large"),
        "test_accuracy": st.column_config.ProgressColumn("test accuracy", format="percent", min_value=0.0, max_value=1.0),
        "val_accuracy": st.column_config.NumberColumn("val accuracy", format="percent"),
        "epochs_run": st.column_config.NumberColumn("epochs"),
        "train_seconds": st.column_config.NumberColumn("train s", format="%.1f"),
        "params": st.column_config.NumberColumn("parameters", format="localized"),
        "size_mb": st.column_config.NumberColumn("MB", format="%.2f"),
        "created": st.column_config.TextColumn("created (UTC)"),
    },
)
rows = selection.selection.rows if selection and selection.selection else []
chosen = [summaries[i] for i in rows if i < len(summaries)]  # a row deleted meanwhile is gone
if len(chosen) == 1:
    summary = chosen[0]
    st.subheader(summary.description)
    links = st.columns(3)
    params = state.full_params(summary.config)
    if summary.config.task == "mnist":
        links[0].page_link("app_pages/training.py", label="Open on Train", icon=":material/model_training:", query_params=params)
        links[1].page_link("app_pages/explorer.py", label="Explore its errors", icon=":material/search:", query_params=params)
    else:
        links[0].page_link("app_pages/boundary.py", label="Open in Decision boundaries", icon=":material/scatter_plot:", query_params=params)
if chosen:
    st.write(f"{len(chosen)} selected.")
    if st.button(f"Delete {len(chosen)} run(s)", type="secondary", icon=":material/delete:"):
        removed = sum(cache.remove(summary.key) for summary in chosen)
        resources.forget_models()
        st.toast(f"Deleted {removed} run(s).")
        st.rerun()
else:
    st.caption("Select rows to delete them.")
