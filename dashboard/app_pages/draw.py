"""Draw a digit: the network reads a mouse drawing (or an uploaded image) prepared the MNIST way.

Canvas (or upload) -> `core.preprocess.prepare` (every step shown in the inspector) -> the 28x28
image the model sees -> probabilities of the chosen cached model; compare several models on the
same drawing; see why (saliency, feature maps); save drawings as a small personal test set.

The canvas is streamlit-drawable-canvas: its drawing lives in `st.session_state[canvas_key()]`
as `{"drawing": {"raw": <fabric json>, "data": "data:image/png;base64,..."}}`, exactly what the
browser sends after each stroke. Tests inject a drawing by writing a PNG data URL there
(tests/test_draw_page.py); the page reads it through the component like any browser drawing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
if str(REPO) not in sys.path:  # standalone runs (AppTest) see only this folder
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit_drawable_canvas import st_canvas  # noqa: E402

from core import evaluation, jobs, user_digits  # noqa: E402
from core.models import predict_fn  # noqa: E402
from core.preprocess import MAX_UPLOAD_BYTES, Prepared, UploadError, prepare, prepare_upload  # noqa: E402
from core.presets import PRESETS, preset  # noqa: E402
from dashboard import resources, training_ui  # noqa: E402
from dashboard.charts import common  # noqa: E402
from dashboard.charts import draw as charts  # noqa: E402
from dashboard.charts import explorer as explorer_charts  # noqa: E402

CANVAS_SIZE = 280
DEFAULT_STROKE = 20  # 1/14 of the canvas: after scaling, strokes as thick as MNIST's
DEFAULT_PRESETS = ("best", "seed001-cnn")  # the default model, in this order of preference
COMPARE_PRESETS = ("seed001-dnn", "seed001-cnn", "best")
TRAIN_PRESET = "seed001-cnn"
GALLERY_COLUMNS = 4

# Widget / state keys
MODEL, COMPARE, STROKE, INPUT_TABS, SECTION_TABS = "draw_model", "draw_compare", "draw_stroke", "draw_input", "draw_section"
CANVAS_COUNTER, UPLOAD, LABEL, EVAL_MODEL = "draw_canvas_counter", "draw_upload", "draw_label", "draw_eval_model"
DRAW_TAB, UPLOAD_TAB = "Draw", "Upload an image"
COMPARE_TAB, WHY_TAB, TEACH_TAB, SAVED_TAB = "Compare models", "Why this answer", "Teach it", "Saved drawings"


def canvas_key() -> str:
    """The canvas's widget key; a new key is a new, empty canvas (that is how Clear works)."""
    return f"draw_canvas_{st.session_state.get(CANVAS_COUNTER, 0)}"


def clear_canvas() -> None:
    st.session_state[CANVAS_COUNTER] = st.session_state.get(CANVAS_COUNTER, 0) + 1


# -- models -----------------------------------------------------------------------------------


def preset_names_by_key() -> dict[str, str]:
    return {item.config.key(): name for name, item in PRESETS.items()}


def mnist_runs() -> pd.DataFrame:
    runs = resources.run_table()
    if runs.empty or "task" not in runs:
        return runs.iloc[0:0]
    return runs[runs["task"] == "mnist"].reset_index(drop=True)


def default_key(runs: pd.DataFrame) -> str:
    """The preset `best` if cached, else `seed001-cnn`, else the best cached MNIST run by test accuracy."""
    keys = set(runs["key"])
    for name in DEFAULT_PRESETS:
        if name in PRESETS and PRESETS[name].config.key() in keys:
            return PRESETS[name].config.key()
    accuracy = pd.to_numeric(runs["test_accuracy"], errors="coerce").fillna(-1.0)
    return str(runs.loc[accuracy.idxmax(), "key"])


def run_label(row: pd.Series, names: dict[str, str]) -> str:
    name = names.get(row["key"]) or str(row["description"]).split(", batch")[0]
    accuracy = pd.to_numeric(pd.Series([row.get("test_accuracy")]), errors="coerce").iloc[0]
    score = f"{accuracy:.1%} test" if pd.notna(accuracy) else "accuracy unknown"
    return f"{name} · {score} · {row['key'][:6]}"


def short_name(key: str, runs: pd.DataFrame, names: dict[str, str]) -> str:
    if key in names:
        return names[key]
    row = runs[runs["key"] == key]
    return str(row.iloc[0]["description"]).split(",")[0] + f" ({key[:6]})" if len(row) else key[:8]


