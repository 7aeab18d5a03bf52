"""Grids of configurations: one base RunConfig, some fields swept over named values.

The one grid builder behind the Train page's layers x units sweep, the Decision-boundaries
page's small multiples and `python -m core pretrain | sweep --grid`. Pure Python (no TensorFlow):
it only builds and validates configs; training them is the job of core/jobs.py or the CLI.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from core.config import RunConfig


class Cell(NamedTuple):
    """One combination of a grid: its values, and the config they give or why they give none."""

    values: dict[str, Any]
    config: RunConfig | None
    error: str | None = None


def grid(base: RunConfig, values: Mapping[str, Sequence[Any]]) -> list[Cell]:
    """Every combination of `values` applied to `base`, in itertools.product order (last name fastest).

    `grid(base, {"layers": [1, 2], "units": [16, 64]})` gives four cells. A combination that
    RunConfig rejects is kept as a cell with `config=None` and the error message, so each caller
    decides: the pages skip it, the CLI refuses the whole grid naming it.
    """
    names = list(values)
    cells = []
    for combination in itertools.product(*(values[name] for name in names)):
        changes = dict(zip(names, combination, strict=True))
        try:
            cells.append(Cell(changes, base.replace(**changes)))
        except ValueError as error:
            cells.append(Cell(changes, None, str(error)))
    return cells


def layers_by_units(base: RunConfig, layer_counts: Sequence[int], unit_counts: Sequence[int]) -> list[list[RunConfig]]:
    """Configs for a layers (rows) x units (columns) comparison of architectures; the rest from `base`.

    Every depth gets one activation (the first hidden layer's of `base`), so that a per-layer list
    fits any depth. A row with 0 layers is logistic regression: widths do not matter without hidden
    layers, so the whole row shares one config (one cache entry). Raises ValueError for an invalid cell.
    """
    activation = base.activation_per_layer()[0] if base.layers else (base.activation if isinstance(base.activation, str) else "relu")
    cells = grid(base, {"layers": list(layer_counts), "units": list(unit_counts), "activation": [activation]})
    by_shape = {}
    for cell in cells:
        if cell.config is None:
            raise ValueError(f"combination {cell.values} is invalid: {cell.error}")
        by_shape[cell.values["layers"], cell.values["units"]] = cell.config
    return [[by_shape[layers, units if layers else unit_counts[0]] for units in unit_counts] for layers in layer_counts]
