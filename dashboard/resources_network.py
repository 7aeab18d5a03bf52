"""Cached reads for the network sections (dashboard/views/network.py): a model's Dense weights, its first
convolution, and Keras' own output sizes. Keyed by model key, computed once per key, never TensorFlow in a page.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core import network
from dashboard import resources


@st.cache_data(max_entries=32, show_spinner=False)
def dense_weights(key: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of every Dense layer of a cached model (LookupError when it cannot be loaded)."""
    return network.dense_stack(resources.model(key))


@st.cache_data(max_entries=32, show_spinner=False)
def first_conv(key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The first Conv2D layer's (kernels, biases) of a cached model; None for an MLP."""
    return network.first_conv_weights(resources.model(key))


@st.cache_data(max_entries=256, show_spinner=False)
def keras_output_sizes(size: int, kernel: int, stride: int, padding: str | int, pool_mode: str, window: int) -> tuple[int, int]:
    """What Keras computes for the same convolution and pooling layers (conv width, pooled width)."""
    return network.keras_output_sizes(size, kernel, stride, padding, pool_mode, window)
