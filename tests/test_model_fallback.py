"""Which model a page opens when its address names none (dashboard.resources.choose_model): pure, no Streamlit run."""

from __future__ import annotations

import pandas as pd

from dashboard.resources import ModelChoice, choice_note, choose_model

KEYS = ["a" * 16, "b" * 16, "c" * 16]


def runs(accuracies=(0.91, 0.97, 0.93), used=("2026-01-03", "2026-01-01", "2026-01-02")) -> pd.DataFrame:
    return pd.DataFrame({"key": KEYS, "test_accuracy": list(accuracies), "last_used": pd.to_datetime(list(used), utc=True),
                         "created": ["2025-12-01"] * 3})


def test_the_address_model_wins_when_cached():
    assert choose_model(runs(), wanted=KEYS[0], recent=KEYS[2]) == ModelChoice(KEYS[0], "address", 3)


def test_an_uncached_address_falls_back_to_the_session_model_then_the_most_accurate():
    assert choose_model(runs(), wanted="f" * 16, recent=KEYS[2]) == ModelChoice(KEYS[2], "recent", 3)
    assert choose_model(runs(), wanted="f" * 16, recent="e" * 16) == ModelChoice(KEYS[1], "best", 3)
    assert choose_model(runs(), wanted=None) == ModelChoice(KEYS[1], "best", 3)


def test_a_page_preference_comes_after_the_session_model_and_before_accuracy():
    assert choose_model(runs(), preferred=["f" * 16, KEYS[0]]).key == KEYS[0]
    assert choose_model(runs(), recent=KEYS[2], preferred=[KEYS[0]]).key == KEYS[2]


def test_ties_and_unknown_accuracy_go_to_the_most_recently_used():
    tied = runs(accuracies=(0.9, 0.9, None), used=("2026-01-01", "2026-01-05", "2026-01-09"))
    assert choose_model(tied).key == KEYS[1]  # the unknown accuracy (KEYS[2]) never beats a known one
    unknown = runs(accuracies=(None, None, None), used=("2026-01-01", "2026-01-02", "2026-01-03"))
    assert choose_model(unknown).key == KEYS[2]  # newest use


def test_nothing_cached_is_a_choice_of_none():
    assert choose_model(pd.DataFrame(columns=["key", "test_accuracy"])) == ModelChoice(None, "none", 0)
    assert not ModelChoice(None, "none", 0).fallback


def test_the_note_names_the_model_and_the_reason_only_for_a_fallback():
    assert choice_note(ModelChoice(KEYS[0], "address", 3), "seed001-cnn") == ""
    best = choice_note(ModelChoice(KEYS[1], "best", 9), "seed001-cnn")
    assert "**seed001-cnn**" in best and "most accurate of the 9 cached MNIST models" in best
    recent = choice_note(ModelChoice(KEYS[1], "recent", 9), "MLP 64", asked_for="the configuration MLP 3x7")
    assert recent.startswith("The address asks for the configuration MLP 3x7, which has no trained model yet")
    assert "the model you looked at last" in recent
