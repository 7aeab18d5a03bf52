"""Sections of the Misclassified digits page: model picker, summary, confusion matrix, galleries, one digit's detail.

Each render_*() takes plain inputs (keys, configs, Predictions) and draws one part of the page;
`app_pages/explorer.py` calls them in order. Widget keys live here, beside the widgets.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from core import evaluation
from core.config import RunConfig
from core.presets import PRESETS
from dashboard import resources
from dashboard.charts import common
from dashboard.charts import explorer as charts
from dashboard.views.guide import link_to_page

COLUMNS = 7  # full-width galleries; the error gallery beside the matrix uses GALLERY_COLUMNS
GALLERY_COLUMNS = 4
COMPARE_COLUMNS, COMPARE_SHOWN = 3, 15  # two galleries side by side
CARD_WIDTH = 112  # 28 px x 4: shown at exactly this width, never resampled
PAGE_SIZES = (24, 48, 96)
SORT_LABELS = {"confidence": "most confident first", "index": "test-set order"}
ANY = "any"
NO_TOOLBAR = {"displayModeBar": False}

# Widget / state keys (the confusion-matrix click writes CELL_REQUEST; tests set it the same way).
MODEL, COMPARE, TRUE, PRED, SORT, PAGE, PAGE_SIZE = (
    "explorer_model", "explorer_compare", "explorer_true", "explorer_pred", "explorer_sort", "explorer_page", "explorer_page_size",
)
CELL_REQUEST, DIGIT, NORMALISED, APPLIED_CELL = "explorer_cell_request", "explorer_digit", "explorer_normalised", "explorer_applied_cell"
CONFUSION, NOTE, TABS = "explorer_confusion", "explorer_fallback_note", "explorer_tabs"
ASKED, PICKED = "explorer_applied_address", "explorer_picked_for_address"  # the address's model last applied; picked away from
TAB_LABELS = ("Errors", "Per class", "Correct but unsure", "Compare")


# -- names (from the config's fields, never parsed back out of describe()) ---------------------


def preset_name(config: RunConfig) -> str | None:
    """The tutorial preset's name when the config is one, else None."""
    return next((name for name, item in PRESETS.items() if item.config == config), None)


def run_name(config: RunConfig) -> str:
    """A preset's name when the config is one, else the model and how it learns (no batch, epochs or data)."""
    name = preset_name(config)
    if name is not None:
        return name
    parts = [config.architecture()]
    if config.layers:
        parts.append("/".join(dict.fromkeys(config.activation_per_layer())))
    parts += [f"{field.replace('_', ' ')} {getattr(config, field):g}"
              for field in ("conv_dropout", "dropout", "l2", "label_smoothing") if getattr(config, field)]
    parts += [field.replace("_", " ") for field in ("batch_norm", "augment", "early_stopping") if getattr(config, field)]
    parts.append(f"{config.optimizer} {config.learning_rate:g}")
    if config.lr_schedule != "constant":
        parts.append(f"{config.lr_schedule} schedule")
    return ", ".join(parts)


def run_labels(runs: pd.DataFrame, configs: dict[str, RunConfig]) -> dict[str, str]:
    """key -> 'name · accuracy · key' for every run whose config could be read."""
    labels = {}
    for _, row in runs.iterrows():
        if row["key"] not in configs:
            continue
        accuracy = row.get("test_accuracy")
        score = f"{accuracy:.1%} test accuracy" if isinstance(accuracy, (int, float)) and np.isfinite(accuracy) else "accuracy unknown"
        labels[row["key"]] = f"{run_name(configs[row['key']])} · {score} · {row['key']}"
    return labels


# -- state from the URL -----------------------------------------------------------------------


def class_from_url(name: str) -> int | str:
    raw = st.query_params.get(name)
    if raw is None:
        return ANY
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 9:
        st.warning(f"URL parameter {name}={raw[:20]!r} was ignored: a class is a digit from 0 to 9.", icon="⚠️")
        return ANY
    return value


