"""Robustness: how fast does a trained MNIST model fail when its digits are noisy, tilted, moved, resized,
thinner, partly hidden or attacked?

Accuracy-vs-strength curves for one or several cached models on one chart, a sentence naming the most
robust, and a gallery of damaged digits with each model's answer. The sections live in
`dashboard/views/robustness.py`; the perturbations and curves in `core/robustness.py`.
"""

from __future__ import annotations

import streamlit as st

from core.presets import preset
from dashboard import resources, state
from dashboard.views import explorer as explorer_view
from dashboard.views import robustness as view

DEFAULTS = preset("base")  # the training page's defaults: a configuration in the address means the same model

st.title("Robustness")
st.caption("A network that scores 98 % on clean test digits: does it still read them tilted by 30°, with grain, a thicker "
           "pen, a blot in the middle, or nudged pixel by pixel against it? Compare cached models on one chart.")

url_config = state.config_from_url(DEFAULTS, page="robustness")
if url_config.task == "toy":
    view.render_toy_notice()
all_runs = resources.run_table()
toy_keys = set(all_runs.loc[all_runs["task"] == "toy", "key"]) if "task" in all_runs else set()
runs = resources.mnist_runs()
configs = resources.run_configs(runs["key"]) if not runs.empty else {}
labels = explorer_view.run_labels(runs, configs) if configs else {}
if not labels:
    view.render_no_models()
    st.stop()

choice = resources.choose_model(runs[runs["key"].isin(labels)], url_config.key(), resources.recent_model())
asked_for = f"the configuration {url_config.describe()}" if url_config != DEFAULTS and url_config.task == "mnist" else None
note = resources.choice_note(choice, explorer_view.run_name(configs[choice.key]), asked_for, picker="Models")
view.apply_address(labels, view.default_models(runs, labels, choice), note, toy_keys)

keys = view.render_model_picker(labels)
kind = view.render_perturbation_picker()
strength = view.render_strength_slider(kind)
view.write_address(keys, kind, strength)
if not keys:
    st.info("Pick at least one model in **Models** to draw its curve.")
    st.stop()
resources.remember_model(keys[0])

curves = view.compute_curves(keys, configs, kind)
if curves:
    names = view.model_names(list(curves), configs)
    view.render_curves(curves, names, kind, strength)
    view.render_verdict(curves, names, kind, strength)
    view.render_gallery(list(curves), configs, names, kind, strength)
