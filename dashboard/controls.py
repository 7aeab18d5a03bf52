"""The hyperparameter form shared by the pages that train (MNIST and toy 2-D data).

Everything sits in one `st.form`, so dragging a slider starts nothing: only "Train / load" does.
Widgets take their starting values from the current RunConfig (which comes from the URL), so a
shared address shows the same controls. Every widget has a stable key: an unkeyed widget's
identity includes its default value, so a default that follows the URL made Streamlit treat the
widget as new after each submission and drop the user's next edit.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import ACTIVATIONS, OPTIMIZERS, TOY_DATASETS, RunConfig, decode_value
from core.presets import PRESETS

UNIT_CHOICES = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
L2_CHOICES = [0.0, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1]
BATCH_SIZES = [1, 2, 4, 8, 10, 16, 32, 50, 64, 100, 128, 256, 512, 1024]
DENSE_HEAD_CHOICES = [0, 32, 64, 128, 256, 512, 1024, 2048]
TRAIN_SIZE_CHOICES = [0, 250, 500, 1000, 2000, 5000, 10000, 25000]  # 0 = the whole training split

# Tooltips of the form, written for a student: what the control does, and what to try.
HELP: dict[str, str] = {
    "preset": "Models from the tutorials this lab teaches from, ready to load. Try: load one, press Train / load, "
    "then change one setting at a time and compare.",
    "load_preset": "Puts the preset's settings into the form below (nothing trains until you press Train / load).",
    "dataset": "Which 2-D puzzle the network must solve: two blobs, four blocks, XOR quadrants, a circle, a spiral... "
    "Try: xor with 0 hidden layers, then with 2.",
    "mnist_dataset": "The 5,000 handwritten digits shipped with the app (3,500 to train, 500 to validate, 1,000 to test) "
    "or the full 70,000 of MNIST (needs a download). Try: the embedded set: it trains in seconds.",
    "arch": "MLP: every pixel connects to every unit, position is not special. CNN: small filters slide over the image "
    "and find strokes wherever they are. Try: the same data with both and compare test accuracy.",
    "noise": "Extra jitter added to every point: the classes overlap more. Try: 0.3 and see the boundary get less sure.",
    "train_ratio": "The share of the points used to train; the rest test the model. Try: 0.2 (few training points) "
    "and watch the model overfit them.",
    "n_samples": "How many points the puzzle has. Try: 50 vs 1000: with few points the boundary is a guess.",
    "layers": "How many hidden layers (conv blocks for a CNN). 0 = logistic regression: one straight boundary. "
    "A CNN takes 1-4 blocks. Try: 0, 1 and 2 on XOR.",
    "units": "Units (neurons) per hidden layer; filters per block for a CNN. More units = more capacity to fit, and to "
    "overfit. Try: 2 vs 4 units on the blocks puzzle.",
    "activation": "The function each unit applies to its sum. relu: kinked, fast; tanh/sigmoid: smooth S-curves. "
    "Try: tanh vs relu on the blocks and compare the corners of the boundary.",
    "dropout": "While training, switch off this share of the dense units at random, so no unit can rely on another: "
    "fights overfitting. Try: 0.3 on a model whose validation curve falls behind the training one.",
    "l2": "A penalty on large weights added to the loss: keeps the model simple, fights overfitting; too much and it "
    "cannot learn. Try: 0.001, then 0.03, and compare the train/validation gap.",
    "optimizer": "How the weights move downhill on the loss. adam adapts its step per weight (a good default); sgd takes "
    "plain steps; rmsprop is in between. Try: sgd with learning rate 0.1 vs adam with 0.001.",
    "learning_rate": "The size of each step down the loss. Too big: the loss jumps up or becomes NaN. Too small: it "
    "crawls. Try: 1.0, then 0.00001, then back to 0.001.",
    "batch_size": "How many examples each weight update looks at. Small batches: many noisy steps, jagged curves. "
    "Large: few smooth steps. Try: 8 vs 1024 and overlay the curves.",
    "epochs": "How many times the network sees the whole training set. Try: more epochs when both curves are still "
    "rising; fewer when validation has gone flat.",
    "early_stopping": "Stop when validation loss has not improved for 5 epochs and keep the best epoch's weights. Try: "
    "it on an overfitting model with many epochs.",
    "seed": "The random start (initial weights, data shuffling). Same seed, same result. Try: another seed to see how "
    "much a result depends on luck.",
    "batch_norm": "Rescale each layer's outputs to mean 0 and variance 1 on every batch: often trains faster and allows "
    "larger learning rates. Try: it with a deep network (4+ layers).",
    "augment": "Show each training digit slightly shifted, rotated and zoomed every epoch: more varied data, less "
    "overfitting, slower training. Try: it with a CNN and many epochs.",
    "kernel_size": "The width of each CNN filter in pixels (3 = 3x3). Small filters see strokes, large ones whole "
    "shapes. Try: 2 vs 5.",
    "dense_units": "A hidden dense layer between the CNN's filters and the answer (0 = straight to the answer). Try: "
    "128 and compare the parameter count.",
    "conv_dropout": "Dropout after each convolution block (see Dropout). Try: 0.25 if the CNN overfits.",
    "label_smoothing": "Train towards 90 % sure instead of 100 % (at 0.1): a less over-confident model. Try: 0.1 and "
    "look at the confidence of its mistakes.",
    "lr_schedule": "How the learning rate changes during training: constant; plateau (divide by 2 when validation stops "
    "improving); cosine (glides down to 0 at the last epoch). Try: cosine with 30+ epochs.",
    "units_text": "Different units per layer, comma-separated (one number per layer), e.g. 64,16 for a wide then narrow "
    "network. Leave empty to use the slider. Try: 128,32.",
    "activation_text": "Different activations per layer, comma-separated, e.g. relu,tanh. Leave empty to use the "
    "selector above.",
    "train_size": "Train on only this many training digits (a stratified subset: the same share of every digit); "
    "validation and test digits stay the same. Try: 250 vs all, or let the More data? section below train every size.",
    "submit": "Train this combination in the background, or load it at once if anyone trained it before.",
}


def _nearest(choices: list, value: Any) -> list:
    """Choices with `value` added where it is missing (a URL may carry any valid value)."""
    return choices if value in choices else sorted([*choices, value])


def _per_layer_text(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else ""


def _parse_per_layer(text: str, name: str) -> Any:
    """The per-layer override typed in the form (the URL's decoder), or None when the box is empty."""
    if not text.strip():
        return None
    try:
        return decode_value(name, text)
    except ValueError:
        raise ValueError(f"per-layer {name} must be a comma-separated list, e.g. 64,16") from None


def preset_picker(names: list[str], current: RunConfig, label: str = "Tutorial preset") -> RunConfig | None:
    """A preset selector with a load button (outside the form); returns the chosen preset's config."""
    available = [n for n in names if n in PRESETS]
    if not available:
        return None
    matching = next((n for n in available if PRESETS[n].config == current), None)
    choice = st.selectbox(
        label, available, index=available.index(matching) if matching else None,
        placeholder="custom settings: pick a preset to load", help=HELP["preset"],
    )
    if choice is None:
        return None
    st.caption(PRESETS[choice].summary)
    if st.button("Load preset", width="stretch", disabled=choice == matching, help=HELP["load_preset"]):
        return PRESETS[choice].config
    return None


def _widget_values(config: RunConfig) -> dict[str, Any]:
    """What each widget of the form shows for `config` (widget name -> value)."""
    first_units = config.units_per_layer()[0] if config.layers else (config.units if isinstance(config.units, int) else 64)
    first_activation = (
        config.activation_per_layer()[0] if config.layers else (config.activation if isinstance(config.activation, str) else "relu")
    )
    values = {
        "dataset": config.dataset, "layers": config.layers, "units": first_units, "activation": first_activation,
        "dropout": config.dropout, "l2": config.l2, "optimizer": config.optimizer, "learning_rate": config.learning_rate,
        "batch_size": config.batch_size, "epochs": config.epochs, "early_stopping": config.early_stopping,
        "seed": config.seed, "batch_norm": config.batch_norm,
        "units_text": _per_layer_text(config.units), "activation_text": _per_layer_text(config.activation),
    }
    if config.task == "toy":
        values.update(noise=config.noise, train_ratio=config.train_ratio, n_samples=config.n_samples)
    else:
        values.update(
            arch=config.arch, augment=config.augment, kernel_size=config.kernel_size, dense_units=config.dense_units,
            conv_dropout=config.conv_dropout, label_smoothing=config.label_smoothing, lr_schedule=config.lr_schedule,
            train_size=config.train_size,
        )
    return values


def _submitting_key(form_key: str) -> str:
    return f"{form_key}:submitting"


def _mark_submitting(form_key: str) -> None:
    """Submit callback (it runs before the script): this run's widget values are a submission."""
    st.session_state[_submitting_key(form_key)] = True


def _sync_widgets(config: RunConfig, form_key: str) -> dict[str, str]:
    """Seed the form's keyed widgets from `config` when it changed from outside; return name -> key.

    Keyed widgets keep their identity from run to run (Streamlit hashes only the key, not the
    default), so the user's edits are never dropped. Their values are set here through
    st.session_state, never through `value=`: from `config` when the page opens, and again
    whenever `config` differs from what the widgets show (their last seeding or the last
    submission, which the page writes into the URL): an edited or shared URL, the browser's
    back button, a loaded preset. A submission itself is never overwritten.
    """
    wanted = _widget_values(config)
    keys = {name: f"{form_key}:{name}" for name in wanted}
    shown_key = f"{form_key}:shown"
    just_submitted = st.session_state.pop(_submitting_key(form_key), False)
    reseed = not just_submitted and st.session_state.get(shown_key) != wanted
    for name, value in wanted.items():
        # A widget not drawn in the last run (another page was open) lost its state: seed it too.
        if reseed or keys[name] not in st.session_state:
            st.session_state[keys[name]] = value
        elif just_submitted:
            # Pressed before the browser had drawn every widget: those send no value with the
            # submission and would fall back to their minimum. Re-assigning what the session holds
            # (the submitted values; a submission has no unsent edits) keeps them.
            st.session_state[keys[name]] = st.session_state[keys[name]]
    if reseed:
        st.session_state[shown_key] = wanted
    return keys


def hyperparameter_form(config: RunConfig, *, submit_label: str = "Train / load", form_key: str = "hyperparameters") -> RunConfig | None:
    """Render the controls; return the submitted RunConfig, or None when nothing was submitted.

    The widgets show `config` when the page opens and whenever `config` changes from outside the
    form (URL, preset); between those, they keep what the user submitted.
    An impossible combination shows an error naming the field and returns None.
    """
    toy = config.task == "toy"
    key = _sync_widgets(config, form_key)

    def options(choices: list, name: str) -> list:
        return _nearest(choices, st.session_state[key[name]])

    with st.form(form_key, border=False):
        values: dict[str, Any] = {"task": config.task}
        if toy:
            values["dataset"] = st.selectbox("Dataset", TOY_DATASETS, key=key["dataset"], help=HELP["dataset"])
            values["noise"] = st.slider("Noise", 0.0, 0.5, step=0.05, key=key["noise"], help=HELP["noise"])
            values["train_ratio"] = st.slider("Training share", 0.1, 0.9, step=0.05, key=key["train_ratio"], help=HELP["train_ratio"])
            values["n_samples"] = st.slider("Points", 10, 2000, step=10, key=key["n_samples"], help=HELP["n_samples"])
            values["arch"] = "mlp"
        else:
            dataset_names = {"embedded": "Embedded 5k (offline)", "full": "Full MNIST 70k (download)"}
            values["dataset"] = st.radio(
                "Data", list(dataset_names), format_func=dataset_names.get, horizontal=True, key=key["dataset"], help=HELP["mnist_dataset"],
            )
            values["arch"] = st.radio(
                "Architecture", ["mlp", "cnn"], format_func=lambda a: {"mlp": "MLP (dense)", "cnn": "CNN (conv)"}[a],
                horizontal=True, key=key["arch"], help=HELP["arch"],
            )
        cnn = values["arch"] == "cnn"
        layer_label = "Conv blocks (CNN) / hidden layers (MLP)" if not toy else "Hidden layers"
        values["layers"] = st.slider(
            layer_label, 0, 6, key=key["layers"], help=HELP["layers"]
        )
        values["units"] = st.select_slider("Units per layer" if toy else "Units (filters for CNN) per layer", options(UNIT_CHOICES, "units"), key=key["units"], help=HELP["units"])
        values["activation"] = st.selectbox("Activation", ACTIVATIONS, key=key["activation"], help=HELP["activation"])
        values["dropout"] = st.slider("Dropout (dense layers)", 0.0, 0.8, step=0.05, key=key["dropout"], help=HELP["dropout"])
        values["l2"] = st.select_slider(
            "L2 weight penalty", options(L2_CHOICES, "l2"), format_func=lambda v: f"{v:g}", key=key["l2"], help=HELP["l2"]
        )
        values["optimizer"] = st.selectbox("Optimizer", OPTIMIZERS, key=key["optimizer"], help=HELP["optimizer"])
        values["learning_rate"] = st.select_slider(
            "Learning rate", options(LEARNING_RATES, "learning_rate"), format_func=lambda v: f"{v:g}", key=key["learning_rate"], help=HELP["learning_rate"]
        )
        values["batch_size"] = st.select_slider("Batch size", options(BATCH_SIZES, "batch_size"), key=key["batch_size"], help=HELP["batch_size"])
        values["epochs"] = st.slider("Epochs", 1, 200, key=key["epochs"], help=HELP["epochs"])
        values["early_stopping"] = st.checkbox("Early stopping (restore best)", key=key["early_stopping"], help=HELP["early_stopping"])
        values["seed"] = int(st.number_input("Seed", 0, 2**31 - 1, step=1, key=key["seed"], help=HELP["seed"]))
        with st.expander("Advanced"):
            values["batch_norm"] = st.checkbox("Batch normalisation", key=key["batch_norm"], help=HELP["batch_norm"])
            if not toy:
                values["augment"] = st.checkbox("Augment (shifts, rotations, zoom)", key=key["augment"], help=HELP["augment"])
                values["kernel_size"] = st.slider("CNN kernel size", 1, 7, key=key["kernel_size"], help=HELP["kernel_size"])
                values["dense_units"] = st.select_slider(
                    "CNN dense head units (0 = none)", options(DENSE_HEAD_CHOICES, "dense_units"), key=key["dense_units"], help=HELP["dense_units"]
                )
                values["conv_dropout"] = st.slider("CNN dropout after each block", 0.0, 0.8, step=0.05, key=key["conv_dropout"], help=HELP["conv_dropout"])
                values["label_smoothing"] = st.slider("Label smoothing", 0.0, 0.3, step=0.05, key=key["label_smoothing"], help=HELP["label_smoothing"])
                values["lr_schedule"] = st.selectbox("Learning-rate schedule", ["constant", "plateau", "cosine"], key=key["lr_schedule"], help=HELP["lr_schedule"])
                values["train_size"] = st.selectbox(
                    "Training digits", options(TRAIN_SIZE_CHOICES, "train_size"), format_func=lambda v: f"{v:,}" if v else "all",
                    key=key["train_size"], help=HELP["train_size"],
                )
            units_text = st.text_input("Units per layer (overrides the slider)", key=key["units_text"], help=HELP["units_text"], placeholder="e.g. 64,16")
            activation_text = st.text_input(
                "Activation per layer (overrides)", key=key["activation_text"], help=HELP["activation_text"], placeholder="e.g. relu,tanh"
            )
        submitted = st.form_submit_button(
            submit_label, type="primary", width="stretch", on_click=_mark_submitting, args=(form_key,), help=HELP["submit"],
        )
    if not submitted:
        return None
    try:
        per_layer_units = _parse_per_layer(units_text, "units")
        per_layer_activation = _parse_per_layer(activation_text, "activation")
        if per_layer_units is not None:
            values["units"] = per_layer_units
        if per_layer_activation is not None:
            values["activation"] = per_layer_activation
        if toy:
            values["user_points"] = config.user_points
        if cnn and values["layers"] == 0:
            raise ValueError("layers=0 is not allowed for a CNN: it takes 1 to 4 conv blocks")
        chosen = config.replace(**values)
    except ValueError as error:
        st.error(f"That combination is not possible: {error}. Nothing was trained.")
        return None
    # The widgets show `chosen` now; when the page writes it into the URL, the next run's config matches.
    st.session_state[f"{form_key}:shown"] = _widget_values(chosen)
    return chosen