def as_class(choice: int | str) -> int | None:
    """The filter widgets hold ANY or a class number."""
    return None if choice == ANY else int(choice)


def apply_url_filters(n_digits: int) -> None:
    """Filters from the URL once per session, then the widgets own them; a confusion click overrides both."""
    if TRUE not in st.session_state:
        st.session_state[TRUE] = class_from_url("true")
        st.session_state[PRED] = class_from_url("pred")
        sort_param = st.query_params.get("sort", "confidence")
        st.session_state[SORT] = sort_param if sort_param in SORT_LABELS else "confidence"
        digit_param = st.query_params.get("digit")
        if digit_param is not None:
            valid = digit_param.isdigit() and int(digit_param) < n_digits
            st.session_state[DIGIT] = int(digit_param) if valid else None
            if not valid:
                st.warning(f"URL parameter digit={digit_param[:20]!r} was ignored: test digits are numbered 0 to {n_digits - 1}.", icon="⚠️")


def _apply_cell_request() -> None:
    """A confusion cell asked for (by a test, or by code) sets the gallery's filters before they are drawn."""
    if st.session_state.get(CELL_REQUEST) is not None:
        st.session_state[TRUE], st.session_state[PRED] = st.session_state.pop(CELL_REQUEST)
        st.session_state[PAGE] = 1


def _cell_clicked() -> None:
    """on_select of the confusion matrix: the clicked cell becomes the gallery's filter, in the same rerun."""
    clicked = charts.selected_cell(st.session_state.get(CONFUSION))
    if clicked is not None and clicked != st.session_state.get(APPLIED_CELL):
        st.session_state[TRUE], st.session_state[PRED] = clicked
        st.session_state[PAGE] = 1
    st.session_state[APPLIED_CELL] = clicked


def url_extras(compare_key: str | None) -> dict[str, str | None]:
    """The page's own URL parameters (beside the config), defaults left out."""
    digit = st.session_state.get(DIGIT)
    return {
        "compare": compare_key,
        "true": None if st.session_state[TRUE] == ANY else str(st.session_state[TRUE]),
        "pred": None if st.session_state[PRED] == ANY else str(st.session_state[PRED]),
        "sort": None if st.session_state[SORT] == "confidence" else st.session_state[SORT],
        "digit": None if digit is None else str(digit),
    }


# -- sections ---------------------------------------------------------------------------------


def render_no_models() -> None:
    st.info("No MNIST model has been trained yet, so there are no mistakes to explore. Train one first, e.g. the "
            "`seed001-cnn` preset on the **Train** page (or `python -m core train --preset seed001-cnn`).")
    link_to_page("app_pages/training.py", "Go to the Train page", ":material/model_training:")


def _swap_models() -> None:
    st.session_state[MODEL], st.session_state[COMPARE] = st.session_state[COMPARE], st.session_state[MODEL]


def _picked(asked: str | None) -> None:
    st.session_state[PICKED] = asked  # the user chose a model: the address follows from now on


def keeps_asked_address(asked: str | None, options) -> bool:
    """True while the page shows a fallback for an address whose model is not cached and the user has not picked
    another model: the address stays as it was shared (a learning-path card, a teacher's link)."""
    return asked is not None and asked not in options and st.session_state.get(PICKED) != asked


def seed_model_picker(options: list[str], choice: resources.ModelChoice, note: str, asked: str | None = None, *,
                      model_key: str = MODEL, note_key: str = NOTE, asked_key: str = ASKED) -> None:
    """Start a Model picker (its state `model_key`) on `choice`, or on `asked` when a new address names a cached
    model, and show `note` (why this model) while the picker still shows the model it explains."""
    if asked is not None and asked in options and asked != st.session_state.get(asked_key):
        st.session_state[model_key] = asked  # a new address (a shared link, a learning-path card) wins over the session's pick
    st.session_state[asked_key] = asked
    if st.session_state.get(model_key) not in options:
        st.session_state[model_key] = choice.key
        st.session_state[note_key] = (choice.key, note) if note else None
    remembered = st.session_state.get(note_key)
    if remembered and remembered[0] == st.session_state[model_key]:
        st.info(remembered[1], icon=":material/info:")


