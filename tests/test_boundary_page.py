"""AppTest of the decision-boundary page: data before training, Train queues a background job (its panel
shows the live boundary and a Stop button), the finished run's replay, small multiples, bad input.

Jobs run in the process's one JobRunner (see test_training_ui.py): each test that starts one waits
for it (or stops it), and `jobs_settle` leaves the worker idle for the next test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import cache, jobs
from core.config import RunConfig
from tests.test_training_ui import finish, jobs_settle, progress_texts, stop_button, wait_for  # noqa: F401 - jobs_settle is a fixture

PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "app_pages" / "boundary.py")
SMALL = {"dataset": "xor", "n_samples": "40", "epochs": "3", "batch_size": "20", "units": "3"}


def _app(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at


def _config(**changes) -> RunConfig:
    base = RunConfig(task="toy", dataset="xor", layers=2, units=3, activation="tanh", optimizer="adam", learning_rate=0.03,
                     batch_size=20, epochs=3, n_samples=40, train_ratio=0.5)
    return base.replace(**changes)


def _main_spec(at: AppTest) -> str:
    """The main (clickable) boundary plot's JSON."""
    return next(c.proto.spec for c in at.get("plotly_chart") if "click to add a point" in c.proto.spec)


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _train(params: dict[str, str], config: RunConfig) -> AppTest:
    """Open the page, press Train, wait for the background job of `config`, rerun (what its panel does when it ends)."""
    at = _app(params).run()
    _button(at, "Train").click().run()
    assert not at.exception, at.exception
    assert stop_button(at, config.key()) is not None, "pressing Train did not show the job's panel"
    assert not any("not been trained yet" in i.value for i in at.info)
    assert finish(config.key()).state == "done"
    return at.run()


def test_untrained_combination_shows_the_data_and_a_train_button(cache_dir):
    at = _app(SMALL).run()
    assert not at.exception
    assert any("not been trained yet" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) >= 2  # the data plot + the (empty) small multiples
    assert cache.list_runs() == []


@pytest.mark.usefixtures("jobs_settle")
def test_train_button_trains_in_the_background_then_replay_metrics_neurons_and_a_second_visit_loads(cache_dir):
    at = _train(SMALL, _config())
    assert not at.exception, at.exception
    assert cache.exists(_config())
    assert stop_button(at, _config().key()) is None
    slider = next(s for s in at.select_slider if s.label.startswith("Replay"))
    assert slider.options == ["1", "2", "3"] and str(slider.value) == "3"
    labels = [m.label for m in at.metric]
    assert {"Train loss", "Test loss", "Train accuracy", "Test accuracy"} <= set(labels)
    assert "final model" in _main_spec(at)
    # Scrub back to epoch 1: the figure is the recorded snapshot, the metrics those of epoch 1.
    slider.set_value(1).run()
    assert not at.exception
    assert "after epoch 1" in _main_spec(at) and "final model" not in _main_spec(at)
    assert any(m.value == "**At epoch 1**" for m in at.markdown)
    # Inside the network: one heatmap per hidden neuron (2 layers x 3 units).
    assert any('"layer 2 \\u00b7 unit 3"' in c.proto.spec or "layer 2 · unit 3" in c.proto.spec for c in at.get("plotly_chart"))

    # A second visit (any session) loads it from the cache: no Train button, no new job, the same entry.
    submitted, created = jobs.read_job(_config().key()).submitted, cache.read_meta(_config().key())["created"]
    again = _app(SMALL).run()
    assert not again.exception
    assert any(s.label.startswith("Replay") for s in again.select_slider)
    assert stop_button(again, _config().key()) is None and not [b for b in again.button if b.label == "Train"]
    assert jobs.read_job(_config().key()).submitted == submitted, "a cached combination was queued again"
    assert cache.read_meta(_config().key())["created"] == created


def test_degenerate_split_gives_a_clear_message_and_trains_nothing(cache_dir):
    at = _app({"dataset": "blobs", "n_samples": "10", "train_ratio": "0.1"}).run()
    assert not at.exception
    assert any("nothing was trained" in e.value and "no points of class" in e.value for e in at.error)
    assert not [b for b in at.button if b.label == "Train"]
    assert cache.list_runs() == []


def test_user_points_from_the_url_are_drawn_and_clearable(cache_dir):
    at = _app({**SMALL, "user_points": "1:2:1;-3:4:0"}).run()
    assert not at.exception
    assert any("2 point(s) of yours" in c.value for c in at.caption)
    assert '"yours' in _main_spec(at)
    at.toggle(key="boundary_auto_retrain").set_value(False)
    _button(at, "Clear my points").click().run()
    assert not at.exception
    assert "user_points" not in at.query_params
    assert not any("point(s) of yours" in c.value for c in at.caption)


def _click(x: float, y: float) -> dict:
    """What st.plotly_chart(on_select="rerun") keeps in session state after a click on the plane's click layer."""
    return {"selection": {"points": [{"x": x, "y": y, "customdata": [x, y]}], "point_indices": [0], "box": [], "lasso": []}}


@pytest.mark.usefixtures("jobs_settle")
def test_a_click_adds_a_point_and_retrains_with_it_in_the_background(cache_dir):
    at = _app(SMALL).run()
    at.session_state["boundary_plot_0"] = _click(1.0, 2.0)  # class 1 is the default click class
    at.run()
    assert not at.exception, at.exception
    assert at.query_params["user_points"] in ("1:2:1", ["1:2:1"])
    assert any("1 point(s) of yours" in c.value for c in at.caption)
    with_point = _config(user_points=((1.0, 2.0, 1),))
    assert [job.key for job in jobs.list_jobs()] == [with_point.key()]  # "Retrain after each new point" is on
    assert stop_button(at, with_point.key()) is not None
    assert finish(with_point.key()).state == "done"
    at.run()
    assert not at.exception, at.exception
    assert any(s.label.startswith("Replay") for s in at.select_slider)
    assert '"yours' in _main_spec(at) and not cache.exists(_config())