def offer_training() -> None:
    st.info(
        "No MNIST model is cached yet. Train one on the **Train** page, run "
        f"`python -m core pretrain`, or train the seed tutorial's CNN (`{TRAIN_PRESET}`) here."
    )
    config = preset(TRAIN_PRESET)
    job = jobs.read_job(config.key())
    if job is None or not job.active:
        if not st.button(f"Train {TRAIN_PRESET} now ({config.epochs} epochs, about a minute)", type="primary", icon=":material/model_training:"):
            return
        job = training_ui.submit(config)
    if job is not None and job.active:
        training_ui.watch(config.key())


# -- input ------------------------------------------------------------------------------------


def read_canvas() -> tuple[Prepared, np.ndarray | None]:
    stroke = st.slider("Stroke width", 8, 40, DEFAULT_STROKE, key=STROKE, help="About 1/14 of the canvas width matches MNIST's stroke thickness.")
    result = st_canvas(
        stroke_width=stroke, stroke_color="#FFFFFF", background_color="#000000", width=CANVAS_SIZE, height=CANVAS_SIZE,
        drawing_mode="freedraw", update_streamlit=True, return_image_data=True, key=canvas_key(),
    )
    st.button("Clear", icon=":material/ink_eraser:", on_click=clear_canvas, key="draw_clear")
    raw = result.image_data
    if raw is None:
        return prepare(np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8)), None
    # The canvas is white on black by construction: no inversion guess from its border.
    return prepare(raw, invert=False), raw


