"""Neural Lab core: configs, data, models, training and the on-disk model cache (no UI code)."""

import os

# Before any module of this package imports TensorFlow: its C++ start-up chatter is noise here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
