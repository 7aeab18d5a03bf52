"""The hyperparameter form shared by the pages that train (MNIST and toy 2-D data).

Everything sits in one `st.form`, so dragging a slider starts nothing: only "Train / load" does.
Widgets take their starting values from the current RunConfig (which comes from the URL), so a
shared address shows the same controls.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import ACTIVATIONS, OPTIMIZERS, PRESETS, TOY_DATASETS, RunConfig

UNIT_CHOICES = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
L2_CHOICES = [0.0, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1]
BATCH_SIZES = [1, 2, 4, 8, 10, 16, 32, 50, 64, 100, 128, 256, 512, 1024]
DENSE_HEAD_CHOICES = [0, 32, 64, 128, 256, 512, 1024, 2048]


def _nearest(choices: list, value: Any) -> list:
    """Choices with `value` added where it is missing (a URL may carry any valid value)."""
    return choices if value in choices else sorted([*choices, value])


def _per_layer_text(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else ""


def _parse_per_layer(text: str, cast, name: str) -> tuple | None:
    text = text.strip()
    if not text:
        return None
    try:
        return tuple(cast(part.strip()) for part in text.split(","))
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
        placeholder="custom settings: pick a preset to load", help="Models from the tutorials this lab teaches from.",
    )
    if choice is None:
        return None
    st.caption(PRESETS[choice].summary)
    if st.button("Load preset", width="stretch", disabled=choice == matching):
        return PRESETS[choice].config
    return None


def hyperparameter_form(config: RunConfig, *, submit_label: str = "Train / load", form_key: str = "hyperparameters") -> RunConfig | None:
    """Render the controls; return the submitted RunConfig, or None when nothing was submitted.

    An impossible combination shows an error naming the field and returns None.
    """
    toy = config.task == "toy"
    with st.form(form_key, border=False):
        values: dict[str, Any] = {"task": config.task}
        if toy:
            values["dataset"] = st.selectbox("Dataset", TOY_DATASETS, index=TOY_DATASETS.index(config.dataset))
            values["noise"] = st.slider("Noise", 0.0, 0.5, config.noise, 0.05, help="Extra jitter added to every point.")
            values["train_ratio"] = st.slider("Training share", 0.1, 0.9, config.train_ratio, 0.05)
            values["n_samples"] = st.slider("Points", 10, 2000, config.n_samples, 10)
            values["arch"] = "mlp"
        else:
            dataset_names = {"embedded": "Embedded 5k (offline)", "full": "Full MNIST 70k (download)"}
            values["dataset"] = st.radio(
                "Data", list(dataset_names), index=list(dataset_names).index(config.dataset),
                format_func=dataset_names.get, horizontal=True,
            )
            values["arch"] = st.radio(
                "Architecture", ["mlp", "cnn"], index=["mlp", "cnn"].index(config.arch),
                format_func=lambda a: {"mlp": "MLP (dense)", "cnn": "CNN (conv)"}[a], horizontal=True,
            )
        cnn = values["arch"] == "cnn"
        layer_label = "Conv blocks (CNN) / hidden layers (MLP)" if not toy else "Hidden layers"
        values["layers"] = st.slider(layer_label, 0, 6, config.layers, help="0 = logistic (softmax) regression. A CNN takes 1-4 blocks.")
        first_units = config.units_per_layer()[0] if config.layers else (config.units if isinstance(config.units, int) else 64)
        values["units"] = st.select_slider("Units (filters for CNN) per layer", _nearest(UNIT_CHOICES, first_units), first_units)
        first_activation = config.activation_per_layer()[0] if config.layers else (config.activation if isinstance(config.activation, str) else "relu")
        values["activation"] = st.selectbox("Activation", ACTIVATIONS, index=ACTIVATIONS.index(first_activation))
        values["dropout"] = st.slider("Dropout (dense layers)", 0.0, 0.8, config.dropout, 0.05)
        values["l2"] = st.select_slider("L2 weight penalty", _nearest(L2_CHOICES, config.l2), config.l2, format_func=lambda v: f"{v:g}")
        values["optimizer"] = st.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index(config.optimizer))
        values["learning_rate"] = st.select_slider(
            "Learning rate", _nearest(LEARNING_RATES, config.learning_rate), config.learning_rate, format_func=lambda v: f"{v:g}"
        )
        values["batch_size"] = st.select_slider("Batch size", _nearest(BATCH_SIZES, config.batch_size), config.batch_size)
        values["epochs"] = st.slider("Epochs", 1, 200, config.epochs)
        values["early_stopping"] = st.checkbox("Early stopping (restore best)", config.early_stopping)
        values["seed"] = int(st.number_input("Seed", 0, 2**31 - 1, config.seed, 1))
        with st.expander("Advanced"):
            values["batch_norm"] = st.checkbox("Batch normalisation", config.batch_norm)
            if not toy:
                values["augment"] = st.checkbox("Augment (shifts, rotations, zoom)", config.augment)
                values["kernel_size"] = st.slider("CNN kernel size", 1, 7, config.kernel_size)
                values["dense_units"] = st.select_slider(
                    "CNN dense head units (0 = none)", _nearest(DENSE_HEAD_CHOICES, config.dense_units), config.dense_units
                )
                values["conv_dropout"] = st.slider("CNN dropout after each block", 0.0, 0.8, config.conv_dropout, 0.05)
                values["label_smoothing"] = st.slider("Label smoothing", 0.0, 0.3, config.label_smoothing, 0.05)
                values["lr_schedule"] = st.selectbox(
                    "Learning-rate schedule", ["constant", "plateau", "cosine"], index=["constant", "plateau", "cosine"].index(config.lr_schedule)
                )
            units_text = st.text_input("Units per layer (overrides the slider)", _per_layer_text(config.units), placeholder="e.g. 64,16")
            activation_text = st.text_input(
                "Activation per layer (overrides)", _per_layer_text(config.activation), placeholder="e.g. relu,tanh"
            )
        submitted = st.form_submit_button(submit_label, type="primary", width="stretch")
    if not submitted:
        return None
    try:
        per_layer_units = _parse_per_layer(units_text, int, "units")
        per_layer_activation = _parse_per_layer(activation_text, str, "activation")
        if per_layer_units is not None:
            values["units"] = per_layer_units
        if per_layer_activation is not None:
            values["activation"] = per_layer_activation
        if toy:
            values["user_points"] = config.user_points
        if cnn and values["layers"] == 0:
            raise ValueError("layers=0 is not allowed for a CNN: it takes 1 to 4 conv blocks")
        return config.replace(**values)
    except ValueError as error:
        st.error(f"That combination is not possible: {error}. Nothing was trained.")
        return None
