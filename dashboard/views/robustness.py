"""Sections of the Robustness page: model and perturbation pickers, the curves, the verdict, the gallery.

Each render_*() takes plain inputs (keys, labels, Curves) and draws one part of the page;
`app_pages/robustness.py` calls them in order. Widget keys live here, beside the widgets. The maths
(perturbations, FGSM, curves, ranking) is in `core/robustness.py`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.config import RunConfig
from core.data import FullMnistUnavailable
from core.robustness import PERTURBATIONS, Curve, Perturbation, rank
from dashboard import resources, state
from dashboard.charts import explorer as explorer_charts
from dashboard.charts import robustness as charts
from dashboard.views.explorer import run_name
from dashboard.views.guide import link_to_page

MAX_MODELS = 6  # curves on one chart; each model's curves cost a second or more to compute the first time
CARD_WIDTH = 84  # 28 px x 3
DEFAULT_PERTURBATION = "rotation"
NO_TOOLBAR = {"displayModeBar": False}
SMALL_GAP_POINTS = 3  # on 1,000 test digits one accuracy has a standard error of ~1.5 points: a smaller gap may be luck

# Widget / state keys.
MODELS, PERTURBATION, STRENGTH = "robustness_models", "robustness_perturbation", "robustness_strength_"
APPLIED, NOTE = "robustness_applied_address", "robustness_fallback_note"  # the address last applied; why these models
URL_NAMES = ("models", "perturbation", "strength")


# -- messages ---------------------------------------------------------------------------------


def render_no_models() -> None:
    st.info("No MNIST model has been trained yet, so there is nothing to test for robustness. Train one first, e.g. the "
            "`seed001-cnn` preset on the **Train** page (or `python -m core train --preset seed001-cnn`), then come back.")
    link_to_page("app_pages/training.py", "Go to the Train page", ":material/model_training:")


def render_toy_notice() -> None:
    """The address names a toy 2-D run: these labs perturb digits, which a 2-D model never sees."""
    st.info("The address names a toy 2-D run. Its inputs are two coordinates, not pictures, so it cannot be rotated, "
            "blurred or attacked pixel by pixel: these labs are for MNIST models. Its decision boundary is on the "
            "**Decision boundaries** page; pick an MNIST model below.", icon=":material/scatter_plot:")
    link_to_page("app_pages/boundary.py", "Open the Decision boundaries page", ":material/scatter_plot:")


# -- state from the address -------------------------------------------------------------------


def _slider_value(kind: Perturbation, value: float) -> float | int:
    """A strength snapped to the slider's step (int for whole-number sliders, which Streamlit then shows without decimals)."""
    snapped = round(round(float(value) / kind.step) * kind.step, 6)
    return int(snapped) if float(kind.step).is_integer() else float(snapped)


def _strength_key(name: str) -> str:
    return STRENGTH + name


def default_models(runs: pd.DataFrame, labels: dict[str, str], choice: resources.ModelChoice) -> list[str]:
    """The models the page opens with: `choice` (the address's, the last looked at, else the most accurate) and,
    for a comparison from the first look, the most accurate of the others."""
    others = runs[runs["key"].isin(labels) & (runs["key"] != choice.key)]
    second = resources.choose_model(others).key
    return [key for key in (choice.key, second) if key is not None]


def apply_address(labels: dict[str, str], defaults: list[str], note: str, toy_keys: set[str]) -> None:
    """Set the pickers from the address (models, perturbation, strength) when it is new or the pickers are unset.

    A bad value is named in a warning and the picker keeps its value (or the default); the rest still applies.
    """
    params = {name: st.query_params.get(name) for name in URL_NAMES}
    if params == st.session_state.get(APPLIED) and MODELS in st.session_state and PERTURBATION in st.session_state:
        return
    st.session_state[APPLIED] = params
    models = [key for key in (params["models"] or "").split(",") if key]
    if any(key in toy_keys for key in models):
        render_toy_notice()
    unknown = [key for key in models if key not in labels and key not in toy_keys]
    if unknown:
        st.warning(f"URL parameter models named {len(unknown)} key(s) with no cached MNIST model "
                   f"({state.shown(', '.join(unknown))}); they were left out.", icon="⚠️")
    picked = [key for key in models if key in labels][:MAX_MODELS]
    if picked:
        st.session_state[MODELS] = picked
        st.session_state[NOTE] = None
    elif MODELS not in st.session_state:
        st.session_state[MODELS] = defaults
        st.session_state[NOTE] = (defaults, note) if note else None

    name = params["perturbation"]
    if name is not None and name not in PERTURBATIONS:
        st.warning(f"perturbation must be one of {', '.join(PERTURBATIONS)}; got {state.shown(name)}. "
                   f"Kept {PERTURBATIONS[st.session_state.get(PERTURBATION, DEFAULT_PERTURBATION)].in_sentence}.", icon="⚠️")
    elif name is not None:
        st.session_state[PERTURBATION] = name
    st.session_state.setdefault(PERTURBATION, DEFAULT_PERTURBATION)

    kind = PERTURBATIONS[st.session_state[PERTURBATION]]
    key = _strength_key(kind.name)
    st.session_state.setdefault(key, _slider_value(kind, kind.default))
    if params["strength"] is not None:
        try:
            st.session_state[key] = _slider_value(kind, kind.check(params["strength"]))
        except ValueError:
            st.warning(f"strength must be between {kind.minimum:g} and {kind.maximum:g} {kind.unit} for "
                       f"{kind.in_sentence}; got {state.shown(params['strength'])}. Kept {st.session_state[key]:g}.", icon="⚠️")


