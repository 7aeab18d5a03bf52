"""Misclassified digits: every error of a cached MNIST model findable in two clicks, and for each one, why.

Confusion matrix (click a cell) -> gallery of those errors with their probability bars -> one
digit's detail: probabilities, the pixels that drove the answer, and for CNNs the filters and
feature maps. A second model shows which errors it fixes and which it introduces.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
if str(REPO) not in sys.path:  # standalone runs (AppTest) see only this folder
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core import cache, evaluation  # noqa: E402
from core.config import RunConfig  # noqa: E402
from core.data import FullMnistUnavailable  # noqa: E402
from core.presets import PRESETS, preset  # noqa: E402
from dashboard import resources, state  # noqa: E402
from dashboard.charts import common  # noqa: E402
from dashboard.charts import explorer as charts  # noqa: E402

DEFAULTS = preset("base")  # the training page's defaults: the same URL means the same model
URL_EXTRAS = ("compare", "true", "pred", "sort", "digit")
COLUMNS = 7  # full-width galleries; the error gallery beside the matrix uses GALLERY_COLUMNS
GALLERY_COLUMNS = 4
COMPARE_COLUMNS, COMPARE_SHOWN = 3, 15  # two galleries side by side
CARD_WIDTH = 112  # 28 px x 4: shown at exactly this width, never resampled
PAGE_SIZES = (24, 48, 96)
SORT_LABELS = {"confidence": "most confident first", "index": "test-set order"}
ANY = "any"

# Widget / state keys (the confusion-matrix click writes CELL_REQUEST; tests set it the same way).
MODEL, COMPARE, TRUE, PRED, SORT, PAGE, PAGE_SIZE = (
    "explorer_model", "explorer_compare", "explorer_true", "explorer_pred", "explorer_sort", "explorer_page", "explorer_page_size",
)
CELL_REQUEST, DIGIT, NORMALISED = "explorer_cell_request", "explorer_digit", "explorer_normalised"


# -- cached computations (by model key: never recomputed on a rerun) --------------------------


@st.cache_data(max_entries=32, show_spinner="Computing this model's answers on the test digits (once per model)…")
def predictions_for(key: str, dataset: str) -> evaluation.Predictions:
    splits = resources.mnist(dataset)
    return evaluation.test_predictions(key, lambda: _model(key), splits.x_test, splits.y_test)


def _model(key: str):
    run = resources.cached_run(key)
    if run is None:
        raise LookupError(f"the cached model {key} could not be loaded")
    return run.model


@st.cache_data(max_entries=4000, show_spinner=False)
def card_png(key: str, dataset: str, index: int, probabilities: tuple[float, ...], true_label: int) -> bytes:
    """A gallery card as PNG bytes, memoised: a rerun re-sends bytes instead of redrawing them (~7 ms each)."""
    return charts.png_bytes(charts.digit_card(resources.mnist(dataset).x_test[index], np.asarray(probabilities), true_label))


@st.cache_resource(max_entries=64, show_spinner=False)
def confusion_chart(key: str, matrix: np.ndarray, normalised: bool, selected: tuple[int, int] | None):
    """The confusion figure, memoised per model and state (building a plotly figure costs ~0.1 s).

    cache_resource, not cache_data: every run must get the very same figure. Streamlit derives the
    chart's element id from the figure's JSON and a click is sent for that id; cache_data hands out
    pickled copies, whose layout keys serialise in another order than the freshly built figure's, so
    the rerun a first click triggers drew a "new" chart and the click was lost. Nothing mutates it.
    """
    return charts.confusion_figure(matrix, normalised=normalised, selected=selected)


@st.cache_data(max_entries=256, show_spinner=False)
def saliency_for(key: str, dataset: str, index: int, class_index: int) -> np.ndarray:
    return evaluation.saliency(_model(key), resources.mnist(dataset).x_test[index], class_index)


@st.cache_data(max_entries=64, show_spinner=False)
def feature_maps_for(key: str, dataset: str, index: int) -> list[tuple[str, np.ndarray]]:
    return evaluation.feature_maps(_model(key), resources.mnist(dataset).x_test[index])


@st.cache_data(max_entries=16, show_spinner=False)
def filters_for(key: str) -> np.ndarray:
    return evaluation.filters(_model(key))


# -- helpers ----------------------------------------------------------------------------------


def run_name(config: RunConfig) -> str:
    """A preset's name when the config is one, else the first part of its description."""
    for name, item in PRESETS.items():
        if item.config == config:
            return name
    return config.describe().split(", batch")[0]


