"""dashboard.selection: clicks read the same from Chromium (customdata as a dict) and from AppTest (a list)."""

from __future__ import annotations

from types import SimpleNamespace

from dashboard.selection import customdata_values, last_customdata, selected_points


def _event(*points) -> dict:
    return {"selection": {"points": list(points), "point_indices": [], "box": [], "lasso": []}}


def test_customdata_from_the_browser_arrives_as_a_dict_and_becomes_a_list_in_order():
    # What Chromium sent for a click on the boundary plot's click layer (seen in the server log).
    point = {"curve_number": 4, "point_number": 1344, "x": 9, "y": 9, "customdata": {"1": 7.5, "0": -3.25}}
    assert customdata_values(point) == [-3.25, 7.5]
    assert customdata_values({"customdata": {"0": 1, "1": 2, "10": 11, "2": 3}})[-1] == 11  # numeric, not text order


def test_list_scalar_and_missing_customdata():
    assert customdata_values({"customdata": [1, 2]}) == [1, 2]
    assert customdata_values({"customdata": 5}) == [5]
    assert customdata_values({"x": 1, "y": 2}) is None
    assert customdata_values({"customdata": {"a": 1}}) is None


def test_selected_points_accepts_attribute_and_dict_access_and_empty_events():
    point = {"x": 1, "y": 2, "customdata": [3, 4]}
    assert selected_points(_event(point)) == [point]
    assert selected_points(SimpleNamespace(selection=SimpleNamespace(points=[point]))) == [point]
    assert selected_points(None) == [] and selected_points({}) == [] and selected_points(_event()) == []


def test_last_customdata_skips_points_without_enough_values():
    first = {"customdata": {"0": 1, "1": 2}}
    heatmap_cell = {"x": 0, "y": 0}  # a point of a trace without customdata
    assert last_customdata(_event(first, heatmap_cell), length=2) == [1, 2]
    assert last_customdata(_event({"customdata": [9]}), length=2) is None
    assert last_customdata(_event()) is None
