"""Sections of the Draw page: model picker, canvas or upload, preview, prediction, inspector, and the four tabs.

Each render_*() takes plain inputs (keys, configs, a `Prepared` drawing) and draws one part of
the page; `app_pages/draw.py` calls them in order. Widget keys live here, beside the widgets.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core import evaluation, jobs, user_digits
from core.config import RunConfig
from core.models import predict_fn
from core.preprocess import MAX_UPLOAD_BYTES, Prepared, UploadError, prepare, prepare_upload
from core.presets import PRESETS, preset
from dashboard import admin, resources, training_ui
from dashboard.charts import common
from dashboard.charts import draw as charts
from dashboard.charts import explorer as explorer_charts
from dashboard.views.explorer import preset_name, run_name

CANVAS_SIZE = 280
DEFAULT_STROKE = 20  # 1/14 of the canvas: after scaling, strokes as thick as MNIST's
DEFAULT_PRESETS = ("best", "seed001-cnn")  # the default model, in this order of preference
COMPARE_PRESETS = ("seed001-dnn", "seed001-cnn", "best")
TRAIN_PRESET = "seed001-cnn"
GALLERY_COLUMNS = 4
NO_TOOLBAR = {"displayModeBar": False}

# Widget / state keys
MODEL, COMPARE, STROKE, INPUT_TABS, SECTION_TABS = "draw_model", "draw_compare", "draw_stroke", "draw_input", "draw_section"
CANVAS_COUNTER, UPLOAD, LABEL, EVAL_MODEL = "draw_canvas_counter", "draw_upload", "draw_label", "draw_eval_model"
NOTE, STARTED, INSPECTOR = "draw_fallback_note", "draw_run_started", "draw_inspector"
APPLIED, PICKED = "draw_applied_run", "draw_picked_for_run"  # the last ?run= applied; the ?run= the user picked away from
DRAW_TAB, UPLOAD_TAB = "Draw", "Upload an image"
COMPARE_TAB, WHY_TAB, TEACH_TAB, SAVED_TAB = "Compare models", "Why this answer", "Teach it", "Saved drawings"


def canvas_key() -> str:
    """The canvas's widget key; a new key is a new, empty canvas (that is how Clear works)."""
    return f"draw_canvas_{st.session_state.get(CANVAS_COUNTER, 0)}"


def clear_canvas() -> None:
    st.session_state[CANVAS_COUNTER] = st.session_state.get(CANVAS_COUNTER, 0) + 1


# -- models -----------------------------------------------------------------------------------


def preferred_keys() -> list[str]:
    """This page's usual models, in order (the preset `best`, then `seed001-cnn`), whether cached or not."""
    return [PRESETS[name].config.key() for name in DEFAULT_PRESETS if name in PRESETS]


def run_labels(runs: pd.DataFrame, configs: dict[str, RunConfig]) -> dict[str, str]:
    """key -> 'name · accuracy · short key' for every run whose config could be read."""
    labels = {}
    for _, row in runs.iterrows():
        if row["key"] not in configs:
            continue
        accuracy = pd.to_numeric(pd.Series([row.get("test_accuracy")]), errors="coerce").iloc[0]
        score = f"{accuracy:.1%} test" if pd.notna(accuracy) else "accuracy unknown"
        labels[row["key"]] = f"{run_name(configs[row['key']])} · {score} · {row['key'][:6]}"
    return labels


def short_name(key: str, configs: dict[str, RunConfig]) -> str:
    """A preset's name, else the architecture and the key's start (short enough for a metric's label)."""
    config = configs.get(key)
    if config is None:
        return key[:8]
    return preset_name(config) or f"{config.architecture()} ({key[:6]})"


def predict_one(key: str, image: np.ndarray) -> np.ndarray:
    run = resources.cached_run(key)
    if run is None:
        raise LookupError(key)
    return predict_fn(run.model)(image[None])[0]