def read_upload() -> tuple[Prepared | None, np.ndarray | None, str | None]:
    uploaded = st.file_uploader(
        "PNG or JPEG, any size, any background", type=["png", "jpg", "jpeg"], key=UPLOAD,
        max_upload_size=max(1, MAX_UPLOAD_BYTES // (1024 * 1024)),
    )
    if uploaded is None:
        return None, None, None
    try:
        prepared = prepare_upload(uploaded.getvalue())
    except UploadError as error:
        return None, None, str(error)
    return prepared, prepared.step("input"), None


# -- output -----------------------------------------------------------------------------------


def show_preview(prepared: Prepared) -> None:
    st.markdown("**What the model sees** (28x28)")
    if not prepared.ok:
        st.caption("Nothing yet: the 28x28 image appears once there is something to read.")
        return
    guides = st.toggle("Show box and centre of mass", value=True, key="draw_guides")
    st.plotly_chart(charts.preview_figure(prepared.image, guides=guides), config={"displayModeBar": False}, key="draw_preview")
    if guides:
        st.caption("Dashed: the ink's box (20 px, like MNIST). Red dot: centre of mass; green cross: where MNIST puts it.")
    for warning in prepared.warnings:
        st.warning(warning, icon="⚠️")


def show_inspector(prepared: Prepared) -> None:
    with st.expander("Preprocessing inspector: every step", expanded=False):
        st.caption(
            "A network trained on MNIST expects MNIST's framing: white ink on black, the digit scaled so its "
            "longest side is 20 px, then moved so its centre of mass is at the centre of 28x28. A digit drawn "
            "small in a corner ends up looking the same as one drawn large in the middle."
        )
        columns = st.columns(len(prepared.steps)) if prepared.steps else []
        for column, step in zip(columns, prepared.steps, strict=False):
            with column:
                st.image(charts.step_picture(step.image), caption=step.caption, output_format="PNG")
        if not prepared.ok:
            st.caption(f"Stopped: {prepared.message}")


def show_prediction(probabilities: np.ndarray, model_name: str, timings: str) -> None:
    result = charts.verdict(probabilities)
    st.markdown(
        f"<div class='draw-prediction' style='font-size:5.5rem;font-weight:700;line-height:1'>{result.digit}</div>",
        unsafe_allow_html=True,
    )
    st.markdown(f"**{result.confidence:.0%}** sure · model `{model_name}`")
    if result.unsure:
        st.warning(
            f"Not sure: only {result.confidence:.0%} for {result.digit}; next guess {result.runner_up} "
            f"({result.runner_up_confidence:.0%}). Try drawing it more clearly.",
            icon="🤔",
        )
    st.plotly_chart(common.probability_bars(probabilities, height=250), config={"displayModeBar": False}, key="draw_probabilities")
    st.caption(timings)


def predict_one(key: str, image: np.ndarray) -> np.ndarray:
    run = resources.cached_run(key)
    if run is None:
        raise LookupError(key)
    return predict_fn(run.model)(image[None])[0]


@st.cache_data(max_entries=64, show_spinner=False)
def saliency_for(key: str, image: np.ndarray) -> np.ndarray:
    return evaluation.saliency(resources.cached_run(key).model, image)


@st.cache_data(max_entries=32, show_spinner=False)
def feature_maps_for(key: str, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    return evaluation.feature_maps(resources.cached_run(key).model, image)


def compare_section(prepared: Prepared, runs: pd.DataFrame, names: dict[str, str], chosen: str) -> None:
    keys = list(runs["key"])
    wanted = [chosen] + [PRESETS[n].config.key() for n in COMPARE_PRESETS if n in PRESETS]
    default = list(dict.fromkeys(k for k in wanted if k in keys))[:4]
    picked = st.multiselect(
        "Models to compare", keys, default=default, key=COMPARE, max_selections=8,
        format_func=lambda key: run_label(runs[runs["key"] == key].iloc[0], names),
    )
    if not prepared.ok:
        st.info(prepared.message)
        return
    if not picked:
        st.caption("Pick one or more cached models.")
        return
    rows, labels = [], []
    for key in picked:
        try:
            rows.append(predict_one(key, prepared.image))
            labels.append(short_name(key, runs, names))
        except LookupError:
            st.warning(f"The model {key} is no longer in the cache.")
    if not rows:
        return
    columns = st.columns(len(rows))
    for column, label, probabilities in zip(columns, labels, rows, strict=True):
        result = charts.verdict(probabilities)
        delta = f"{result.confidence:.0%} sure" + (" · not sure" if result.unsure else "")
        column.metric(label, result.digit, delta, delta_color="off", delta_arrow="off")
    st.plotly_chart(charts.compare_figure(labels, np.stack(rows)), config={"displayModeBar": False}, key="draw_compare_chart")


def why_section(prepared: Prepared, key: str, model_name: str) -> None:
    if not prepared.ok:
        st.info(prepared.message)
        return
    run = resources.cached_run(key)
    saliency_map = saliency_for(key, prepared.image)
    left, right = st.columns([1, 2], gap="large")
    with left:
        st.markdown(f"**Pixels that pushed `{model_name}` towards its answer**")
        st.plotly_chart(explorer_charts.saliency_figure(prepared.image, saliency_map, size=260), config={"displayModeBar": False}, key="draw_saliency")
        st.caption("Integrated gradients: bright = this pixel's ink raised the winning probability most.")
    with right:
        if not evaluation.spatial_layers(run.model):
            st.info(f"`{model_name}` is an MLP: it has no convolution layers, so there are no feature maps. Pick a CNN to see them.")
            return
        st.markdown("**What the convolution layers see in this drawing**")
        for index, (name, activations) in enumerate(feature_maps_for(key, prepared.image)):
            st.plotly_chart(
                explorer_charts.feature_maps_figure(name, activations, max_channels=16, columns=8),
                config={"displayModeBar": False}, key=f"draw_maps_{index}",
            )


def teach_section(prepared: Prepared, raw: np.ndarray | None, source: str) -> None:
    st.caption("Save drawings with their true digit; the **Saved drawings** tab scores any model on them.")
    label = st.segmented_control("This drawing is a", list(range(10)), key=LABEL)
    problem = None
    if not prepared.ok:
        problem = prepared.message
    elif prepared.touches_edge:
        problem = "The digit touches the edge, so part of it may be missing: draw it inside the frame to save it."
    if problem:
        st.info(problem)
    save, save_and_clear = st.columns(2)
    disabled = problem is not None or label is None
    clicked = save.button("Save", disabled=disabled, icon=":material/save:", key="draw_save", width="stretch")
    clicked_clear = save_and_clear.button(
        "Save and clear the canvas", disabled=disabled or source != "canvas", key="draw_save_clear", width="stretch"
    )
    if clicked or clicked_clear:
        try:
            saved = user_digits.save_digit(prepared, int(label), raw=raw, source=source)
        except user_digits.NotSaved as error:
            st.error(str(error))
            return
        st.success(f"Saved as a {saved.label}. {len(user_digits.list_digits())} drawing(s) saved so far.")
        if clicked_clear:
            clear_canvas()
            st.rerun()


def saved_section(runs: pd.DataFrame, names: dict[str, str], chosen: str) -> None:
    digits = user_digits.list_digits()
    if not digits:
        st.info("No saved drawings yet. Draw a digit and save it in **Teach it**; five or more make a small test set.")
        return
    images = np.stack([d.image for d in digits])
    labels = np.array([d.label for d in digits], dtype=np.int64)
    keys = list(runs["key"])
    key = st.selectbox(
        "Score this model on your drawings", keys, index=keys.index(chosen), key=EVAL_MODEL,
        format_func=lambda k: run_label(runs[runs["key"] == k].iloc[0], names),
    )
    run = resources.cached_run(key)
    if run is None:
        st.warning("That model is no longer in the cache.")
        return
    score = user_digits.evaluate(predict_fn(run.model), images, labels)
    summary = st.columns(3)
    summary[0].metric("Saved drawings", len(digits))
    summary[1].metric("Read right", f"{score.accuracy:.0%}", f"{int((score.predicted == labels).sum())} of {len(labels)}", delta_color="off", delta_arrow="off")
    test_accuracy = pd.to_numeric(runs.loc[runs["key"] == key, "test_accuracy"], errors="coerce").iloc[0]
    summary[2].metric("On the MNIST test split", f"{test_accuracy:.1%}" if pd.notna(test_accuracy) else "?")
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.plotly_chart(explorer_charts.confusion_figure(score.confusion, height=380), config={"displayModeBar": False}, key="draw_confusion")
        st.caption("Rows: the digit you meant; columns: what the model read.")
    with right:
        for start in range(0, len(digits), GALLERY_COLUMNS):
            columns = st.columns(GALLERY_COLUMNS)
            for offset, column in enumerate(columns):
                index = start + offset
                if index >= len(digits):
                    break
                digit, probabilities = digits[index], score.probabilities[index]
                with column:
                    card = explorer_charts.digit_card(digit.image, probabilities, digit.label, scale=4)
                    caption = explorer_charts.card_caption(digit.label, int(probabilities.argmax()), float(probabilities.max()))
                    st.image(explorer_charts.png_bytes(card), caption=caption, output_format="PNG")
                    if st.button("Delete", key=f"draw_delete_{digit.id}", icon=":material/delete:", type="tertiary"):
                        user_digits.delete_digit(digit.id)
                        st.rerun()


# -- the page ---------------------------------------------------------------------------------

st.title("Draw a digit")
st.caption(
    "Draw a digit with the mouse and the network reads it after every stroke. Drawings are prepared exactly the way "
    "MNIST digits were (open the inspector to see each step): without that, most networks misread real drawings."
)

runs = mnist_runs()
if runs.empty:
    offer_training()
    st.stop()

names = preset_names_by_key()
keys = list(runs["key"])
requested = st.query_params.get("run")
if requested is not None and requested not in keys:
    st.warning(f"URL parameter run={requested[:20]!r} is not a cached MNIST model; showing the default instead.", icon="⚠️")
if MODEL not in st.session_state or st.session_state[MODEL] not in keys:
    st.session_state[MODEL] = requested if requested in keys else default_key(runs)
chosen = st.selectbox("Model", keys, key=MODEL, format_func=lambda k: run_label(runs[runs["key"] == k].iloc[0], names))
if st.query_params.get("run") != chosen:
    st.query_params["run"] = chosen
model_name = short_name(chosen, runs, names)

left, middle, right = st.columns([1.15, 0.95, 1.3], gap="medium")
upload_error = None
with left:
    draw_tab, upload_tab = st.tabs([DRAW_TAB, UPLOAD_TAB], key=INPUT_TABS, on_change="rerun")
    if upload_tab.open:
        source = "upload"
        with upload_tab:
            prepared, raw, upload_error = read_upload()
            if upload_error:
                st.error(upload_error)
            if prepared is None:
                prepared = Prepared(status="empty", message="Upload a PNG or JPEG of one digit.")
    else:
        source = "canvas"
        with draw_tab:
            started = time.perf_counter()
            prepared, raw = read_canvas()
prepare_ms = None
if source == "canvas":
    prepare_ms = (time.perf_counter() - started) * 1000

with middle:
    show_preview(prepared)

with right:
    if prepared.ok:
        started = time.perf_counter()
        probabilities = predict_one(chosen, prepared.image)
        predict_ms = (time.perf_counter() - started) * 1000
        timing = f"Read in {predict_ms:.1f} ms" + (f" (canvas + preparation {prepare_ms:.0f} ms)" if prepare_ms is not None else "")
        show_prediction(probabilities, model_name, timing)
    elif prepared.status == "empty":
        st.info(prepared.message, icon="✏️")
    else:
        st.warning(prepared.message, icon="⚠️")

show_inspector(prepared)
compare_tab, why_tab, teach_tab, saved_tab = st.tabs([COMPARE_TAB, WHY_TAB, TEACH_TAB, SAVED_TAB], key=SECTION_TABS, on_change="rerun")
if compare_tab.open:
    with compare_tab:
        compare_section(prepared, runs, names, chosen)
if why_tab.open:
    with why_tab:
        why_section(prepared, chosen, model_name)
if teach_tab.open:
    with teach_tab:
        teach_section(prepared, raw, source)
if saved_tab.open:
    with saved_tab:
        saved_section(runs, names, chosen)