def mnist_runs() -> pd.DataFrame:
    runs = resources.run_table()
    if runs.empty or "task" not in runs:
        return runs.iloc[0:0]
    return runs[runs["task"] == "mnist"].reset_index(drop=True)


def run_label(row: pd.Series, config: RunConfig) -> str:
    accuracy = row.get("test_accuracy")
    score = f"{accuracy:.1%} test accuracy" if isinstance(accuracy, (int, float)) and np.isfinite(accuracy) else "accuracy unknown"
    return f"{run_name(config)} · {score} · {row['key']}"


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


def filter_text(true_class: int | None, predicted_class: int | None) -> str:
    parts = [f"true {true_class}" if true_class is not None else "", f"predicted {predicted_class}" if predicted_class is not None else ""]
    return " / ".join(part for part in parts if part)


def show_cards(rows: pd.DataFrame, predictions: evaluation.Predictions, model_key: str, dataset: str, key_prefix: str,
               caption=None, per_row: int = COLUMNS) -> None:
    """A grid of digit cards (crisp PNGs with their probability bars) with a Details button each."""
    for start in range(0, len(rows), per_row):
        columns = st.columns(per_row, gap="small")
        for column, (_, row) in zip(columns, rows.iloc[start : start + per_row].iterrows(), strict=False):
            index = int(row["index"])
            card = card_png(model_key, dataset, index, tuple(predictions.probabilities[index].tolist()), int(row["true"]))
            text = caption(row) if caption else charts.card_caption(int(row["true"]), int(row["predicted"]), float(row["confidence"]))
            with column:
                st.image(card, caption=text, output_format="PNG", width=CARD_WIDTH)
                if st.button("Details", key=f"{key_prefix}_{index}", icon=":material/zoom_in:", type="tertiary"):
                    st.session_state[DIGIT] = index


def close_detail() -> None:
    st.session_state[DIGIT] = None


def swap_models() -> None:
    st.session_state[MODEL], st.session_state[COMPARE] = st.session_state[COMPARE], st.session_state[MODEL]


# -- the page ---------------------------------------------------------------------------------

st.title("Misclassified digits")
st.caption(
    "Which test digits does a trained network get wrong, how sure was it, and which pixels pushed it there? "
    "Click a cell of the confusion matrix to see those digits; open one for the full story."
)

url_config = state.config_from_url(DEFAULTS, extra=URL_EXTRAS)
runs = mnist_runs()
if runs.empty:
    st.info("No MNIST model has been trained yet, so there are no mistakes to explore. Train one first, e.g. the "
            "`seed001-cnn` preset on the **Train** page (or `python -m core train --preset seed001-cnn`).")
    try:
        st.page_link("app_pages/training.py", label="Go to the Train page", icon=":material/model_training:")
    except Exception:  # noqa: BLE001 - the Train page may not exist yet (or the page runs standalone)
        pass
    st.stop()

configs: dict[str, RunConfig] = {}
for key in runs["key"]:
    try:
        configs[key] = cache.read_meta(key)["config"]
    except cache.CorruptEntry:
        continue
labels = {row["key"]: run_label(row, configs[row["key"]]) for _, row in runs.iterrows() if row["key"] in configs}
options = list(labels)
url_key = url_config.key()

if st.session_state.get(MODEL) not in options:
    st.session_state[MODEL] = url_key if url_key in options else None
if url_key not in options and url_config.task == "mnist":
    st.info(f"The configuration in the address ({url_config.describe()}) has no trained model yet. "
            "Train it on the **Train** page, or pick any cached model below.")
compare_param = st.query_params.get("compare")
if COMPARE not in st.session_state:
    st.session_state[COMPARE] = compare_param if compare_param in options else None
    if compare_param and compare_param not in options:
        st.warning(f"URL parameter compare={compare_param[:20]!r} was ignored: no cached MNIST model has that key.", icon="⚠️")