def render_model_picker(labels: dict[str, str], choice: resources.ModelChoice, note: str,
                        asked: str | None = None) -> tuple[str | None, str | None]:
    """The Model and Compare-with pickers; returns (key, compare key).

    The Model picker starts on `choice` (the address's model, else the one this session looked at
    last, else the most accurate: `resources.choose_model`); `note` says so while that fallback is shown.
    """
    options = list(labels)
    seed_model_picker(options, choice, note, asked)
    compare_param = st.query_params.get("compare")
    if COMPARE not in st.session_state:
        st.session_state[COMPARE] = compare_param if compare_param in options else None
        if compare_param and compare_param not in options:
            st.warning(f"URL parameter compare={compare_param[:20]!r} was ignored: no cached MNIST model has that key.", icon="⚠️")

    pick, other, swap = st.columns([6, 5, 1.4], vertical_alignment="bottom")
    key = pick.selectbox("Model", options, format_func=labels.get, key=MODEL, placeholder="Choose a cached MNIST model",
                         on_change=_picked, args=(asked,),
                         help="Every cached MNIST run (toy runs are not listed), most recent first, with its test accuracy. "
                              "The address keeps your choice. Try: a CNN, then an MLP, and compare their confusion matrices.")
    compare_options = [option for option in options if option != key]
    if st.session_state.get(COMPARE) not in compare_options:
        st.session_state[COMPARE] = None
    compare_key = other.selectbox("Compare with", compare_options, format_func=labels.get, key=COMPARE,
                                  placeholder="optional: a second model",
                                  help="See which errors the second model fixes and which it introduces (a Compare tab "
                                       "appears). Try: compare an MLP with a CNN of similar size.")
    swap.button("Swap", icon=":material/swap_horiz:", on_click=_swap_models, disabled=compare_key is None,
                help="Make the second model the main one (and the other way round).")
    return key, compare_key


def render_summary(key: str, config: RunConfig, predictions: evaluation.Predictions,
                   compare_config: RunConfig | None, second: evaluation.Predictions | None,
                   comparison: evaluation.ErrorComparison | None) -> None:
    """The run's description, its accuracy and error count, and what switching to the second model changes."""
    name = preset_name(config)
    st.caption((f"**{name}**: " if name else "") + f"{config.describe()} · key `{key}`")
    summary = st.columns(3)
    summary[0].metric("Test accuracy", f"{predictions.accuracy:.2%}")
    summary[1].metric("Errors", f"{int(predictions.wrong.sum()):,} of {len(predictions):,}")
    if comparison is not None and compare_config is not None:
        summary[2].metric(f"Switching to {run_name(compare_config)}", f"fixes {len(comparison.fixed)} · adds {len(comparison.introduced)}",
                          help="Errors of this model that the second gets right, and errors the second makes that this one did not.")


def render_confusion(key: str, predictions: evaluation.Predictions) -> None:
    """The clickable confusion matrix: a click sets the gallery's filters (its on_select callback, one rerun)."""
    st.subheader("Confusion matrix")
    normalised = st.toggle("Row-normalised (share of each true class)", key=NORMALISED,
                           help="Off: how many test digits fell in each cell. On: each row as shares of its true class, "
                                "so classes with fewer test digits compare fairly. Try: on, then find the darkest red cell.")
    matrix = evaluation.confusion_matrix(predictions.labels, predictions.predicted, predictions.n_classes)
    true_class, predicted_class = as_class(st.session_state[TRUE]), as_class(st.session_state[PRED])
    highlighted = (true_class, predicted_class) if true_class is not None and predicted_class is not None else None
    st.plotly_chart(
        resources.confusion_chart(key, matrix, normalised, highlighted),
        on_select=_cell_clicked, selection_mode="points", key=CONFUSION, width="stretch", config=NO_TOOLBAR,
    )
    st.caption("Rows: the true digit; columns: what the network said. Green = right, red = wrong (darker = more). "
               "Click a cell to show those digits.")