def render_offer_training() -> None:
    st.info(
        "No MNIST model is cached yet. Train one on the **Train** page, run "
        f"`python -m core pretrain`, or train the seed tutorial's CNN (`{TRAIN_PRESET}`) here."
    )
    config = preset(TRAIN_PRESET)
    job = jobs.read_job(config.key())
    if job is None or not job.active:
        if not st.button(f"Train {TRAIN_PRESET} now ({config.epochs} epochs, about a minute)", type="primary", icon=":material/model_training:",
                         help="Starts the training in the background; the page reads drawings as soon as it is cached."):
            return
        job = training_ui.submit(config)
    if job is not None and job.active:
        training_ui.watch(config.key())


def _picked() -> None:
    st.session_state[PICKED] = st.query_params.get("run")  # the user chose: the address may follow from now on


def render_model_picker(runs: pd.DataFrame, labels: dict[str, str], configs: dict[str, RunConfig]) -> str:
    """The Model picker, first filled from ?run= (else the model this session looked at last, else the
    page's usual model, else the most accurate: `resources.choose_model`); keeps ?run= in step. Returns the key."""
    keys = list(labels)
    requested = st.query_params.get("run")
    if requested is not None and requested not in keys:
        st.warning(f"URL parameter run={requested[:20]!r} is not a cached MNIST model (train it first on the **Train** page); "
                   "showing another one instead. The address keeps it until you pick a model.", icon="⚠️")
    elif requested is not None and requested != st.session_state.get(APPLIED) and MODEL in st.session_state:
        st.session_state[MODEL] = requested  # a new address (a shared link, a learning-path card) wins over the session's pick
    st.session_state[APPLIED] = requested
    if MODEL not in st.session_state or st.session_state[MODEL] not in keys:
        choice = resources.choose_model(runs[runs["key"].isin(keys)], requested, resources.recent_model(), preferred_keys())
        st.session_state[MODEL] = choice.key
        note = resources.choice_note(choice, short_name(choice.key, configs)) if requested is None else ""
        st.session_state[NOTE] = (choice.key, note) if note else None
    remembered = st.session_state.get(NOTE)
    if remembered and remembered[0] == st.session_state[MODEL]:
        st.caption(remembered[1])
    chosen = st.selectbox("Model", keys, key=MODEL, format_func=labels.get, on_change=_picked,
                          help="The cached MNIST model that reads your drawing. The address keeps your choice. "
                               "Try: draw a 7, then switch between an MLP and a CNN.")
    resources.remember_model(chosen)
    keep_asked = requested is not None and requested not in keys and st.session_state.get(PICKED) != requested
    if st.query_params.get("run") != chosen and not keep_asked:  # an uncached address stays until the user picks
        st.query_params["run"] = chosen
    return chosen


# -- input ------------------------------------------------------------------------------------


def _read_canvas() -> tuple[Prepared, np.ndarray | None]:
    stroke = st.slider("Stroke width", 8, 40, DEFAULT_STROKE, key=STROKE, help="How thick the pen is. About 1/14 of the canvas width (20) matches MNIST's strokes. "
                       "Try: 8, then 40, and watch the preview and the answer change.")
    result = st_canvas(
        stroke_width=stroke, stroke_color="#FFFFFF", background_color="#000000", width=CANVAS_SIZE, height=CANVAS_SIZE,
        drawing_mode="freedraw", update_streamlit=True, return_image_data=True, key=canvas_key(),
    )
    st.button("Clear", icon=":material/ink_eraser:", on_click=clear_canvas, key="draw_clear",
              help="Wipe the canvas and start a new digit.")
    raw = result.image_data
    if raw is None:
        return prepare(np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8)), None
    # The canvas is white on black by construction: no inversion guess from its border.
    return prepare(raw, invert=False), raw