pick, other, swap = st.columns([6, 5, 1.4], vertical_alignment="bottom")
key = pick.selectbox("Model", options, format_func=labels.get, key=MODEL, placeholder="Choose a cached MNIST model",
                     help="Every cached MNIST run (toy runs are not listed). The address keeps your choice.")
compare_options = [option for option in options if option != key]
if st.session_state.get(COMPARE) not in compare_options:
    st.session_state[COMPARE] = None
compare_key = other.selectbox("Compare with", compare_options, format_func=labels.get, key=COMPARE,
                              placeholder="optional: a second model",
                              help="See which errors the second model fixes and which it introduces.")
swap.button("Swap", icon=":material/swap_horiz:", on_click=swap_models, disabled=compare_key is None,
            help="Make the second model the main one (and the other way round).")
if key is None:
    st.stop()
config = configs[key]

try:
    images = resources.mnist(config.dataset).x_test
    predictions = predictions_for(key, config.dataset)
except FullMnistUnavailable as error:
    st.error(f"This model was trained on full MNIST, which cannot be loaded here ({error}).")
    st.stop()
except LookupError:
    st.warning(f"The cached model {key} is corrupt or missing; it was moved aside and will be trained again next time "
               "it is asked for. Pick another model.", icon="⚠️")
    resources.forget_models()
    st.stop()

# -- filters: URL once per session, then widgets; a confusion click overrides both ------------
if TRUE not in st.session_state:
    st.session_state[TRUE] = class_from_url("true")
    st.session_state[PRED] = class_from_url("pred")
    sort_param = st.query_params.get("sort", "confidence")
    st.session_state[SORT] = sort_param if sort_param in SORT_LABELS else "confidence"
    digit_param = st.query_params.get("digit")
    if digit_param is not None:
        valid = digit_param.isdigit() and int(digit_param) < len(predictions)
        st.session_state[DIGIT] = int(digit_param) if valid else None
        if not valid:
            st.warning(f"URL parameter digit={digit_param[:20]!r} was ignored: test digits are numbered 0 to {len(predictions) - 1}.", icon="⚠️")
if st.session_state.get(CELL_REQUEST) is not None:
    st.session_state[TRUE], st.session_state[PRED] = st.session_state.pop(CELL_REQUEST)
    st.session_state[PAGE] = 1

errors_total = int(predictions.wrong.sum())
st.caption((f"**{run_name(config)}**: " if run_name(config) in PRESETS else "") + f"{config.describe()} · key `{key}`")
summary = st.columns(3)
summary[0].metric("Test accuracy", f"{predictions.accuracy:.2%}")
summary[1].metric("Errors", f"{errors_total:,} of {len(predictions):,}")

comparison = second = None
if compare_key is not None:
    second_config = configs[compare_key]
    try:
        second = predictions_for(compare_key, second_config.dataset)
        comparison = evaluation.compare_errors(predictions, second)
    except (ValueError, LookupError, FullMnistUnavailable) as error:
        st.warning(f"Cannot compare with {run_name(second_config)}: {error}", icon="⚠️")
    if comparison is not None:
        summary[2].metric(f"Switching to {run_name(second_config)}", f"fixes {len(comparison.fixed)} · adds {len(comparison.introduced)}",
                          help="Errors of this model that the second gets right, and errors the second makes that this one did not.")

tab_names = ["Errors", "Per class", "Correct but unsure"] + (["Compare"] if comparison is not None else [])
tabs = st.tabs(tab_names)