def _filter_text(true_class: int | None, predicted_class: int | None) -> str:
    parts = [f"true {true_class}" if true_class is not None else "", f"predicted {predicted_class}" if predicted_class is not None else ""]
    return " / ".join(part for part in parts if part)


def _open_digit(index: int) -> None:
    st.session_state[DIGIT] = index


def render_cards(rows: pd.DataFrame, predictions: evaluation.Predictions, model_key: str, dataset: str, key_prefix: str,
                 caption: Callable[[pd.Series], str] | None = None, per_row: int = COLUMNS) -> None:
    """A grid of digit cards (crisp PNGs with their probability bars) with a Details button each."""
    for start in range(0, len(rows), per_row):
        columns = st.columns(per_row, gap="small")
        for column, (_, row) in zip(columns, rows.iloc[start : start + per_row].iterrows(), strict=False):
            index = int(row["index"])
            card = resources.card_png(model_key, dataset, index, tuple(predictions.probabilities[index].tolist()), int(row["true"]))
            text = caption(row) if caption else charts.card_caption(int(row["true"]), int(row["predicted"]), float(row["confidence"]))
            with column:
                st.image(card, caption=text, output_format="PNG", width=CARD_WIDTH)
                # A callback, not `if st.button(...)`: the digit is set before the errors fragment draws the dialog.
                st.button("Details", key=f"{key_prefix}_{index}", icon=":material/zoom_in:", type="tertiary",
                          on_click=_open_digit, args=(index,),
                          help="Open this digit: its probabilities and the pixels that pushed the network to its answer.")


