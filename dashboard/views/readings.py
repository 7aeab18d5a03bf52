"""The reading of a result: 1-3 plain sentences under the curves (rules in core/readings.py, words here).

`render_readings(history, ...)` goes under a run's learning curves (Train page); `render_weak_spots(matrix)`
under a confusion matrix (Misclassified digits). Both draw nothing when there is nothing to say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import streamlit as st

from core import readings
from core.readings import Finding

TOY_LOW_ACCURACY = 0.75  # toy classes overlap (XOR's best is ~90 % on fresh points): "low" starts lower


def sentence(finding: Finding, task: str = "mnist") -> str:
    """A finding in plain words, with what to try next."""
    values = finding.values
    if finding.rule == "learning_rate_too_high":
        if values.get("nan"):
            return (
                f"**The learning rate is too high:** the {'validation ' if values['metric'] == 'val_loss' else ''}loss blew up "
                f"to infinity (NaN) at epoch {finding.epoch}, so nothing after it means anything. Try a learning rate 10x smaller."
            )
        if "peak" in values:
            return (
                f"**The learning rate is too high:** the training loss shot up to {values['peak']:.3g} at epoch {finding.epoch} "
                "(a guess scores about 2.3): the steps overshot and the network never recovered. Try a learning rate 10x smaller."
            )
        return (
            f"**The learning rate looks too high:** the training loss ended higher ({values['last']:.3g}) than it started "
            f"({values['first']:.3g}); each step overshoots. Try a learning rate 10x smaller."
        )
    if finding.rule == "overfitting":
        gap = values.get("gap", 0.0)
        where = f" Validation loss was best at epoch {finding.epoch}." if finding.epoch else ""
        gap_text = (
            f"training accuracy is {gap * 100:.1f} points above validation" if gap > readings.GAP_POINTS
            else f"validation loss has risen {values['val_loss_rise']:.0%} from its best"
        )
        return (
            f"**Overfitting:** {gap_text}: the network is memorising the training {'points' if task == 'toy' else 'digits'}."
            f"{where} Try dropout, a little L2, early stopping or fewer epochs."
        )
    if finding.rule == "underfitting":
        level = f"train {values['train']:.0%}, validation {values['validation']:.0%}"
        if values.get("still_rising"):
            return (
                f"**Still learning:** both accuracies are low ({level}) and were still rising at the last epoch. "
                "Try more epochs, or a larger learning rate."
            )
        return (
            f"**Underfitting:** both accuracies are low ({level}) and have stopped rising: the model cannot fit even the "
            "training data. Try more units or layers, or another learning rate."
        )
    if finding.rule == "saturation":
        return (
            f"**Flat from epoch {finding.epoch}:** validation accuracy hardly moved over the last {values['spare_epochs']} "
            f"of {values['epochs']} epochs. Fewer epochs (or early stopping) would give the same model faster."
        )
    if finding.rule == "weak_spot":
        return (
            f"**Weak spot:** {values['count']} of the {values['total']} test {values['true']}s "
            f"({values['share']:.0%}) were read as {values['predicted']}. Click that cell of the confusion matrix to see them."
        )
    return finding.rule


def render_readings(
    history: Mapping[str, Sequence[float]] | None, confusion: np.ndarray | None = None, task: str = "mnist",
) -> list[Finding]:
    """Up to three sentences about a result (history and, optionally, a confusion matrix); returns the findings."""
    low = TOY_LOW_ACCURACY if task == "toy" else readings.LOW_ACCURACY
    findings = readings.read(history, confusion, low=low)
    if not findings:
        return []
    with st.container(border=True):
        st.markdown("**Reading this result**")
        for finding in findings:
            st.markdown(f"- {sentence(finding, task)}")
    return findings


def render_weak_spots(confusion: np.ndarray) -> list[Finding]:
    """The classes most often mistaken for one other class (from a confusion matrix), as sentences."""
    findings = readings.weak_spots(confusion)
    for finding in findings:
        st.caption(sentence(finding))
    return findings
