"""core.lr_finder (Smith's learning-rate range test), its job kind in core.jobs and the Train page's section.

The maths is checked on hand-made curves whose answer is known; the range test itself on a tiny MLP
(a few dozen batches); the job on a real worker process; the page in AppTest with a stored result.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import cache, jobs, lr_finder
from core.config import RunConfig
from core.jobs import JobRunner
from core.lr_finder import RangeResult, RangeSettings
from core.training import StopTraining
from tests.test_training_ui import TINY, TINY_PARAMS, open_training

QUICK = RangeSettings(steps=40)


def hand_made_curve(steepest_log10: float = -3.0, explode_from_log10: float = -1.0):
    """A loss that falls fastest at 10**steepest_log10 (a tanh step), then blows up past 10**explode_from_log10."""
    rates = np.geomspace(1e-6, 1.0, 100)
    log_rate = np.log10(rates)
    loss = 2.0 - 1.5 * np.tanh(2.0 * (log_rate - steepest_log10))
    loss = np.where(log_rate > explode_from_log10, loss + 50.0 * (log_rate - explode_from_log10) ** 2, loss)
    return rates, loss


# -- the pure maths ----------------------------------------------------------------------------


def test_the_schedule_grows_exponentially_from_start_to_end():
    rates = lr_finder.learning_rates(RangeSettings(start=1e-6, end=1.0, steps=13))
    assert rates[0] == pytest.approx(1e-6) and rates[-1] == pytest.approx(1.0)
    assert np.allclose(rates[2::2] / rates[:-2:2], 10.0)  # twelve steps of x sqrt(10): x10 every two


def test_smoothing_keeps_a_constant_and_starts_at_the_first_loss():
    assert np.allclose(lr_finder.smooth(np.full(20, 2.5)), 2.5)  # bias correction: no ramp up from 0
    noisy = 1.0 + 0.5 * np.resize([1.0, -1.0], 200)
    smoothed = lr_finder.smooth(noisy)
    assert lr_finder.running_average(noisy)[0] == pytest.approx(noisy[0])
    assert np.isnan(lr_finder.smooth(np.array([1.0, 0.9, 0.8, np.inf, 3.0]))[3:]).all()  # an explosion ends the curve
    assert np.ptp(smoothed[100:]) < 0.2 * np.ptp(noisy[100:])  # the batch-to-batch noise is mostly gone


def test_divergence_is_four_times_the_lowest_loss_or_a_nan_never_in_the_first_steps():
    falling_then_exploding = np.array([2.0, 1.5, 1.0, 0.8, 0.5, 0.6, 1.0, 1.9, 2.1, 5.0])
    assert lr_finder.divergence_index(falling_then_exploding) == 8  # 2.1 > 4 x 0.5
    assert lr_finder.divergence_index(np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5])) is None
    assert lr_finder.divergence_index(np.array([1.0, 5.0, 9.0])) is None  # too early to judge
    assert lr_finder.divergence_index(np.array([1.0, 0.9, np.nan])) == 2


def test_the_suggestion_is_the_steepest_descent_before_the_lowest_loss():
    rates, loss = hand_made_curve(steepest_log10=-3.0)
    suggestion = lr_finder.suggest(rates, loss)
    assert not suggestion.diverged_at_once
    assert abs(np.log10(suggestion.steepest_at) + 3.0) < 0.07  # within one step of the 100-step sweep
    assert suggestion.rate == lr_finder.round_rate(suggestion.steepest_at) and suggestion.rate in (9e-4, 1e-3)
    assert suggestion.minimum_at <= 0.1 and suggestion.min_over_ten == lr_finder.round_rate(suggestion.minimum_at / 10)
    assert lr_finder.suggest(*hand_made_curve(steepest_log10=-4.5)).rate == pytest.approx(3e-5)


def test_a_loss_that_rises_from_the_start_has_no_suggestion_and_says_start_lower():
    rates = np.geomspace(1e-3, 1.0, 30)
    rising = 2.3 + np.linspace(0, 8, 30)
    suggestion = lr_finder.suggest(rates, lr_finder.smooth(rising))
    assert suggestion.diverged_at_once and suggestion.rate is None
    result = RangeResult(RangeSettings(start=1e-3), rates, rising, "exploded")
    text = lr_finder.explain(result)
    assert "too big" in text and "Start lower, e.g. at 1e-05" in text


def test_a_flat_noisy_curve_has_no_suggestion_and_says_why_without_blaming_the_start():
    rates = np.geomspace(1e-6, 1.0, 100)
    flat = 2.3 + 0.3 * np.resize([1.0, -1.0, 0.5, -0.5], 100)
    result = RangeResult(RangeSettings(), rates, flat, "end")
    assert result.suggestion.rate is None and not result.suggestion.diverged_at_once
    assert "did not fall clearly" in lr_finder.explain(result) and "Start lower" not in lr_finder.explain(result)


def test_suggestions_stay_within_the_learning_rates_a_config_accepts():
    assert lr_finder.round_rate(0.00234) == 0.002
    assert lr_finder.round_rate(3e-7) == 1e-5 and lr_finder.round_rate(7.0) == 1.0
    RunConfig(learning_rate=lr_finder.round_rate(3e-7))  # valid


def test_the_key_ignores_learning_rate_schedule_and_epochs_but_not_the_model_or_the_sweep():
    base = RunConfig()
    same = [base.replace(learning_rate=0.1), base.replace(lr_schedule="cosine", epochs=50, early_stopping=True)]
    assert {lr_finder.finder_key(config) for config in same} == {lr_finder.finder_key(base)}
    assert lr_finder.finder_key(base.replace(units=16)) != lr_finder.finder_key(base)
    assert lr_finder.finder_key(base.replace(optimizer="sgd")) != lr_finder.finder_key(base)
    assert lr_finder.finder_key(base, RangeSettings(start=1e-7)) != lr_finder.finder_key(base)
    assert lr_finder.finder_key(base) != base.key()  # never collides with the training job of the same config


def test_bad_sweeps_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="start < end"):
        RangeSettings(start=1.0, end=1e-3)
    with pytest.raises(ValueError, match="10 to 1000 steps"):
        RangeSettings(steps=3)


def test_a_schedule_is_ignored_and_said_so():
    notes = lr_finder.notes_for(RunConfig(lr_schedule="cosine"))
    assert len(notes) == 1 and "ignores it" in notes[0]
    assert lr_finder.notes_for(RunConfig()) == []


# -- the cache -------------------------------------------------------------------------------


def test_a_result_round_trips_through_the_cache_and_a_corrupt_file_reads_as_none(cache_dir):
    rates, loss = hand_made_curve()
    result = RangeResult(RangeSettings(), rates, loss, "exploded", seconds=1.5)
    lr_finder.store(RunConfig(), result)
    loaded = lr_finder.load(RunConfig(learning_rate=0.3))  # another learning rate: the same test
    assert loaded is not None and np.allclose(loaded.losses, loss) and loaded.stopped == "exploded"
    assert loaded.settings == RangeSettings() and loaded.suggestion == result.suggestion
    path = cache_dir / ".results" / lr_finder.RESULT_KIND / f"{lr_finder.finder_key(RunConfig())}.npz"
    assert path.is_file()
    path.write_bytes(b"not a zip file")
    assert lr_finder.load(RunConfig()) is None
    with pytest.raises(ValueError):
        cache.load_result("../escape", lr_finder.finder_key(RunConfig()))


# -- the range test on a real model ------------------------------------------------------------


def test_a_range_test_on_a_tiny_mlp_falls_then_stops_and_suggests_a_valid_rate():
    steps_seen = []
    result = lr_finder.range_test(TINY, RangeSettings(steps=60), on_step=lambda done, rates, losses: steps_seen.append(done))
    assert steps_seen == list(range(1, len(result.losses) + 1))
    assert result.stopped in ("exploded", "end") and np.isfinite(result.losses[:-1]).all()
    assert result.rates[0] == pytest.approx(1e-6) and len(result.rates) == len(result.losses)
    assert result.smoothed.min() < result.losses[0]  # the loss fell somewhere along the sweep
    assert result.suggestion.rate is not None
    RunConfig(learning_rate=result.suggestion.rate)


def test_a_listener_can_stop_the_range_test():
    def stop_after_five(done, rates, losses):
        if done == 5:
            raise StopTraining()

    result = lr_finder.range_test(TINY, QUICK, on_step=stop_after_five)
    assert result.stopped == "cancelled" and len(result.losses) == 5
    assert "stopped before it ended" in lr_finder.explain(result)


# -- the job ------------------------------------------------------------------------------------


def test_a_range_test_job_runs_in_a_worker_and_caches_per_config_minus_learning_rate(cache_dir):
    runner = JobRunner(workers=1)
    try:
        config = TINY.replace(lr_schedule="plateau")
        job = runner.submit_range_test(config, settings=QUICK)
        assert job.kind == "lr_finder" and job.key == lr_finder.finder_key(config, QUICK) and job.state == "queued"
        assert runner.submit_range_test(config.replace(learning_rate=0.1), settings=QUICK).key == job.key  # joined, not queued twice
        done = jobs.wait(job.key, timeout=240)
        assert done is not None and done.state == "done", done
        assert len(done.history["learning_rate"]) == len(done.history["loss"]) == done.batch > 0
        assert any("ignores it" in note for note in done.notes)
        assert not cache.exists(config)  # a range test is no training: no model entry
        stored = lr_finder.load(config.replace(learning_rate=0.03, lr_schedule="constant", epochs=7), QUICK)
        assert stored is not None and np.allclose(stored.losses, done.history["loss"])
    finally:
        runner.shutdown()


# -- the Train page -----------------------------------------------------------------------------


def chart_traces(at) -> list[str]:
    return [trace.get("name", "") for chart in at.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]]


def learning_rate_slider(at):
    return next(slider for slider in at.select_slider if slider.label == "Learning rate")


def test_the_page_draws_a_stored_result_and_use_this_sets_the_learning_rate(cache_dir):
    rates, loss = hand_made_curve(steepest_log10=-2.3)
    result = RangeResult(RangeSettings(), rates, loss, "exploded", seconds=2.0)
    wanted = result.suggestion.rate
    assert 2e-3 <= wanted <= 6e-3  # near 10**-2.3 = 0.005
    lr_finder.store(TINY, result)
    at = open_training(TINY_PARAMS)
    assert not at.exception, at.exception
    assert {"loss of each batch", "smoothed loss", f"suggested: {wanted:g}"} <= set(chart_traces(at))
    assert any(f"Suggested learning rate: **{wanted:g}**" in text.value for text in at.markdown)
    assert learning_rate_slider(at).value == pytest.approx(1e-3)
    use = next(button for button in at.button if button.label.startswith("Use this learning rate"))
    at = use.click().run()
    assert not at.exception, at.exception
    assert at.query_params["learning_rate"] in (f"{wanted:g}", [f"{wanted:g}"])
    assert learning_rate_slider(at).value == pytest.approx(wanted)  # the form shows it; nothing trained
    assert any(f"Learning rate set to {wanted:g}" in message.value for message in at.success)
    assert jobs.read_job(TINY.replace(learning_rate=wanted).key()) is None


def test_the_page_says_when_the_loss_rose_at_once_and_offers_no_button(cache_dir):
    rates = np.geomspace(1e-6, 1.0, 30)
    lr_finder.store(TINY, RangeResult(RangeSettings(), rates, 2.3 + np.linspace(0, 8, 30), "exploded"))
    at = open_training({**TINY_PARAMS, "lr_schedule": "cosine"})
    assert not at.exception, at.exception
    assert any("Start lower" in warning.value for warning in at.warning)
    assert any("ignores it" in info.value for info in at.info)  # the schedule note
    assert not [button for button in at.button if button.label.startswith("Use this learning rate")]


def test_a_config_without_a_result_offers_the_button_and_queues_nothing_on_opening(cache_dir):
    at = open_training(TINY_PARAMS)
    assert not at.exception, at.exception
    assert any(button.label == "Run the range test" for button in at.button)
    assert jobs.read_job(lr_finder.finder_key(TINY)) is None