def test_bad_url_values_are_named_and_ignored(cache_dir):
    at = _app({"dataset": "moons", "noise": "7"}).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "dataset" in warnings and "noise" in warnings


@pytest.mark.parametrize("dataset", ["three_class"])
def test_three_classes_offer_three_click_classes(cache_dir, dataset):
    at = _app({**SMALL, "dataset": dataset, "n_samples": "60"}).run()
    assert not at.exception
    control = at.get("button_group")[0]
    assert len(control.proto.options) == 3


@pytest.mark.usefixtures("jobs_settle")
def test_small_multiples_train_missing_cells_with_progress(cache_dir):
    at = _app(SMALL).run()
    at.multiselect(key="multiples_layers").set_value([0, 1])
    at.multiselect(key="multiples_units").set_value([2])
    at.run()
    assert any("not trained yet" in c.value for c in at.caption)
    next(b for b in at.button if b.label.startswith("Train the 2 missing")).click().run()
    assert not at.exception, at.exception
    grid = [t for t in progress_texts(at) if t.startswith("Small multiples:")]
    assert len(grid) == 1 and "of 2 finished" in grid[0], progress_texts(at)
    cells = [_config(layers=0, units=2), _config(layers=1, units=2)]
    for cell in cells:
        assert finish(cell.key()).state == "done"
    at.run()
    assert not at.exception, at.exception
    assert all(cache.exists(cell) for cell in cells)
    assert not progress_texts(at) and not [b for b in at.button if b.label.startswith("Train the")]
    spec = at.get("plotly_chart")[-1].proto.spec
    assert "test " in spec and "not trained" not in spec


@pytest.mark.usefixtures("jobs_settle")
def test_the_job_panel_draws_the_live_boundary_and_stop_caches_nothing(cache_dir):
    long = _config(n_samples=2000, batch_size=4, epochs=200)  # minutes of training: stopped long before its end
    at = _app({**SMALL, "n_samples": "2000", "batch_size": "4", "epochs": "200"}).run()
    _button(at, "Train").click().run()
    assert not at.exception, at.exception
    assert jobs.read_job(long.key()).active, "the page waited for the training"
    assert stop_button(at, long.key()) is not None
    assert not [b for b in at.button if b.label == "Train"]  # no second Train while it runs
    wait_for(lambda: jobs.read_live_grid(long.key()), "the worker to publish a live boundary")
    at.run()  # what the panel's next poll draws
    assert any('"live \\u00b7 epoch' in c.proto.spec or '"live · epoch' in c.proto.spec for c in at.get("plotly_chart"))

    stop_button(at, long.key()).click().run()
    assert not at.exception, at.exception
    assert finish(long.key()).state == "cancelled"
    assert not cache.exists(long) and cache.list_runs() == []
    at.run()
    assert not at.exception
    assert stop_button(at, long.key()) is None
    assert any(w.value.startswith("Stopped at epoch") and "of 200" in w.value and "not cached" in w.value for w in at.warning)
    assert any("not been trained yet" in i.value for i in at.info)
    assert [b for b in at.button if b.label == "Train"]  # it can be trained again


def test_a_lesson_in_the_url_explains_itself_above_the_plot(cache_dir):
    from core.presets import preset
    from dashboard.state import full_params

    at = _app(full_params(preset("seed003-xor-2layer"))).run()
    assert not at.exception
    lesson = next(c.value for c in at.caption if c.value.startswith("Lesson **seed003-xor-2layer**"))
    assert "Fragile" in lesson and "4x4" in lesson  # the 2-2 network's failure with seed 0, and where to go instead
    at = _app({**full_params(preset("seed003-xor-2layer")), "seed": "1"}).run()
    assert not any(c.value.startswith("Lesson") for c in at.caption)  # another seed is no longer the lesson


@pytest.mark.usefixtures("jobs_settle")
def test_a_low_run_says_why_with_a_one_click_fix_and_an_entry_without_snapshots_says_there_is_no_replay(cache_dir):
    from core import boundary
    from core.presets import BOUNDARY_DEFAULTS
    from dashboard.state import decode, full_params

    config = _config(dataset="spiral", n_samples=60, units=2)  # 3 epochs of 2 units: far from solving the spiral
    run = cache.get_or_train(config)
    (run.path / "arrays.npz").unlink()  # an entry cached without per-epoch snapshots
    at = _app(full_params(config)).run()
    assert not at.exception, at.exception
    assert not [s for s in at.select_slider if s.label.startswith("Replay")]
    assert any("No replay for this entry" in c.value and "without per-epoch snapshots" in c.value for c in at.caption)
    assert "final model" in _main_spec(at)

    diagnosis = boundary.diagnose(config, run.history)
    assert diagnosis is not None
    why = next(m.value for m in at.markdown if "Why so low?" in m.value)
    assert diagnosis.reason in why and f"{run.history['accuracy'][-1]:.0%}" in why
    _button(at, diagnosis.fix_label).click().run()
    assert not at.exception, at.exception
    params = {name: value[0] if isinstance(value, list) else value for name, value in at.query_params.items()}
    assert decode(params, BOUNDARY_DEFAULTS)[0] == diagnosis.fix  # the address is now the bigger configuration
    assert stop_button(at, diagnosis.fix.key()) is not None  # one click opened and started the bigger run
    stop_button(at, diagnosis.fix.key()).click().run()
    finish(diagnosis.fix.key())
