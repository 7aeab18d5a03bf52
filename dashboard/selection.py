"""Reading clicks out of `st.plotly_chart(..., on_select="rerun", selection_mode="points")`.

Streamlit returns the selection as an attribute/dict hybrid; each point carries `x`, `y` and,
when the clicked trace has one, its `customdata`. In Chromium Plotly sends a numeric customdata
row (a typed array in the browser) as a dict {"0": a, "1": b, ...}, in AppTest (or for list
customdata) it is a list. These helpers hide both differences. No Streamlit import: pure data.
"""

from __future__ import annotations

from typing import Any


def selected_points(event: Any) -> list[dict]:
    """The selected points of a plotly_chart event (attribute or dict access), [] when nothing is selected."""
    if not event:
        return []
    inner = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    if not inner:
        return []
    points = inner.get("points") if isinstance(inner, dict) else getattr(inner, "points", None)
    return [point for point in (points or []) if isinstance(point, dict)]


def customdata_values(point: dict) -> list | None:
    """A point's customdata as a list (a dict {"0": a, "1": b} from the browser becomes [a, b]), or None."""
    data = point.get("customdata")
    if isinstance(data, dict):
        try:
            return [data[key] for key in sorted(data, key=int)]
        except (TypeError, ValueError):
            return None
    if isinstance(data, (list, tuple)):
        return list(data)
    if data is None:
        return None
    return [data]


def last_customdata(event: Any, length: int = 1) -> list | None:
    """The customdata of the most recently selected point that has at least `length` values, or None."""
    for point in reversed(selected_points(event)):
        values = customdata_values(point)
        if values is not None and len(values) >= length:
            return values
    return None
