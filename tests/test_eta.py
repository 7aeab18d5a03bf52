"""core.eta: the time-left rule (issue 16: "about 151 s left" for a 2 s training)."""

from __future__ import annotations

import pytest

from core.config import RunConfig
from core.eta import same_speed, seconds_left, similar_reference, steady_seconds_per_epoch
from core.jobs import Job


def test_no_estimate_before_an_epoch_after_the_first_was_timed():
    assert seconds_left(None, 100, 0.0) is None
    assert seconds_left([], 100, 0.005) is None
    # Epoch 1 took 1.5 s (graph tracing, warm-up); extrapolating it said "about 151 s left" for a 2 s run.
    assert seconds_left([1.5], 100, 0.01) is None


def test_the_estimate_uses_the_epochs_after_the_first():
    # 100 epochs: epoch 1 took 1.5 s, the next ones 0.02 s: 98 epochs left at 0.02 s = about 2 s, not 147 s.
    assert seconds_left([1.5, 0.02], 100, 0.02) == pytest.approx(1.96)
    # The median: one epoch slowed by a neighbour does not swing it.
    assert steady_seconds_per_epoch([3.0, 0.2, 0.2, 5.0, 0.2]) == pytest.approx(0.2)
    assert seconds_left([3.0, 1.0, 1.0], 10, 1.0) == 0.0
    assert seconds_left([3.0, 1.0], 0, 0.5) is None


def test_a_similar_cached_run_gives_the_estimate_until_the_run_has_its_own():
    assert seconds_left([], 10, 0.0, reference_seconds_per_epoch=0.5) == pytest.approx(5.0)
    assert seconds_left([2.0], 10, 0.1, reference_seconds_per_epoch=0.5) == pytest.approx(4.5)
    # Once the run timed an epoch of its own, the run's own clock wins.
    assert seconds_left([2.0, 1.0], 10, 0.2, reference_seconds_per_epoch=0.5) == pytest.approx(8.0)
    assert seconds_left([], 10, 0.0, reference_seconds_per_epoch=0) is None


def test_similar_means_the_same_speed_settings_not_the_same_run():
    config = RunConfig(arch="mlp", layers=1, units=16, epochs=30, batch_size=128)
    other_epochs_and_lr = config.replace(epochs=5, learning_rate=0.01, seed=3)
    wider = config.replace(units=256)
    assert same_speed(config.to_dict(), other_epochs_and_lr.to_dict())
    assert not same_speed(config.to_dict(), wider.to_dict())
    assert not same_speed(config.to_dict(), config.replace(batch_size=16).to_dict())
    candidates = [(wider.to_dict(), [2.0, 9.0]), (other_epochs_and_lr.to_dict(), [2.0]), (other_epochs_and_lr.to_dict(), [2.0, 0.3, 0.5])]
    # Newest first; the wider net does not count; a similar run with only its warm-up epoch has no steady time.
    assert similar_reference(config.to_dict(), candidates) == pytest.approx(0.4)
    assert similar_reference(config.to_dict(), candidates[:2]) is None


def test_a_job_record_follows_the_rule():
    job = Job(key="0" * 16, state="running", epochs=100, epoch=1, batch=0, history={"seconds": [1.5]})
    assert job.eta_seconds is None
    assert job.seconds_left(0.02) == pytest.approx(0.02 * 99)
    job.history["seconds"].append(0.02)
    job.epoch = 2
    assert job.eta_seconds == pytest.approx(0.02 * 98)
    job.state = "done"
    assert job.eta_seconds is None and job.seconds_left(0.02) is None
