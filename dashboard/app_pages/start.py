"""Start: what Neural Lab is, a picture per page, and the learning path (the landing page, `/`).

The learning path's experiments are data (core/learning_path.py); each card links to its page with
its configuration. An old shared Train address (`/?layers=...`: Train was the landing page) is sent
on to the Train page with the same parameters. No TensorFlow is imported here: on a cold server this
page appears while the training workers are still importing it.
"""

from __future__ import annotations

import streamlit as st

from core.learning_path import EXPERIMENTS
from dashboard import state
from dashboard.views import guide as view

if state.is_config_link(st.query_params):
    st.switch_page(view.page_file("training"), query_params={name: st.query_params.get_all(name) for name in st.query_params})

view.render_intro()
st.caption(
    "This page shows the learning path (short experiments, each opening a page already set up) and, below it, every "
    "page of the lab. Every control in the app has a :material/help: tooltip saying what it does and what to try."
)
view.render_progress(EXPERIMENTS)
view.render_path(EXPERIMENTS)
view.render_page_tour()
