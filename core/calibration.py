"""Calibration: does "90 % sure" mean "right 90 % of the time"?

Pure numpy. A model's top-1 confidences are put into equal-width bins over [0, 1]; in each bin
the accuracy (share of right answers) is compared with the mean confidence. The reliability
diagram draws one against the other; a perfectly calibrated model sits on the diagonal. The
expected calibration error (ECE, Guo et al. 2017) is the gap |accuracy - confidence| of each
bin, weighted by the share of predictions that fall in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BINS = 10


@dataclass(frozen=True)
class Reliability:
    """Per-bin statistics of a reliability diagram.

    edges (bins + 1,); counts, confidence, accuracy (bins,): how many predictions fell into each
    bin, their mean confidence and their accuracy (NaN for an empty bin); ece and mce (the
    largest gap of a non-empty bin) as fractions; overall mean confidence and accuracy.
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float
    mce: float
    mean_confidence: float
    overall_accuracy: float

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def gaps(self) -> np.ndarray:
        """accuracy - confidence per bin (positive: underconfident there; NaN for an empty bin)."""
        return self.accuracy - self.confidence


def bin_index(confidence: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """The bin of each confidence: bin b holds (b/bins, (b+1)/bins]; 0 goes to the first bin, 1 to the last."""
    confidence = np.asarray(confidence, dtype=np.float64)
    # The tolerance keeps a confidence sitting on an edge in the bin below it despite rounding (0.7 * 10 = 7.000000000000001).
    return np.clip(np.ceil(confidence * bins - 1e-9).astype(np.int64) - 1, 0, bins - 1)


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = DEFAULT_BINS) -> Reliability:
    """Reliability statistics of predictions given their confidence in [0, 1] and whether each was right.

    Raises ValueError for mismatched lengths, confidences outside [0, 1] (or not finite), or bins < 1.
    With no predictions at all, every bin is empty and ece = mce = 0.
    """
    confidence = np.asarray(confidence, dtype=np.float64).ravel()
    correct = np.asarray(correct).ravel().astype(bool)
    if bins < 1:
        raise ValueError(f"bins={bins}: need at least one bin")
    if confidence.shape != correct.shape:
        raise ValueError(f"{len(confidence)} confidences but {len(correct)} right/wrong answers")
    if len(confidence) and (not np.all(np.isfinite(confidence)) or confidence.min() < 0 or confidence.max() > 1):
        raise ValueError("confidences must be probabilities in [0, 1]")
    index = bin_index(confidence, bins)
    counts = np.bincount(index, minlength=bins).astype(np.int64)
    confidence_sum = np.bincount(index, weights=confidence, minlength=bins)
    correct_sum = np.bincount(index, weights=correct.astype(np.float64), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.where(counts > 0, confidence_sum / counts, np.nan)
        accuracy = np.where(counts > 0, correct_sum / counts, np.nan)
    total = int(counts.sum())
    gaps = np.abs(accuracy - mean_confidence)
    filled = counts > 0
    ece = float(np.sum(counts[filled] * gaps[filled]) / total) if total else 0.0
    mce = float(gaps[filled].max()) if filled.any() else 0.0
    return Reliability(
        edges=np.linspace(0.0, 1.0, bins + 1), counts=counts, confidence=mean_confidence, accuracy=accuracy, ece=ece, mce=mce,
        mean_confidence=float(confidence.mean()) if total else float("nan"),
        overall_accuracy=float(correct.mean()) if total else float("nan"),
    )


def from_probabilities(probabilities: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS) -> Reliability:
    """Reliability of a classifier's (N, classes) probabilities against true labels (top-1 confidence)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels).ravel()
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(f"probabilities {probabilities.shape} do not match {len(labels)} labels")
    if len(labels) == 0:
        return reliability(np.zeros(0), np.zeros(0, dtype=bool), bins)
    return reliability(probabilities.max(axis=1), probabilities.argmax(axis=1) == labels, bins)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS) -> float:
    """ECE as a fraction (0 = perfectly calibrated) of (N, classes) probabilities against true labels."""
    return from_probabilities(probabilities, labels, bins).ece


def telling_bin(result: Reliability, minimum_share: float = 0.02, meaningful_gap: float = 0.03) -> int | None:
    """The bin that says most about the model: among bins holding at least `minimum_share` of the predictions
    and missing the diagonal by at least `meaningful_gap`, the largest contribution to the ECE (count x gap);
    when no bin misses by that much, the fullest bin (the model is well calibrated where it answers most).
    None when all bins are empty."""
    if result.total == 0:
        return None
    share = result.counts / result.total
    gaps = np.abs(np.nan_to_num(result.gaps))
    contribution = np.where((result.counts > 0) & (share >= minimum_share) & (gaps >= meaningful_gap), result.counts * gaps, -1.0)
    if contribution.max() <= 0:
        return int(np.argmax(result.counts))
    return int(np.argmax(contribution))


def gap_sentence(result: Reliability, name: str = "this model") -> str:
    """One sentence saying what the gap means, e.g. "When this model says 85 %, it is right 97 % of the time
    (underconfident there)" for the bin that says most (see `telling_bin`)."""
    chosen = telling_bin(result)
    if chosen is None:
        return f"There are no predictions to judge {name} by."
    said, right = result.confidence[chosen], result.accuracy[chosen]
    low, high = result.edges[chosen], result.edges[chosen + 1]
    gap = right - said
    if abs(gap) < 0.03:
        verdict = "well calibrated there"
    elif gap > 0:
        verdict = "underconfident there: it is right more often than it claims"
    else:
        verdict = "overconfident there: it claims more than it delivers"
    return (
        f"When {name} says about {said:.0%} (its {int(result.counts[chosen]):,} answers between {low:.0%} and {high:.0%} sure), "
        f"it is right {right:.0%} of the time: {verdict}."
    )
