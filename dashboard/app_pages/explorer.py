"""Misclassified digits: every error of a cached MNIST model findable in two clicks, and for each one, why.

Confusion matrix (click a cell) -> gallery of those errors with their probability bars -> one
digit's detail: probabilities, the pixels that drove the answer, and for CNNs the filters and
feature maps. A second model shows which errors it fixes and which it introduces.
The sections live in `dashboard/views/explorer.py`.
"""

from __future__ import annotations

import streamlit as st

from core import evaluation
from core.data import FullMnistUnavailable
from core.presets import preset
from dashboard import resources, state
from dashboard.views import explorer as view

DEFAULTS = preset("base")  # the training page's defaults: the same URL means the same model

st.title("Misclassified digits")
st.caption(
    "Which test digits does a trained network get wrong, how sure was it, and which pixels pushed it there? "
    "Click a cell of the confusion matrix to see those digits; open one for the full story."
)

url_config = state.config_from_url(DEFAULTS, page="explorer")  # its own parameters: state.PAGE_EXTRAS
runs = resources.mnist_runs()
if runs.empty:
    view.render_no_models()
    st.stop()
configs = resources.run_configs(runs["key"])
key, compare_key = view.render_model_picker(view.run_labels(runs, configs), url_config)
if key is None:
    st.stop()
config = configs[key]

try:
    images = resources.mnist(config.dataset).x_test
    predictions = resources.test_predictions(key, config.dataset)
except FullMnistUnavailable as error:
    st.error(f"This model was trained on full MNIST, which cannot be loaded here ({error}).")
    st.stop()
except LookupError:
    st.warning(f"The cached model {key} is corrupt or missing; it was moved aside and will be trained again next time "
               "it is asked for. Pick another model.", icon="⚠️")
    resources.forget_models()
    st.stop()
view.apply_url_filters(len(predictions))

compare_config = configs[compare_key] if compare_key is not None else None
second = comparison = None
if compare_config is not None:
    try:
        second = resources.test_predictions(compare_key, compare_config.dataset)
        comparison = evaluation.compare_errors(predictions, second)
    except (ValueError, LookupError, FullMnistUnavailable) as error:
        st.warning(f"Cannot compare with {view.run_name(compare_config)}: {error}", icon="⚠️")
view.render_summary(key, config, predictions, compare_config, second, comparison)

tabs = st.tabs(["Errors", "Per class", "Correct but unsure"] + (["Compare"] if comparison is not None else []))
with tabs[0]:
    left, right = st.columns([4, 5], gap="medium")
    with left:
        view.render_confusion(key, predictions)
    with right:
        view.render_gallery(key, config.dataset, predictions)
with tabs[1]:
    view.render_per_class(predictions)
with tabs[2]:
    view.render_unsure(key, config.dataset, predictions)
if comparison is not None:
    with tabs[3]:
        view.render_comparison(key, config, predictions, compare_key, compare_config, second, comparison)

digit = st.session_state.get(view.DIGIT)
if digit is not None and 0 <= digit < len(predictions):
    view.render_detail(key, config, images[digit], int(digit), predictions.probabilities[digit],
                       int(predictions.labels[digit]), int(predictions.predicted[digit]))

state.write_url(config, DEFAULTS, extra=view.url_extras(compare_key))