def write_address(keys: list[str], kind: Perturbation, strength: float) -> None:
    """The pickers into the address (a shareable link), remembered as applied so the next run does not re-apply it."""
    extras = {"models": ",".join(keys) or None, "perturbation": kind.name, "strength": f"{strength:g}"}
    state.write_url(RunConfig(), RunConfig(), extra=extras)  # no configuration: the models say it all
    st.session_state[APPLIED] = {name: extras[name] for name in URL_NAMES}


# -- pickers ----------------------------------------------------------------------------------


def render_model_picker(labels: dict[str, str]) -> list[str]:
    """The Models multiselect (cached MNIST runs); returns the picked keys, in the order picked."""
    options = list(labels)
    st.session_state[MODELS] = [key for key in st.session_state.get(MODELS, []) if key in options]
    keys = st.multiselect(
        "Models", options, key=MODELS, format_func=labels.get, max_selections=MAX_MODELS,
        placeholder="Choose one or more cached MNIST models",
        help="Every cached MNIST run (toy runs are not listed), with its test accuracy; each one gets a curve. The first "
             "look at a perturbation computes its curve (about a second for an MLP, a few for a big CNN) and stores it "
             "with the model. Try: an MLP and a CNN of similar accuracy, then rotate the digits.")
    remembered = st.session_state.get(NOTE)
    if remembered and remembered[0] == keys:
        st.info(remembered[1], icon=":material/info:")
    return keys


def render_perturbation_picker() -> Perturbation:
    """The perturbation radio and its strength slider (one slider per perturbation, keeping its own value)."""
    name = st.radio(
        "Perturbation", list(PERTURBATIONS), key=PERTURBATION, horizontal=True,
        format_func=lambda item: PERTURBATIONS[item].label,
        help="How the test digits are damaged. Noise, shift and thickness mimic sloppy scans and pens; rotation and "
             "scaling, careless writing; FGSM is an attack computed from the model's own gradient. Try: rotation, "
             "then FGSM, and see which model falls first.")
    return PERTURBATIONS[name]


def render_strength_slider(kind: Perturbation) -> float:
    """The gallery's strength for this perturbation (the curves cover the whole range anyway)."""
    st.caption(kind.explanation)
    key = _strength_key(kind.name)
    st.session_state.setdefault(key, _slider_value(kind, kind.default))
    value = st.slider(
        f"Strength for the gallery: {kind.unit}", _slider_value(kind, kind.minimum), _slider_value(kind, kind.maximum),
        step=_slider_value(kind, kind.step), key=key,
        help="Which strength the digits below are shown at (the dashed line on the chart). The curves measure every "
             f"strength from {kind.minimum:g} to {kind.maximum:g}. Try: the strength where the curves part, then look "
             "for the digits one model still reads.")
    return float(value)


# -- curves -----------------------------------------------------------------------------------


def model_names(keys: list[str], configs: dict) -> dict[str, str]:
    """key -> a legend name (the run's name; the key's start added when two runs share a name)."""
    names = {key: run_name(configs[key]) for key in keys}
    counts = pd.Series(list(names.values())).value_counts()
    return {key: (f"{name} ({key[:6]})" if counts[name] > 1 else name) for key, name in names.items()}


def compute_curves(keys: list[str], configs: dict, kind: Perturbation) -> dict[str, Curve]:
    """Each model's curve under `kind`: stored ones are read at once, the others computed under a progress bar.
    A model that cannot be loaded or evaluated is named in a warning and left out."""
    slot = st.empty()  # the progress bar appears only if a curve must be computed
    curves: dict[str, Curve] = {}
    for position, key in enumerate(keys):
        try:
            curves[key] = resources.robustness_curve(key, configs[key].dataset, kind.name,
                                                     _progress_reporter(slot, position, len(keys), kind))
        except FullMnistUnavailable as error:
            st.warning(f"{run_name(configs[key])} was trained on full MNIST, which cannot be loaded here ({error}); left out.", icon="⚠️")
        except (LookupError, ValueError) as error:
            st.warning(f"{run_name(configs[key])} could not be tested ({error}); left out. Pick another model.", icon="⚠️")
            resources.forget_models()
    slot.empty()
    return curves