with tabs[0]:
    left, right = st.columns([4, 5], gap="medium")
    with left:
        st.subheader("Confusion matrix")
        normalised = st.toggle("Row-normalised (share of each true class)", key=NORMALISED)
        matrix = evaluation.confusion_matrix(predictions.labels, predictions.predicted, predictions.n_classes)
        true_class, predicted_class = as_class(st.session_state[TRUE]), as_class(st.session_state[PRED])
        highlighted = (true_class, predicted_class) if true_class is not None and predicted_class is not None else None
        event = st.plotly_chart(
            confusion_chart(key, matrix, normalised, highlighted),
            on_select="rerun", selection_mode="points", key="explorer_confusion", width="stretch",
            config={"displayModeBar": False},
        )
        clicked = charts.selected_cell(event)
        if clicked is not None and clicked != st.session_state.get("explorer_applied_cell"):
            st.session_state["explorer_applied_cell"] = clicked
            st.session_state[CELL_REQUEST] = clicked
            st.rerun()
        if clicked is None:
            st.session_state["explorer_applied_cell"] = None
        st.caption("Rows: the true digit; columns: what the network said. Green = right, red = wrong. "
                   "Click a cell to show those digits.")

    with right:
        st.subheader("Gallery of errors")
        filters = st.columns([1, 1, 2, 1])
        class_options = [ANY, *range(predictions.n_classes)]
        true_class = as_class(filters[0].selectbox("True class", class_options, key=TRUE, format_func=str))
        predicted_class = as_class(filters[1].selectbox("Predicted class", class_options, key=PRED, format_func=str))
        sort = filters[2].selectbox("Sort", list(SORT_LABELS), key=SORT, format_func=SORT_LABELS.get)
        page_size = filters[3].selectbox("Per page", PAGE_SIZES, key=PAGE_SIZE)
        errors = evaluation.misclassified(predictions, true_class, predicted_class, sort)
        chosen = filter_text(true_class, predicted_class)
        if errors.empty:
            if chosen:
                st.info(f"No errors for {chosen}." + (" The network got every one of them right." if true_class is not None and
                                                        true_class == predicted_class else ""))
            else:
                st.success(f"No errors at all: the model classifies all {len(predictions):,} test digits correctly.")
        else:
            pages = -(-len(errors) // page_size)
            if st.session_state.get(PAGE, 1) > pages:
                st.session_state[PAGE] = 1
            count_line = f"**{len(errors):,} errors** of {len(predictions):,} test digits" + (f" for {chosen}" if chosen else "")
            st.markdown(count_line, help="Each card shows the digit and its ten class probabilities: "
                        "red = the wrong answer, green = the true class.")
            page = st.session_state.get(PAGE, 1)
            shown = errors.iloc[(page - 1) * page_size : page * page_size]
            show_cards(shown, predictions, key, config.dataset, "open", per_row=GALLERY_COLUMNS)
            if pages > 1:
                st.pagination(pages, key=PAGE)

with tabs[1]:
    st.subheader("Accuracy per class")
    table = evaluation.per_class_metrics(predictions)
    st.plotly_chart(charts.class_accuracy_figure(table), width="stretch", config={"displayModeBar": False})
    worst = table.sort_values("recall").iloc[0]
    st.caption(f"Hardest class: **{int(worst['class'])}** ({int(worst['errors'])} of {int(worst['support'])} wrong). "
               "Precision says how often the network is right when it answers that class.")
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "recall": st.column_config.ProgressColumn("accuracy (recall)", format="percent", min_value=0.0, max_value=1.0),
        "precision": st.column_config.NumberColumn("precision", format="percent"),
    })

with tabs[2]:
    st.subheader("Correct, but only just")
    unsure = evaluation.correct_but_unsure(predictions, limit=COLUMNS * 4)
    if unsure.empty:
        st.info("The model got no test digit right, so there are no near misses to show.")
    else:
        st.caption("Right answers with the lowest top-1 probability: the next errors, if the model changes a little.")
        show_cards(unsure, predictions, key, config.dataset, "unsure",
                   caption=lambda row: f"{int(row['predicted'])} ✓ · only {row['confidence'] * 100:.0f} %")

if comparison is not None:
    with tabs[3]:
        first_name, second_name = run_name(config), run_name(configs[compare_key])
        if first_name == second_name:
            first_name, second_name = f"{first_name} ({key[:6]})", f"{second_name} ({compare_key[:6]})"
        st.subheader(f"{first_name} vs {second_name}")
        fixed_column, introduced_column = st.columns(2, gap="large")
        with fixed_column:
            st.markdown(f"**{len(comparison.fixed)} errors fixed** by {second_name} (wrong for {first_name}, right for {second_name})")
            fixed = evaluation.misclassified(predictions).set_index("index").loc[comparison.fixed].reset_index()
            fixed = fixed.sort_values("confidence", ascending=False).head(COMPARE_SHOWN)
            if fixed.empty:
                st.info(f"{second_name} fixes none of {first_name}'s errors.")
            show_cards(fixed, predictions, key, config.dataset, "fixed",
                       caption=lambda row: f"{first_name}: {int(row['predicted'])} ✗ · {second_name}: {int(row['true'])} ✓",
                       per_row=COMPARE_COLUMNS)
        with introduced_column:
            st.markdown(f"**{len(comparison.introduced)} errors introduced** by {second_name} (right for {first_name})")
            introduced = evaluation.misclassified(second).set_index("index").loc[comparison.introduced].reset_index()
            introduced = introduced.sort_values("confidence", ascending=False).head(COMPARE_SHOWN)
            if introduced.empty:
                st.info(f"{second_name} makes no error that {first_name} did not make.")
            show_cards(introduced, second, compare_key, configs[compare_key].dataset, "introduced",
                       caption=lambda row: f"{second_name}: {int(row['predicted'])} ✗ · true {int(row['true'])}",
                       per_row=COMPARE_COLUMNS)
        st.caption(f"{len(comparison.both_wrong)} digits are wrong for both. Cards show the probabilities of the model that got them wrong; "
                   f"each side shows at most {COMPARE_SHOWN}, the most confident mistakes first.")


