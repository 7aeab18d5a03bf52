"""Runs: every cached model, filterable, with open links, delete (into the trash) and restore.

On a shared server (an admin secret is set, see dashboard/admin.py) a visitor sees everything
but deletes nothing; the teacher signs in once per browser session."""

from __future__ import annotations

import streamlit as st

from core import cache
from dashboard import admin, training_ui
from dashboard.views import runs, runs_analysis

st.title("Runs")
admin.warn_secret_in_url()
admin.render_mode_problem()
where = f" Cache folder: `{cache.cache_root()}`." if admin.is_admin() else ""  # no server paths for visitors
st.caption(f"Every hyperparameter combination trained so far, by anyone, is kept on disk and loads instantly.{where}")
admin.render_sign_in()

st.subheader("Background trainings")
st.caption("Queued and running trainings of everyone using this cache (any page, any browser, any server), with Cancel.")
training_ui.jobs_table()

st.subheader("Cached models")
runs.render_runs()
runs_analysis.render_what_mattered()

if admin.is_admin():
    runs.render_trash()
    runs.render_audit()
