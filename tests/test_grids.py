"""core.grids: the one builder of config grids (Train sweep, boundary small multiples, CLI --grid)."""

from __future__ import annotations

import sys

import pytest

from core import grids
from core.config import RunConfig


def test_grid_is_every_combination_in_product_order():
    base = RunConfig(layers=2, units=64)
    cells = grids.grid(base, {"layers": [1, 3], "units": [16, 32]})
    assert [cell.values for cell in cells] == [
        {"layers": 1, "units": 16}, {"layers": 1, "units": 32}, {"layers": 3, "units": 16}, {"layers": 3, "units": 32}
    ]
    assert [(c.config.layers, c.config.units) for c in cells] == [(1, 16), (1, 32), (3, 16), (3, 32)]
    assert all(c.config.replace(layers=2, units=64) == base for c in cells)  # nothing else changed
    assert all(c.error is None for c in cells)


def test_an_invalid_combination_is_a_cell_with_its_reason_not_an_exception():
    cells = grids.grid(RunConfig(), {"units": [16, -1]})
    assert cells[0].config is not None and cells[0].error is None
    assert cells[1].config is None and cells[1].values == {"units": -1} and cells[1].error


def test_layers_by_units_shares_one_logistic_config_per_row():
    base = RunConfig(task="toy", dataset="xor", layers=2, units=4, activation=("tanh", "relu"))
    rows = grids.layers_by_units(base, [0, 2], [2, 8])
    assert [[(c.layers, c.units) for c in row] for row in rows] == [[(0, 2), (0, 2)], [(2, 2), (2, 8)]]
    assert rows[0][0] is rows[0][1]
    assert {c.activation for row in rows for c in row} == {"tanh"}  # one activation fits every depth


def test_layers_by_units_names_an_invalid_cell():
    with pytest.raises(ValueError, match="units"):
        grids.layers_by_units(RunConfig(task="toy", dataset="xor"), [1], [-1])


def test_building_a_grid_does_not_import_tensorflow():
    import subprocess

    code = "import sys, core.grids; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