# -- one digit in detail ----------------------------------------------------------------------


@st.dialog("Why this answer?", width=1150, on_dismiss=close_detail)
def digit_detail(index: int) -> None:
    image = images[index]
    probabilities = predictions.probabilities[index]
    true_label, predicted_label = int(predictions.labels[index]), int(predictions.predicted[index])
    verdict = "right" if true_label == predicted_label else "wrong"
    st.markdown(f"**Test digit #{index}**: true **{true_label}**, predicted **{predicted_label}** "
                f"({probabilities[predicted_label]:.0%}, {verdict}) · {run_name(config)}")
    picture, bars, heat = st.columns([1, 1.4, 1.3])
    picture.plotly_chart(common.digit_figure(image, size=250), config={"displayModeBar": False}, key="detail_digit")
    bars.plotly_chart(common.probability_bars(probabilities, true_label, height=270), width="stretch",
                      config={"displayModeBar": False}, key="detail_bars")
    with heat:
        target = st.radio("Pixels that pushed towards", [predicted_label, true_label] if verdict == "wrong" else [predicted_label],
                          format_func=lambda c: f"{c} (predicted)" if c == predicted_label else f"{c} (true)", horizontal=True,
                          key="detail_target")
        try:
            heat_map = saliency_for(key, config.dataset, index, int(target))
        except LookupError as error:
            st.warning(f"{error}; the saliency map needs the model itself.", icon="⚠️")
        else:
            st.plotly_chart(charts.saliency_figure(image, heat_map, size=230), config={"displayModeBar": False}, key="detail_saliency")
    st.caption("Saliency (integrated gradients): how much each pixel raised the probability of the chosen class, fading the "
               "digit in from black. Bright = pushed hardest.")
    if config.arch != "cnn":
        st.caption("This model is an MLP: it sees 784 loose pixels, so it has no filters or feature maps. Open a CNN to see them.")
        return
    try:
        kernels, maps = filters_for(key), feature_maps_for(key, config.dataset, index)
    except LookupError as error:
        st.warning(f"{error}; filters and feature maps need the model itself.", icon="⚠️")
        return
    st.markdown(f"**First conv layer's {kernels.shape[-1]} filters** ({kernels.shape[0]}x{kernels.shape[1]}; dark = large weight)")
    st.plotly_chart(charts.filters_figure(kernels, columns=16), config={"displayModeBar": False}, key="detail_filters")
    st.markdown("**Feature maps of this digit** (what each filter responds to; bright = strong)")
    layer_tabs = st.tabs([name for name, _ in maps])
    for tab, (name, activations) in zip(layer_tabs, maps, strict=True):
        with tab:
            st.plotly_chart(charts.feature_maps_figure(name, activations), config={"displayModeBar": False}, key=f"detail_maps_{name}")


digit = st.session_state.get(DIGIT)
if digit is not None and 0 <= digit < len(predictions):
    digit_detail(int(digit))

state.write_url(config, DEFAULTS, extra={
    "compare": compare_key,
    "true": None if st.session_state[TRUE] == ANY else str(st.session_state[TRUE]),
    "pred": None if st.session_state[PRED] == ANY else str(st.session_state[PRED]),
    "sort": None if st.session_state[SORT] == "confidence" else st.session_state[SORT],
    "digit": None if digit is None else str(digit),
})