def render_gallery(key: str, dataset: str, predictions: evaluation.Predictions) -> None:
    """The errors, filtered by true / predicted class, sorted and paged."""
    st.subheader("Gallery of errors")
    filters = st.columns([1, 1, 2, 1])
    class_options = [ANY, *range(predictions.n_classes)]
    true_class = as_class(filters[0].selectbox("True class", class_options, key=TRUE, format_func=str,
                                               help="Show only errors on digits that really are this class. "
                                                    "Try: the row of the confusion matrix with the most red."))
    predicted_class = as_class(filters[1].selectbox("Predicted class", class_options, key=PRED, format_func=str,
                                                    help="Show only errors where the network answered this class. "
                                                         "Try: true 4, predicted 9."))
    sort = filters[2].selectbox("Sort", list(SORT_LABELS), key=SORT, format_func=SORT_LABELS.get,
                                help="Most confident first puts the surest mistakes on top: often badly written digits "
                                     "or wrong labels. Test-set order shows them as they come.")
    page_size = filters[3].selectbox("Per page", PAGE_SIZES, key=PAGE_SIZE, help="How many digit cards one page of the gallery shows.")
    errors = evaluation.misclassified(predictions, true_class, predicted_class, sort)
    chosen = _filter_text(true_class, predicted_class)
    if errors.empty:
        if chosen:
            st.info(f"No errors for {chosen}." + (" The network got every one of them right." if true_class is not None and
                                                    true_class == predicted_class else ""))
        else:
            st.success(f"No errors at all: the model classifies all {len(predictions):,} test digits correctly.")
        return
    pages = -(-len(errors) // page_size)
    if st.session_state.get(PAGE, 1) > pages:
        st.session_state[PAGE] = 1
    count_line = f"**{len(errors):,} errors** of {len(predictions):,} test digits" + (f" for {chosen}" if chosen else "")
    st.markdown(count_line, help="Each card shows the digit and its ten class probabilities: "
                "red = the wrong answer, green = the true class.")
    page = st.session_state.get(PAGE, 1)
    shown = errors.iloc[(page - 1) * page_size : page * page_size]
    render_cards(shown, predictions, key, dataset, "open", per_row=GALLERY_COLUMNS)
    if pages > 1:
        st.pagination(pages, key=PAGE)  # st.pagination takes no help=


@st.fragment
def render_errors(key: str, config: RunConfig, predictions: evaluation.Predictions, images: np.ndarray,
                  write_address: Callable[[], None]) -> None:
    """The confusion matrix, the gallery of errors and the open digit's detail: one fragment, so a click
    on a cell, a filter or a Details button reruns this section only (the page's top is not redrawn)."""
    _apply_cell_request()
    left, right = st.columns([4, 5], gap="medium")
    with left:
        render_confusion(key, predictions)
    with right:
        render_gallery(key, config.dataset, predictions)
    render_open_digit(key, config, predictions, images)
    write_address()


def render_open_digit(key: str, config: RunConfig, predictions: evaluation.Predictions, images: np.ndarray) -> None:
    """The detail dialog of the digit a Details button (or ?digit=) opened, if any."""
    digit = st.session_state.get(DIGIT)
    if digit is not None and 0 <= digit < len(predictions):
        render_detail(key, config, images[digit], int(digit), predictions.probabilities[digit],
                      int(predictions.labels[digit]), int(predictions.predicted[digit]))


def render_per_class(predictions: evaluation.Predictions) -> None:
    st.subheader("Accuracy per class")
    table = evaluation.per_class_metrics(predictions)
    st.plotly_chart(charts.class_accuracy_figure(table), width="stretch", config=NO_TOOLBAR)
    worst = table.sort_values("recall").iloc[0]
    st.caption(f"Hardest class: **{int(worst['class'])}** ({int(worst['errors'])} of {int(worst['support'])} wrong). "
               "Precision says how often the network is right when it answers that class.")
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "recall": st.column_config.ProgressColumn("accuracy (recall)", format="percent", min_value=0.0, max_value=1.0),
        "precision": st.column_config.NumberColumn("precision", format="percent"),
    })


def render_unsure(key: str, dataset: str, predictions: evaluation.Predictions) -> None:
    st.subheader("Correct, but only just")
    unsure = evaluation.correct_but_unsure(predictions, limit=COLUMNS * 4)
    if unsure.empty:
        st.info("The model got no test digit right, so there are no near misses to show.")
        return
    st.caption("Right answers with the lowest top-1 probability: the next errors, if the model changes a little.")
    render_cards(unsure, predictions, key, dataset, "unsure",
                 caption=lambda row: f"{int(row['predicted'])} ✓ · only {row['confidence'] * 100:.0f} %")


def render_comparison(key: str, config: RunConfig, predictions: evaluation.Predictions,
                      compare_key: str, compare_config: RunConfig, second: evaluation.Predictions,
                      comparison: evaluation.ErrorComparison) -> None:
    """The errors the second model fixes and the ones it introduces, side by side."""
    first_name, second_name = run_name(config), run_name(compare_config)
    if first_name == second_name:
        first_name, second_name = f"{first_name} ({key[:6]})", f"{second_name} ({compare_key[:6]})"
    st.subheader(f"{first_name} vs {second_name}")
    fixed_column, introduced_column = st.columns(2, gap="large")
    # Each side shows the digits with the probabilities of the model that got them wrong.
    sides = [
        (fixed_column, "fixed", comparison.fixed, predictions, key, config.dataset,
         f"**{len(comparison.fixed)} errors fixed** by {second_name} (wrong for {first_name}, right for {second_name})",
         f"{second_name} fixes none of {first_name}'s errors.",
         lambda row: f"{first_name}: {int(row['predicted'])} ✗ · {second_name}: {int(row['true'])} ✓"),
        (introduced_column, "introduced", comparison.introduced, second, compare_key, compare_config.dataset,
         f"**{len(comparison.introduced)} errors introduced** by {second_name} (right for {first_name})",
         f"{second_name} makes no error that {first_name} did not make.",
         lambda row: f"{second_name}: {int(row['predicted'])} ✗ · true {int(row['true'])}"),
    ]
    for column, name, indices, wrong_model, model_key, dataset, heading, nothing, caption in sides:
        with column:
            st.markdown(heading)
            digits = evaluation.misclassified(wrong_model).set_index("index").loc[indices].reset_index()
            digits = digits.sort_values("confidence", ascending=False).head(COMPARE_SHOWN)
            if digits.empty:
                st.info(nothing)
            render_cards(digits, wrong_model, model_key, dataset, name, caption=caption, per_row=COMPARE_COLUMNS)
    st.caption(f"{len(comparison.both_wrong)} digits are wrong for both. Cards show the probabilities of the model that got them wrong; "
               f"each side shows at most {COMPARE_SHOWN}, the most confident mistakes first.")


