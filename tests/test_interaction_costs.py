"""What an interaction must not redo (issue #16, the latency goals): a replay step back to an epoch already
shown builds no figure, the curves under the replay mark the epoch on both panels, and a stroke on the
Draw page does not build the pictures of a closed preprocessing inspector. Timings live in
bench/interactions.py; these tests count the work.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from core.config import RunConfig
from dashboard.charts import boundary as boundary_charts
from dashboard.views import boundary as boundary_view
from tests.test_draw_page import app_env, draw_on, open_page, trained_cache  # noqa: F401 - app_env, trained_cache are fixtures

BOUNDARY_PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "app_pages" / "boundary.py")
TOY = RunConfig(task="toy", dataset="xor", layers=2, units=3, activation="tanh", optimizer="adam", learning_rate=0.03,
                batch_size=20, epochs=3, n_samples=40, train_ratio=0.5)
TOY_PARAMS = {"dataset": "xor", "n_samples": "40", "epochs": "3", "batch_size": "20", "units": "3"}


def test_replaying_an_epoch_already_shown_builds_no_new_figure(cache_dir, monkeypatch):
    cache.get_or_train(TOY)
    boundary_view._cached_figure_at.clear()
    built = []
    real = boundary_view._figure_at

    def counting(run, epoch_index, *args):
        built.append(epoch_index)
        return real(run, epoch_index, *args)

    monkeypatch.setattr(boundary_view, "_figure_at", counting)
    at = AppTest.from_file(BOUNDARY_PAGE, default_timeout=60)
    for name, value in TOY_PARAMS.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    slider = lambda: next(s for s in at.select_slider if s.label.startswith("Replay"))  # noqa: E731
    for epoch in (1, 3, 1, 3):  # back and forth between two epochs
        slider().set_value(epoch).run()
        assert not at.exception, at.exception
    assert any(m.value == "**At epoch 3**" for m in at.markdown)
    assert len(built) == 2, f"figures built for snapshot indices {built}: each epoch should be built once"


def test_the_replay_curves_mark_the_epoch_on_both_panels():
    history = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7], "accuracy": [0.5, 0.7, 0.9], "val_accuracy": [0.4, 0.6, 0.8]}
    figure = boundary_charts.history_figure(history, upto=2, epochs=3)
    marks = [(shape.x0, shape.xref) for shape in figure.layout.shapes]
    assert sorted(marks) == [(2, "x"), (2, "x2")]
    assert {trace.xaxis for trace in figure.data} == {"x", "x2"}  # loss left, accuracy right
    assert [a.text for a in figure.layout.annotations] == ["loss", "accuracy"]
    assert figure.layout.xaxis.domain[1] < figure.layout.xaxis2.domain[0]  # side by side, not overlapping
    assert not boundary_charts.history_figure(history, epochs=3).layout.shapes  # no epoch, no mark


@pytest.mark.usefixtures("app_env")
def test_a_stroke_builds_no_pictures_for_a_closed_inspector():
    at = draw_on(open_page(), "one")
    assert not at.exception, at.exception
    assert len(at.get("image")) == 0, "the closed inspector's step pictures were built and sent"
    at.session_state["draw_inspector"] = True  # the student opens the inspector
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("image")) >= 3, "the open inspector shows every preprocessing step"
