"""Neural Lab core: configs, data, models, training and the on-disk model cache (no UI code)."""