def _close_detail() -> None:
    st.session_state[DIGIT] = None


@st.dialog("Why this answer?", width=1150, on_dismiss=_close_detail)
def render_detail(key: str, config: RunConfig, image: np.ndarray, index: int, probabilities: np.ndarray,
                  true_label: int, predicted_label: int) -> None:
    """One test digit: its probabilities, the pixels that drove the answer, and for a CNN its filters and feature maps."""
    verdict = "right" if true_label == predicted_label else "wrong"
    st.markdown(f"**Test digit #{index}**: true **{true_label}**, predicted **{predicted_label}** "
                f"({probabilities[predicted_label]:.0%}, {verdict}) · {run_name(config)}")
    picture, bars, heat = st.columns([1, 1.4, 1.3])
    picture.plotly_chart(common.digit_figure(image, size=250), config=NO_TOOLBAR, key="detail_digit")
    bars.plotly_chart(common.probability_bars(probabilities, true_label, height=270), width="stretch",
                      config=NO_TOOLBAR, key="detail_bars")
    with heat:
        target = st.radio("Pixels that pushed towards", [predicted_label, true_label] if verdict == "wrong" else [predicted_label],
                          format_func=lambda c: f"{c} (predicted)" if c == predicted_label else f"{c} (true)", horizontal=True,
                          key="detail_target", help="Whose pixels to show: those that pushed towards the wrong answer, "
                                                    "or towards the true class. Try: switch and compare the two maps.")
        try:
            heat_map = resources.saliency(key, image, int(target))
        except LookupError as error:
            st.warning(f"{error}; the saliency map needs the model itself.", icon="⚠️")
        else:
            st.plotly_chart(charts.saliency_figure(image, heat_map, size=230), config=NO_TOOLBAR, key="detail_saliency")
    st.caption("Saliency (integrated gradients): how much each pixel raised the probability of the chosen class, fading the "
               "digit in from black. Bright = pushed hardest.")
    if config.arch != "cnn":
        st.caption("This model is an MLP: it sees 784 loose pixels, so it has no filters or feature maps. Open a CNN to see them.")
        return
    try:
        kernels, maps = resources.filters(key), resources.feature_maps(key, image)
    except LookupError as error:
        st.warning(f"{error}; filters and feature maps need the model itself.", icon="⚠️")
        return
    st.markdown(f"**First conv layer's {kernels.shape[-1]} filters** ({kernels.shape[0]}x{kernels.shape[1]}; dark = large weight)")
    st.plotly_chart(charts.filters_figure(kernels, columns=16), config=NO_TOOLBAR, key="detail_filters")
    st.markdown("**Feature maps of this digit** (what each filter responds to; bright = strong)")
    layer_tabs = st.tabs([name for name, _ in maps])
    for tab, (name, activations) in zip(layer_tabs, maps, strict=True):
        with tab:
            st.plotly_chart(charts.feature_maps_figure(name, activations), config=NO_TOOLBAR, key=f"detail_maps_{name}")