def _progress_reporter(slot, position: int, total: int, kind: Perturbation):
    """A callback showing, in `slot`, how far model `position` of `total` is through the strengths."""
    def report(share: float) -> None:
        slot.progress(min(1.0, (position + share) / total),
                      text=f"Measuring {kind.in_sentence} at {len(kind.strengths)} strengths: model {position + 1} of {total} "
                           "(once per model; stored with it)")
    return report


def render_curves(curves: dict[str, Curve], names: dict[str, str], kind: Perturbation, strength: float) -> None:
    """One chart, one accuracy-vs-strength line per model."""
    lines = [charts.CurveLine(names[key], curve.strengths, curve.accuracy) for key, curve in curves.items()]
    st.plotly_chart(charts.curves_figure(lines, f"{kind.label}: {kind.unit}", chosen=strength), key="robustness_chart",
                    width="stretch", config=NO_TOOLBAR)
    st.caption(f"Accuracy on the whole test split at {len(kind.strengths)} strengths of {kind.in_sentence}. "
               "The dotted line is chance (10 %, guessing); the dashed line, the gallery's strength.")


def verdict(curves: dict[str, Curve], names: dict[str, str], kind: Perturbation, strength: float) -> str:
    """One or two sentences naming the most robust model and by how much (mean accuracy over the strength range)."""
    ranking = rank(curves)
    best = curves[ranking.best]
    span = f"{kind.describe(kind.minimum)} to {kind.describe(kind.maximum)}"
    at = kind.describe(strength)
    if ranking.runner_up is None:
        return (f"**{names[ranking.best]}** keeps **{ranking.best_score:.0%}** accuracy on average over {span} "
                f"({best.at(0.0):.0%} on clean digits, {best.at(strength):.0%} at {at}). Add a second model to see which holds up better.")
    margin = ranking.margin * 100
    if margin < 0.5:
        return (f"**{names[ranking.best]}** and **{names[ranking.runner_up]}** hold up equally well against "
                f"{kind.in_sentence} (within half a point, {ranking.best_score:.0%} on average over {span}).")
    others = ", ".join(f"{names[key]} {curve.at(strength):.0%}" for key, curve in curves.items() if key != ranking.best)
    small = " A small gap: train both again with another seed before trusting it." if margin < SMALL_GAP_POINTS else ""
    return (f"Most robust to {kind.in_sentence}: **{names[ranking.best]}**, with **{ranking.best_score:.0%}** accuracy on "
            f"average over {span}, **{margin:.0f} points** more than {names[ranking.runner_up]} ({ranking.runner_up_score:.0%}). "
            f"At {at}: {names[ranking.best]} {best.at(strength):.0%}, {others}.{small}")


def render_verdict(curves: dict[str, Curve], names: dict[str, str], kind: Perturbation, strength: float) -> None:
    st.success(verdict(curves, names, kind, strength), icon=":material/shield:")


# -- gallery ----------------------------------------------------------------------------------


def render_gallery(keys: list[str], configs: dict, names: dict[str, str], kind: Perturbation, strength: float) -> None:
    """One digit per class damaged at `strength`, one row per model with its answer and probability bars."""
    st.subheader(f"{kind.label} at {kind.describe(strength)}: the digits as each model reads them")
    caption = ("Each model is attacked with its own gradient, so each row shows different digits."
               if kind.name == "fgsm" else "Every row shows the same damaged digits; the bars are that model's answer.")
    st.caption(f"{caption} Green bar: the true digit; red: a wrong answer.")
    with st.container(key="robustness_gallery"):
        for key in keys:
            try:
                images, probabilities, labels = resources.robustness_gallery(key, configs[key].dataset, kind.name, strength)
            except (LookupError, ValueError, FullMnistUnavailable):
                continue  # compute_curves has said why
            right = int(np.sum(np.argmax(probabilities, axis=1) == labels))
            st.markdown(f"**{names[key]}**: {right} of {len(labels)} right")
            cards = [explorer_charts.png_bytes(explorer_charts.digit_card(image, probability, int(label), scale=3))
                     for image, probability, label in zip(images, probabilities, labels, strict=True)]
            captions = [explorer_charts.card_caption(int(label), int(np.argmax(probability)), float(np.max(probability)))
                        for probability, label in zip(probabilities, labels, strict=True)]
            st.image(cards, caption=captions, width=CARD_WIDTH, output_format="PNG")
