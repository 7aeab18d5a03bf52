"""Draw a digit: the network reads a mouse drawing (or an uploaded image) prepared the MNIST way.

Canvas (or upload) -> `core.preprocess.prepare` (every step shown in the inspector) -> the 28x28
image the model sees -> probabilities of the chosen cached model; compare several models on the
same drawing; see why (saliency, feature maps); save drawings as a small personal test set.
The sections live in `dashboard/views/draw.py`.

The canvas is streamlit-drawable-canvas: its drawing lives in `st.session_state[canvas_key()]`
as `{"drawing": {"raw": <fabric json>, "data": "data:image/png;base64,..."}}`, exactly what the
browser sends after each stroke. Tests inject a drawing by writing a PNG data URL there
(tests/test_draw_page.py); the page reads it through the component like any browser drawing.
"""

from __future__ import annotations

import streamlit as st

from dashboard import resources
from dashboard.views import draw as view

st.title("Draw a digit")
st.caption(
    "Draw a digit with the mouse and the network reads it after every stroke. Drawings are prepared exactly the way "
    "MNIST digits were (open the inspector to see each step): without that, most networks misread real drawings."
)

runs = resources.mnist_runs()
configs = resources.run_configs(runs["key"])
labels = view.run_labels(runs, configs)
if not labels:
    view.render_offer_training()
    st.stop()
chosen = view.render_model_picker(runs, labels)
model_name = view.short_name(chosen, configs)

left, middle, right = st.columns([1.15, 0.95, 1.3], gap="medium")
with left:
    prepared, raw, source, prepare_ms = view.render_input()
with middle:
    view.render_preview(prepared)
with right:
    view.render_prediction(prepared, chosen, model_name, prepare_ms)
view.render_inspector(prepared)

tabs = [view.COMPARE_TAB, view.WHY_TAB, view.TEACH_TAB, view.SAVED_TAB]
compare_tab, why_tab, teach_tab, saved_tab = st.tabs(tabs, key=view.SECTION_TABS, on_change="rerun")
if compare_tab.open:
    with compare_tab:
        view.render_compare(prepared, labels, configs, chosen)
if why_tab.open:
    with why_tab:
        view.render_why(prepared, chosen, model_name)
if teach_tab.open:
    with teach_tab:
        view.render_teach(prepared, raw, source)
if saved_tab.open:
    with saved_tab:
        view.render_saved(runs, labels, chosen)
