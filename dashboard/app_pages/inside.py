"""Inside the network: what the hidden layers do while a cached MNIST model learns, replayed epoch by epoch.

The embedding of 1,000 fixed test digits on stable axes (play, hover, click), the weights and
activations of every layer as histograms over epochs, dead ReLU units and gradient norms per layer,
and two one-click lessons (vanishing gradients, dying ReLUs). Below: calibration, the network as a
picture and convolution step by step (dashboard/views/network.py). The sections live in
`dashboard/views/inside.py`; the recording is done by the training itself (core/snapshots.py).
"""

from __future__ import annotations

import streamlit as st

from core.presets import preset
from dashboard import resources, state
from dashboard.views import explorer as explorer_view
from dashboard.views import inside as view

DEFAULTS = preset("base")  # the training page's defaults: the same URL means the same model

st.title("Inside the network")
st.caption("How do the hidden layers pull the ten digits apart while the network learns? Why does a deep sigmoid net stop "
           "learning, and how many ReLU units die at a too-high learning rate? Replay any cached MNIST training epoch by epoch.")

url_config = state.config_from_url(DEFAULTS, page="inside")
if url_config.task == "toy":
    view.render_toy_address(url_config)
runs = resources.mnist_runs()
configs = resources.run_configs(runs["key"]) if not runs.empty else {}
labels = explorer_view.run_labels(runs, configs) if configs else {}
key = config = None
if not labels:
    view.render_no_models()
else:
    choice = resources.choose_model(runs[runs["key"].isin(labels)], url_config.key(), resources.recent_model())
    asked_for = f"the configuration {url_config.describe()}" if url_config != DEFAULTS and url_config.task == "mnist" else None
    note = resources.choice_note(choice, explorer_view.run_name(configs[choice.key]), asked_for) if choice.key else ""
    key = view.render_model_picker(labels, choice, note)
if key is not None:
    resources.remember_model(key)
    config = configs[key]
    st.caption(f"{config.describe()} · key `{key}`")
    record, problem = resources.inside_record(key)
    if not view.render_record_problem(config, record, problem) and record is None and problem is None:
        record = view.render_saved_model_offer(key)  # trained before recording: before/after from the saved model
    if record is not None:
        st.subheader("How the last hidden layer sees the digits, epoch by epoch")
        view.render_embedding(key, config, record)
        st.subheader("Weights and activations over the epochs")
        view.render_distributions(record)
        st.subheader("Layer health: gradients and dead units")
        view.render_health(record)
    state.write_url(config, DEFAULTS)

st.subheader("Lessons: train a pair with one click")
view.render_lessons(labels)

if config is not None:
    view.render_network_sections(config)
