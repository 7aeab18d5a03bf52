"""Decision boundaries: what a small network learns on 2-D toy data, drawn over the whole plane.

The seed-003 lessons in one click each (logistic regression on two blobs, 2 vs 4 hidden units
with tanh vs ReLU on the four blocks, two layers on XOR), the boundary forming live during
training, an epoch replay from the cached snapshots, every hidden neuron's own map, and a grid
of architectures side by side. Clicking on the plane adds a point of the chosen class.
The sections live in dashboard/views/boundary.py.
"""

from __future__ import annotations

import streamlit as st

from core import jobs
from core.data import toy_bounds, toy_splits
from core.presets import BOUNDARY_DEFAULTS, LESSONS
from dashboard import controls, resources, state, training_ui
from dashboard.views import boundary as view
from dashboard.views import network as network_view

DEFAULTS = BOUNDARY_DEFAULTS

st.title("Decision boundaries")
st.caption(
    "A small network on 2-D points: colour is the predicted probability over the whole plane, the black line "
    "is where the two classes are equally likely. Filled dots train the model, outlined dots test it, a cross "
    "marks a point the model gets wrong. Click the plane to add your own points."
)

config = state.config_from_url(DEFAULTS)
train_now = st.session_state.pop(view.TRAIN_NOW, False)

with st.sidebar:
    st.subheader("Seed-003 lessons")
    chosen = controls.preset_picker(LESSONS, config, label="Lesson")
    if chosen is not None:
        config, train_now = chosen, True
    st.subheader("Hyperparameters")
    submitted = controls.hyperparameter_form(config)
    if submitted is not None:
        config, train_now = submitted, True
state.write_url(config, DEFAULTS)

bounds = toy_bounds(config.dataset)
try:
    splits = toy_splits(config)
except ValueError as error:
    view.render_no_data(config, error, DEFAULTS)
    st.stop()

view.render_summary(config, splits)

run = resources.cached_run(config.key())
job = jobs.read_job(config.key())
if run is None and train_now:
    job = training_ui.submit(config) or job
view.render_training(config, run, job, splits, bounds)
if run is not None:
    view.render_diagnosis(config, run, DEFAULTS)
view.render_plane(config, run, job, splits, bounds, DEFAULTS, bool(st.session_state.get(view.DISCRETIZE, False)))

if run is not None:
    inside, multiples = st.tabs(["Inside the network", "Small multiples"])
    with inside:
        view.render_neurons(run, config, bounds)
        st.subheader("The network as a picture")
        st.fragment(network_view.render_toy_network)(run, config, bounds)  # its epoch slider reruns only this
with multiples if run is not None else st.expander("Small multiples: compare architectures"):
    view.render_small_multiples(config, bounds)
view.render_click_fix()
