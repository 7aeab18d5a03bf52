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
from dashboard.views import readings

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
labels = view.run_labels(runs, configs)
choice = resources.choose_model(runs[runs["key"].isin(labels)], url_config.key(), resources.recent_model())
if choice.key is None:
    view.render_no_models()
    st.stop()
asked_for = f"the configuration {url_config.describe()}" if url_config != DEFAULTS and url_config.task == "mnist" else None
note = resources.choice_note(choice, view.run_name(configs[choice.key]), asked_for)
asked = url_config.key() if asked_for is not None else None  # the address named a model (cached or not)
key, compare_key = view.render_model_picker(labels, choice, note, asked)
if key is None:
    st.stop()
resources.remember_model(key)
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
readings.render_weak_spots(evaluation.confusion_matrix(predictions.labels, predictions.predicted, predictions.probabilities.shape[1]))


def write_address() -> None:
    if view.keeps_asked_address(asked, labels):
        return  # showing a fallback for an uncached address: it stays as shared until the user picks a model
    state.write_url(config, DEFAULTS, extra=view.url_extras(compare_key))


# Only the open tab is drawn (a tab switch reruns the page): opening the page draws 24 cards, not 80.
tabs = st.tabs(view.TAB_LABELS[:4 if comparison is not None else 3], key=view.TABS, on_change="rerun")
if tabs[0].open:
    with tabs[0]:
        view.render_errors(key, config, predictions, images, write_address)  # a fragment: clicks rerun it alone
if tabs[1].open:
    with tabs[1]:
        view.render_per_class(predictions)
if tabs[2].open:
    with tabs[2]:
        view.render_unsure(key, config.dataset, predictions)
if comparison is not None and tabs[3].open:
    with tabs[3]:
        view.render_comparison(key, config, predictions, compare_key, compare_config, second, comparison)
if not tabs[0].open:
    view.render_open_digit(key, config, predictions, images)  # a Details button of another tab
write_address()
