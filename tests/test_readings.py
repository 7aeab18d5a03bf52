"""Reading rules (core/readings.py) on hand-made histories: one that triggers each rule, one that must not."""

from __future__ import annotations

import math

import numpy as np

from core import readings


def history(train, val, loss=None, val_loss=None) -> dict:
    """A Keras-style history; losses default to 1 - accuracy (falling as accuracy rises)."""
    return {
        "accuracy": list(train), "val_accuracy": list(val),
        "loss": list(loss) if loss is not None else [1 - a for a in train],
        "val_loss": list(val_loss) if val_loss is not None else [1 - a for a in val],
    }


# A healthy run: both curves rise together to ~97 % and are still gaining a little at the end.
HEALTHY = history([0.80, 0.90, 0.93, 0.95, 0.96, 0.97], [0.79, 0.89, 0.92, 0.94, 0.955, 0.965])


def rules(found) -> list[str]:
    return [finding.rule for finding in found]


def test_a_healthy_run_has_nothing_to_say():
    assert readings.read(HEALTHY) == []


def test_nan_loss_is_a_learning_rate_too_high_at_its_epoch():
    found = readings.learning_rate_too_high(history([0.5, 0.1, 0.1], [0.5, 0.1, 0.1], loss=[2.0, 40.0, float("nan")]))
    assert found.rule == "learning_rate_too_high" and found.epoch == 3 and found.values["nan"]


def test_a_loss_that_ends_above_its_start_is_a_learning_rate_too_high():
    found = readings.learning_rate_too_high(history([0.3, 0.2, 0.1], [0.3, 0.2, 0.1], loss=[2.3, 9.0, 14.5]))
    assert found is not None and not found.values["nan"] and found.epoch == 3
    assert math.isclose(found.values["last"], 14.5)


def test_a_loss_that_shot_up_and_fell_back_to_a_guess_is_a_learning_rate_too_high():
    # Adam at learning rate 1.0 on the default MLP (measured): 980 in epoch 1, then a guess's 2.3 and 10 %.
    found = readings.learning_rate_too_high(history([0.094, 0.099, 0.10], [0.1, 0.1, 0.1], loss=[979.7, 2.41, 2.32]))
    assert found is not None and found.epoch == 1 and math.isclose(found.values["peak"], 979.7)
    assert rules(readings.read(history([0.094, 0.099, 0.10], [0.1, 0.1, 0.1], loss=[979.7, 2.41, 2.32]))) == ["learning_rate_too_high"]


def test_a_falling_loss_with_a_bumpy_middle_is_not_a_learning_rate_too_high():
    bumpy = history([0.5, 0.7, 0.6, 0.8], [0.5, 0.7, 0.6, 0.8], loss=[1.0, 0.6, 0.9, 0.4])
    assert readings.learning_rate_too_high(bumpy) is None
    assert readings.learning_rate_too_high(HEALTHY) is None


def test_a_learning_rate_too_high_hides_the_other_readings():
    exploded = history([0.9, 0.5, 0.1], [0.9, 0.5, 0.1], loss=[0.3, 5.0, float("inf")])
    confusion = np.array([[90, 10], [0, 100]])
    assert rules(readings.read(exploded, confusion)) == ["learning_rate_too_high"]


def test_a_train_validation_gap_is_overfitting_from_the_best_validation_epoch():
    train = [0.90, 0.95, 0.98, 0.995, 1.0]
    val = [0.89, 0.92, 0.93, 0.93, 0.925]
    found = readings.overfitting(history(train, val, val_loss=[0.40, 0.30, 0.28, 0.33, 0.36]))
    assert found.rule == "overfitting" and found.epoch == 3
    assert math.isclose(found.values["gap"], 0.075)


def test_validation_loss_climbing_from_its_best_is_overfitting_even_with_a_small_gap():
    found = readings.overfitting(history([0.9, 0.92, 0.93, 0.93], [0.9, 0.91, 0.915, 0.91], val_loss=[0.3, 0.25, 0.3, 0.35]))
    assert found is not None and found.epoch == 2 and found.values["val_loss_rise"] > 0.3


def test_curves_that_agree_are_not_overfitting():
    assert readings.overfitting(HEALTHY) is None
    # validation above train (dropout): not overfitting either
    assert readings.overfitting(history([0.80, 0.85, 0.88], [0.84, 0.89, 0.92])) is None


