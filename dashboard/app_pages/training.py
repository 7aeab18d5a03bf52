"""Train: hyperparameters -> live curves -> result; cached combinations load at once; compare runs.

The configuration lives in the URL (dashboard.state), so a copied address restores the same
controls and the same cached model. Training happens only when the form is submitted.
The sections live in dashboard/views/training.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from core import cache, jobs
from core.config import RunConfig
from core.presets import PRESETS
from dashboard import resources, state, training_ui
from dashboard.controls import hyperparameter_form, preset_picker
from dashboard.views import training as view
from dashboard.views.data_size import render_data_size
from dashboard.views.lr_finder import render_lr_finder

if TYPE_CHECKING:  # the page imports no TensorFlow until it shows a model: a cold server's first training waits less
    from core.training import Run

DEFAULTS = RunConfig()
TUTORIAL_PRESETS = ["base", "seed001-dnn", "seed001-cnn", "seed001-cnn-regularized", "seed000-classic", "best"]
TRAINED_KEY = training_ui.TRAINED_KEY  # keys this browser session's jobs trained (not loaded), in order: what tests count
FORM_GENERATION = "training_form_generation"
FORM_ERROR = "training_form_error"

st.title("Train a network")
st.caption(
    "Pick hyperparameters in the sidebar and press **Train / load**. A combination anyone trained before loads at once; "
    "a new one trains in the background with live curves (leave the page if you like: it goes on). "
    "The address bar always holds the configuration."
)

if FORM_ERROR in st.session_state:
    st.error(st.session_state.pop(FORM_ERROR), icon=":material/cloud_off:")

config = state.config_from_url(DEFAULTS, extra=("compare",))
compare_param = {"compare": st.query_params.get("compare")}

with st.sidebar:
    picked = preset_picker([n for n in TUTORIAL_PRESETS if n in PRESETS], config)
    if picked is not None:
        state.write_url(picked, DEFAULTS, extra=compare_param)
        st.rerun()
    generation = st.session_state.get(FORM_GENERATION, 0)
    submitted = hyperparameter_form(config, form_key=f"hyperparameters-{generation}")

if submitted is not None and submitted.task == "mnist" and submitted.dataset == "full" and not cache.exists(submitted):
    reason = view.full_mnist_available()
    if reason is not None:
        # Back to the embedded set: a new form key resets the widgets to the URL's configuration.
        st.session_state[FORM_ERROR] = f"Full MNIST is not available here: {reason}. The embedded 5k set stays selected; nothing was trained."
        st.session_state[FORM_GENERATION] = generation + 1
        st.rerun()

if submitted is not None:
    config = submitted
    state.write_url(config, DEFAULTS, extra=compare_param)

job = jobs.read_job(config.key())
if submitted is not None and not cache.exists(config):
    job = training_ui.submit(config) or job

run: Run | None = resources.cached_run(config.key())
if run is not None and config.task == "mnist":
    resources.remember_model(config.key())  # what Misclassified digits and Draw open next from the sidebar
view.render_status(config, run, job)
if run is None and (job is None or not job.active):
    # The form stays as the address set it (Train is where one trains); one click opens the best model instead.
    best_key = view.render_best_model_hint(config, resources.run_table())
    if best_key is not None:
        state.write_url(cache.read_meta(best_key)["config"], DEFAULTS, extra=compare_param)
        st.rerun()
if run is not None:
    for note in run.notes:
        st.warning(note)
    view.render_curves(run)
    view.render_result(run)
    view.render_export(run)
render_lr_finder(config)

st.divider()
render_data_size(config)
st.divider()
view.render_compare(config, resources.run_table(), compare_param["compare"])
st.divider()
view.render_sweep(config)