def _read_upload() -> tuple[Prepared, np.ndarray | None]:
    uploaded = st.file_uploader(
        "PNG or JPEG, any size, any background", type=["png", "jpg", "jpeg"], key=UPLOAD,
        max_upload_size=max(1, MAX_UPLOAD_BYTES // (1024 * 1024)),
        help="A photo or scan of one handwritten digit; it is prepared the MNIST way (see the inspector). "
             "Try: a digit written with a thick marker on paper.",
    )
    if uploaded is None:
        return Prepared(status="empty", message="Upload a PNG or JPEG of one digit."), None
    try:
        prepared = prepare_upload(uploaded.getvalue())
    except UploadError as error:
        st.error(str(error))
        return Prepared(status="empty", message="Upload a PNG or JPEG of one digit."), None
    return prepared, prepared.step("input")


def render_input() -> tuple[Prepared, np.ndarray | None, str]:
    """The Draw / Upload tabs: (prepared drawing, raw input, source)."""
    draw_tab, upload_tab = st.tabs([DRAW_TAB, UPLOAD_TAB], key=INPUT_TABS, on_change="rerun")
    if upload_tab.open:
        with upload_tab:
            prepared, raw = _read_upload()
        return prepared, raw, "upload"
    with draw_tab:
        prepared, raw = _read_canvas()
    return prepared, raw, "canvas"


# -- output -----------------------------------------------------------------------------------


def render_preview(prepared: Prepared) -> None:
    st.markdown("**What the model sees** (28x28)")
    if not prepared.ok:
        st.caption("Nothing yet: the 28x28 image appears once there is something to read.")
        return
    guides = st.toggle("Show box and centre of mass", value=True, key="draw_guides",
                       help="Draw the ink's bounding box and its centre of mass over the 28x28 image, as MNIST framed its digits.")
    st.plotly_chart(charts.preview_figure(prepared.image, guides=guides), config=NO_TOOLBAR, key="draw_preview")
    if guides:
        st.caption("Dashed: the ink's box (20 px, like MNIST). Red dot: centre of mass; green cross: where MNIST puts it.")
    for warning in prepared.warnings:
        st.warning(warning, icon="⚠️")


def render_prediction(prepared: Prepared, key: str, model_name: str) -> tuple[st.delta_generator.DeltaGenerator, float] | None:
    """The big digit, how sure, the ten probabilities (or why there is nothing to read).

    Returns (a placeholder for the timing line, the network's own milliseconds) when there was a
    prediction: the caller fills the line once everything the user waits for has been drawn.
    """
    if not prepared.ok:
        if prepared.status == "empty":
            st.info(prepared.message, icon="✏️")
        else:
            st.warning(prepared.message, icon="⚠️")
        return None
    started = time.perf_counter()
    probabilities = predict_one(key, prepared.image)
    predict_ms = (time.perf_counter() - started) * 1000
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
    st.plotly_chart(common.probability_bars(probabilities, height=250), config=NO_TOOLBAR, key="draw_probabilities")
    return st.empty(), predict_ms


def timing_text(server_ms: float, predict_ms: float) -> str:
    """What the student waited for, honestly: the server's whole answer, of which the network is a sliver."""
    return (f"Answered in {server_ms:.0f} ms on the server after your stroke arrived (the network itself: {predict_ms:.1f} ms; "
            "the rest is reading the canvas, preparing the digit and drawing the charts). Your browser then draws the "
            "charts, so the answer appears a little later.")


def render_inspector(prepared: Prepared) -> None:
    # Drawn only while open (opening it reruns the workbench): a stroke does not encode and send the step
    # pictures of a closed inspector.
    inspector = st.expander("Preprocessing inspector: every step", expanded=False, key=INSPECTOR, on_change="rerun")
    if not inspector.open:
        return
    with inspector:
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


# -- everything a stroke changes: one fragment ---------------------------------------------------


@st.fragment
def render_workbench(chosen: str, model_name: str, runs: pd.DataFrame, labels: dict[str, str],
                     configs: dict[str, RunConfig]) -> None:
    """Canvas (or upload), preview, prediction, inspector and the open tab: a stroke reruns this fragment
    only, not the page's top (the run listing and the model picker)."""
    started = time.perf_counter()
    left, middle, right = st.columns([1.15, 0.95, 1.3], gap="medium")
    with left:
        prepared, raw, source = render_input()
    with middle:
        render_preview(prepared)
    with right:
        timing = render_prediction(prepared, chosen, model_name)
    render_inspector(prepared)

    compare_tab, why_tab, teach_tab, saved_tab = st.tabs(
        [COMPARE_TAB, WHY_TAB, TEACH_TAB, SAVED_TAB], key=SECTION_TABS, on_change="rerun")
    if compare_tab.open:
        with compare_tab:
            render_compare(prepared, labels, configs, chosen)
    if why_tab.open:
        with why_tab:
            render_why(prepared, chosen, model_name)
    if teach_tab.open:
        with teach_tab:
            render_teach(prepared, raw, source)
    if saved_tab.open:
        with saved_tab:
            render_saved(runs, labels, chosen)
    if timing is not None:
        placeholder, predict_ms = timing
        placeholder.caption(timing_text((time.perf_counter() - started) * 1000, predict_ms))


# -- the four tabs ----------------------------------------------------------------------------


def render_compare(prepared: Prepared, labels: dict[str, str], configs: dict[str, RunConfig], chosen: str) -> None:
    """Several models' answers to the same drawing."""
    keys = list(labels)
    wanted = [chosen] + [PRESETS[n].config.key() for n in COMPARE_PRESETS if n in PRESETS]
    default = list(dict.fromkeys(k for k in wanted if k in keys))[:4]
    picked = st.multiselect("Models to compare", keys, default=default, key=COMPARE, max_selections=8, format_func=labels.get,
                            help="Every picked model reads the same drawing. Try: an MLP and a CNN on a 7 drawn small "
                                 "in a corner.")
    if not prepared.ok:
        st.info(prepared.message)
        return
    if not picked:
        st.caption("Pick one or more cached models.")
        return
    rows, names = [], []
    for key in picked:
        try:
            rows.append(predict_one(key, prepared.image))
            names.append(short_name(key, configs))
        except LookupError:
            st.warning(f"The model {key} is no longer in the cache.")
    if not rows:
        return
    columns = st.columns(len(rows))
    for column, name, probabilities in zip(columns, names, rows, strict=True):
        result = charts.verdict(probabilities)
        delta = f"{result.confidence:.0%} sure" + (" · not sure" if result.unsure else "")
        column.metric(name, result.digit, delta, delta_color="off", delta_arrow="off")
    st.plotly_chart(charts.compare_figure(names, np.stack(rows)), config=NO_TOOLBAR, key="draw_compare_chart")


def render_why(prepared: Prepared, key: str, model_name: str) -> None:
    """Saliency of the drawing and, for a CNN, what its convolution layers see."""
    if not prepared.ok:
        st.info(prepared.message)
        return
    saliency_map = resources.saliency(key, prepared.image)
    left, right = st.columns([1, 2], gap="large")
    with left:
        st.markdown(f"**Pixels that pushed `{model_name}` towards its answer**")
        st.plotly_chart(explorer_charts.saliency_figure(prepared.image, saliency_map, size=260), config=NO_TOOLBAR, key="draw_saliency")
        st.caption("Integrated gradients: bright = this pixel's ink raised the winning probability most.")
    with right:
        if not evaluation.spatial_layers(resources.model(key)):
            st.info(f"`{model_name}` is an MLP: it has no convolution layers, so there are no feature maps. Pick a CNN to see them.")
            return
        st.markdown("**What the convolution layers see in this drawing**")
        for index, (name, activations) in enumerate(resources.feature_maps(key, prepared.image)):
            st.plotly_chart(
                explorer_charts.feature_maps_figure(name, activations, max_channels=16, columns=8),
                config=NO_TOOLBAR, key=f"draw_maps_{index}",
            )


def render_teach(prepared: Prepared, raw: np.ndarray | None, source: str) -> None:
    """Save the drawing with its true digit."""
    st.caption("Save drawings with their true digit; the **Saved drawings** tab scores any model on them.")
    label = st.segmented_control("This drawing is a", list(range(10)), key=LABEL,
                                 help="The digit you meant: saved with the drawing, it becomes the answer key of your own test set.")
    problem = None
    if not prepared.ok:
        problem = prepared.message
    elif prepared.touches_edge:
        problem = "The digit touches the edge, so part of it may be missing: draw it inside the frame to save it."
    if problem:
        st.info(problem)
    save, save_and_clear = st.columns(2)
    disabled = problem is not None or label is None
    clicked = save.button("Save", disabled=disabled, icon=":material/save:", key="draw_save", width="stretch",
                          help="Keep this drawing with its digit (pick the digit first).")
    clicked_clear = save_and_clear.button(
        "Save and clear the canvas", disabled=disabled or source != "canvas", key="draw_save_clear", width="stretch",
        help="Keep this drawing and start the next one. Try: five drawings of each digit for a small test set.",
    )
    if clicked or clicked_clear:
        try:
            saved = user_digits.save_digit(prepared, int(label), raw=raw, source=source, owner=admin.session_id())
        except user_digits.NotSaved as error:
            st.error(str(error))
            return
        st.success(f"Saved as a {saved.label}. {len(user_digits.list_digits())} drawing(s) saved so far.")
        if clicked_clear:
            clear_canvas()
            st.rerun()


def render_saved(runs: pd.DataFrame, labels: dict[str, str], chosen: str) -> None:
    """A chosen model scored on the saved drawings: score, confusion matrix, cards with Delete."""
    digits = user_digits.list_digits()
    if not digits:
        st.info("No saved drawings yet. Draw a digit and save it in **Teach it**; five or more make a small test set.")
        return
    images = np.stack([d.image for d in digits])
    truth = np.array([d.label for d in digits], dtype=np.int64)
    keys = list(labels)
    key = st.selectbox("Score this model on your drawings", keys, index=keys.index(chosen), key=EVAL_MODEL, format_func=labels.get,
                       help="How often this model reads your saved drawings right, next to its MNIST test accuracy. "
                            "Try: the most accurate model on MNIST; is it also the best on your handwriting?")
    run = resources.cached_run(key)
    if run is None:
        st.warning("That model is no longer in the cache.")
        return
    score = user_digits.evaluate(predict_fn(run.model), images, truth)
    summary = st.columns(3)
    summary[0].metric("Saved drawings", len(digits))
    summary[1].metric("Read right", f"{score.accuracy:.0%}", f"{int((score.predicted == truth).sum())} of {len(truth)}", delta_color="off", delta_arrow="off")
    test_accuracy = pd.to_numeric(runs.loc[runs["key"] == key, "test_accuracy"], errors="coerce").iloc[0]
    summary[2].metric("On the MNIST test split", f"{test_accuracy:.1%}" if pd.notna(test_accuracy) else "?")
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.plotly_chart(explorer_charts.confusion_figure(score.confusion, height=380), config=NO_TOOLBAR, key="draw_confusion")
        st.caption("Rows: the digit you meant; columns: what the model read.")
    with right:
        for start in range(0, len(digits), GALLERY_COLUMNS):
            for column, digit, probabilities in zip(st.columns(GALLERY_COLUMNS), digits[start : start + GALLERY_COLUMNS],
                                                    score.probabilities[start : start + GALLERY_COLUMNS], strict=False):
                with column:
                    card = explorer_charts.digit_card(digit.image, probabilities, digit.label, scale=4)
                    caption = explorer_charts.card_caption(digit.label, int(probabilities.argmax()), float(probabilities.max()))
                    st.image(explorer_charts.png_bytes(card), caption=caption, output_format="PNG")
                    if admin.delete_drawing_button(digit):  # to the trash; shared mode: the admin or the drawing's owner only
                        st.rerun()