def test_low_and_rising_accuracies_are_underfitting_that_more_epochs_fix():
    found = readings.underfitting(history([0.30, 0.45, 0.58, 0.66], [0.32, 0.47, 0.60, 0.68]))
    assert found.rule == "underfitting" and found.values["still_rising"]


def test_low_and_flat_accuracies_are_underfitting_that_needs_capacity():
    found = readings.underfitting(history([0.60, 0.70, 0.71, 0.71, 0.71], [0.61, 0.70, 0.71, 0.712, 0.711]))
    assert found is not None and not found.values["still_rising"]


def test_high_accuracy_is_not_underfitting():
    assert readings.underfitting(HEALTHY) is None
    # low validation but a training set learnt by heart: that is overfitting, not underfitting
    assert readings.underfitting(history([0.8, 0.95, 0.99], [0.7, 0.75, 0.76])) is None


def test_the_underfitting_threshold_can_be_lowered_for_hard_toy_data():
    xor = history([0.6, 0.8, 0.86], [0.58, 0.79, 0.85])
    assert readings.underfitting(xor) is not None
    assert readings.underfitting(xor, low=0.8) is None


def test_a_curve_flat_from_epoch_k_is_saturation_at_k():
    val = [0.80, 0.90, 0.95, 0.97, 0.971, 0.970, 0.972, 0.971, 0.970, 0.971]
    found = readings.saturation(history(val, val))
    assert found.rule == "saturation" and found.epoch == 4 and found.values["spare_epochs"] == 6


def test_a_curve_still_climbing_at_the_end_is_not_saturation():
    assert readings.saturation(HEALTHY) is None
    short = [0.8, 0.9, 0.95, 0.95]  # too few epochs after the plateau to say anything
    assert readings.saturation(history(short, short)) is None


def test_a_late_dip_is_not_a_plateau():
    val = [0.80, 0.95, 0.96, 0.96, 0.90, 0.96, 0.96, 0.96]
    assert readings.saturation(history(val, val)) is None


def test_the_most_frequent_confusion_of_a_class_is_a_weak_spot():
    confusion = np.diag([100] * 10)
    confusion[4, 9] = 12  # most 4s mistaken are read as 9
    confusion[4, 7] = 2
    confusion[7, 1] = 6
    found = readings.weak_spots(confusion)
    assert [(f.values["true"], f.values["predicted"]) for f in found] == [(4, 9), (7, 1)]
    assert found[0].values["count"] == 12 and found[0].values["total"] == 114


def test_scattered_or_rare_mistakes_are_not_weak_spots():
    confusion = np.diag([100] * 10)
    confusion[3, 5] = 2  # too few
    confusion[8, :8] = 1  # spread over many classes
    assert readings.weak_spots(confusion) == []
    assert readings.weak_spots(np.zeros((0, 0))) == []


def test_a_reading_is_at_most_three_findings_with_the_confusion_last():
    train = [0.5, 0.97, 0.99, 1.0, 1.0, 1.0, 1.0, 1.0]
    val = [0.5, 0.90, 0.92, 0.92, 0.921, 0.92, 0.92, 0.92]
    confusion = np.diag([100] * 10)
    confusion[4, 9], confusion[3, 5], confusion[7, 1] = 20, 15, 10
    found = readings.read(history(train, val), confusion)
    assert rules(found) == ["overfitting", "saturation", "weak_spot"]
    assert readings.read(None, confusion)[0].values["true"] == 4
    assert readings.read({}, None) == []


def test_the_page_words_each_finding_with_advice():
    from streamlit.testing.v1 import AppTest

    def page():
        import numpy as np

        from dashboard.views.readings import render_readings

        confusion = np.diag([100] * 10)
        confusion[4, 9] = 12
        render_readings({"accuracy": [0.3, 0.4, 0.5], "val_accuracy": [0.3, 0.4, 0.5], "loss": [2.0, 1.8, 1.6]}, confusion)
        render_readings({"accuracy": [0.97, 0.98], "val_accuracy": [0.97, 0.98], "loss": [0.2, 0.1]})  # nothing to say

    at = AppTest.from_function(page).run()
    assert not at.exception
    sentences = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert len(sentences) == 2
    assert sentences[0].startswith("- **Still learning:**") and "more epochs" in sentences[0]
    assert "12 of the 112 test 4s (11%) were read as 9" in sentences[1]
    assert [m.value for m in at.markdown].count("**Reading this result**") == 1
