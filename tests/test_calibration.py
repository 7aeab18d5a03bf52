"""core/calibration.py on hand-made inputs: reliability bins, ECE, the sentence that explains the gap."""

from __future__ import annotations

import numpy as np
import pytest

from core import calibration


def test_perfectly_calibrated_predictions_have_zero_ece():
    # 10 answers at 0.7 confidence, 7 right; 10 at 0.95 confidence... use 20 at 0.95, 19 right.
    confidence = np.array([0.7] * 10 + [0.95] * 20)
    correct = np.array([True] * 7 + [False] * 3 + [True] * 19 + [False] * 1)
    result = calibration.reliability(confidence, correct)
    assert result.ece == pytest.approx(0.0, abs=1e-12)
    assert result.mce == pytest.approx(0.0, abs=1e-12)
    assert result.counts.tolist() == [0, 0, 0, 0, 0, 0, 10, 0, 0, 20]
    assert result.accuracy[6] == pytest.approx(0.7) and result.accuracy[9] == pytest.approx(0.95)
    assert np.isnan(result.accuracy[0]) and np.isnan(result.confidence[0])


def test_always_sure_and_half_right_has_ece_one_half():
    result = calibration.reliability(np.ones(10), np.array([True, False] * 5))
    assert result.ece == pytest.approx(0.5)
    assert result.mce == pytest.approx(0.5)
    assert result.counts[-1] == 10 and result.counts[:-1].sum() == 0


def test_ece_weights_each_bin_by_its_share():
    # Bin 0.8-0.9: 4 answers at 0.85, all right (gap 0.15); bin 0.5-0.6: 6 answers at 0.55, 3 right (gap 0.05).
    confidence = np.array([0.85] * 4 + [0.55] * 6)
    correct = np.array([True] * 4 + [True] * 3 + [False] * 3)
    result = calibration.reliability(confidence, correct)
    assert result.ece == pytest.approx(0.4 * 0.15 + 0.6 * 0.05)
    assert result.mce == pytest.approx(0.15)
    assert result.gaps[8] == pytest.approx(0.15)  # underconfident: right more often than claimed
    assert result.overall_accuracy == pytest.approx(0.7)
    assert result.mean_confidence == pytest.approx((4 * 0.85 + 6 * 0.55) / 10)


def test_bin_edges_are_right_closed_and_zero_and_one_stay_inside():
    assert calibration.bin_index(np.array([0.0, 0.1, 0.1000001, 0.5, 1.0]), 10).tolist() == [0, 0, 1, 4, 9]


def test_from_probabilities_uses_the_top_class():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = np.array([0, 0, 0, 1])
    result = calibration.from_probabilities(probabilities, labels, bins=5)
    # confidences 0.9, 0.8, 0.6, 0.7 -> bins 4, 3, 2, 3 (0.8 sits at the top edge of bin 3)
    assert result.counts.tolist() == [0, 0, 1, 2, 1]
    assert result.accuracy[4] == 1.0 and result.accuracy[3] == 0.5
    assert calibration.expected_calibration_error(probabilities, labels, bins=5) == pytest.approx(result.ece)


def test_empty_input_has_empty_bins_and_no_error():
    result = calibration.from_probabilities(np.zeros((0, 10)), np.zeros(0, dtype=int))
    assert result.total == 0 and result.ece == 0.0
    assert "no predictions" in calibration.gap_sentence(result)


@pytest.mark.parametrize(
    ("confidence", "correct", "message"),
    [
        (np.array([0.5, 1.2]), np.array([True, True]), "in \\[0, 1\\]"),
        (np.array([0.5, np.nan]), np.array([True, True]), "in \\[0, 1\\]"),
        (np.array([0.5]), np.array([True, False]), "1 confidences but 2"),
    ],
)
def test_bad_input_is_refused_in_plain_words(confidence, correct, message):
    with pytest.raises(ValueError, match=message):
        calibration.reliability(confidence, correct)


def test_the_sentence_names_the_telling_bin_and_its_verdict():
    # 100 answers at 0.9 sure, 97 right: underconfident; 2 answers at 0.55, both wrong (a bigger gap, but too few).
    confidence = np.array([0.9] * 100 + [0.55] * 2)
    correct = np.array([True] * 97 + [False] * 3 + [False] * 2)
    result = calibration.reliability(confidence, correct)
    assert calibration.telling_bin(result) == 8
    sentence = calibration.gap_sentence(result, "this model")
    assert sentence.startswith("When this model says about 90 %") or sentence.startswith("When this model says about 90%")
    assert "right 97%" in sentence and "underconfident" in sentence


def test_an_overconfident_model_is_called_so():
    result = calibration.reliability(np.full(50, 0.99), np.array([True] * 40 + [False] * 10))
    sentence = calibration.gap_sentence(result)
    assert "right 80%" in sentence and "overconfident" in sentence
