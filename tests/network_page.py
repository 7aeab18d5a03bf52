"""A small script page for the tests of dashboard/views/network.py: ?section=calibration|picture|convolution|toy&key=<model key>.

The real pages (Inside the network, Decision boundaries) call the same render_* functions; this page lets the
AppTest and the browser test reach them before and regardless of how those pages are wired.
"""

from __future__ import annotations

import streamlit as st

from core import cache
from core.data import toy_bounds
from dashboard import resources
from dashboard.views import network as network_view

st.set_page_config(page_title="Network sections", layout="wide")  # like dashboard/app.py
key = st.query_params.get("key", "")
section = st.query_params.get("section", "calibration")
config = cache.read_meta(key)["config"]
if section == "calibration":
    network_view.render_calibration(config)
elif section == "picture":
    network_view.render_network_picture(config)
elif section == "convolution":
    network_view.render_convolution(config)
elif section == "toy":
    network_view.render_toy_network(resources.cached_run(key), config, toy_bounds(config.dataset))
