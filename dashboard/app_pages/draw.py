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
chosen = view.render_model_picker(runs, labels, configs)
view.render_workbench(chosen, view.short_name(chosen, configs), runs, labels, configs)  # a fragment: strokes rerun it alone
