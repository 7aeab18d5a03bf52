"""Runs page (AppTest): lists cached runs, filters them, hints, and keeps server paths from visitors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from core.config import SCHEMA_VERSION, RunConfig
from dashboard.views.runs import COLUMNS, filter_runs
from tests.helpers import REPO

SECRET = "correct horse battery staple"


def _app():
    return AppTest.from_file(str(REPO / "dashboard" / "app_pages" / "runs.py"), default_timeout=120)


def fake_run(units: int, accuracy: float | None, description: str) -> str:
    """An entry that lists like a real one (the Runs page never loads its model)."""
    config = RunConfig(arch="mlp", layers=1, units=units, epochs=1)
    folder = cache.entry_path(config.key())
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    (folder / "history.json").write_text("{}")
    (folder / "model.keras").write_bytes(b"x")
    meta = {"schema": SCHEMA_VERSION, "description": description, "created": f"2026-01-{units % 28 + 1:02d}T00:00:00"}
    if accuracy is not None:
        meta["test_accuracy"] = accuracy
    (folder / "meta.json").write_text(json.dumps(meta))
    return config.key()


def test_empty_cache_says_how_to_start(cache_dir):
    at = _app()
    at.run()
    assert not at.exception
    assert any("No model is in the cache" in info.value for info in at.info)


def test_lists_every_cached_run_name_first_key_last(cache_dir, tiny_mlp):
    cache.get_or_train(tiny_mlp)
    at = _app()
    at.run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame.columns) == COLUMNS and COLUMNS[0] == "description" and COLUMNS[-1] == "key"
    assert list(frame["key"]) == [tiny_mlp.key()]
    summary = cache.list_runs()[0]
    assert frame.iloc[0]["description"] == summary.description
    assert [s.value for s in at.subheader][0] == "Background trainings"  # the jobs section stays at the top
    assert any("Select a run" in info.value for info in at.info)  # the hint while nothing is selected


def test_filter_keeps_the_rows_that_match_text_and_accuracy():
    table = pd.DataFrame({
        "description": ["MLP 1x16 relu", "CNN 32-64 dropout 0.3", "MLP 2x128 tanh", "toy xor"],
        "key": ["a" * 16, "b" * 16, "c" * 16, "d" * 16],
        "test_accuracy": [0.91, 0.99, 0.97, None],
    })
    assert list(filter_runs(table)["key"]) == list(table["key"])
    assert list(filter_runs(table, "mlp")["key"]) == ["a" * 16, "c" * 16]
    assert list(filter_runs(table, "  MLP   tanh ")["key"]) == ["c" * 16]  # every word, any case
    assert list(filter_runs(table, "bbbb")["key"]) == ["b" * 16]  # the key matches too
    assert list(filter_runs(table, "", (95, 100))["key"]) == ["b" * 16, "c" * 16]  # no accuracy: out of a narrowed range
    assert filter_runs(table, "mlp", (98, 100)).empty


def test_the_filter_filters_and_says_when_nothing_matches(cache_dir):
    fake_run(16, 0.91, "MLP 1x16 relu")
    fake_run(32, 0.97, "MLP 1x32 tanh")
    at = _app()
    at.run()
    assert len(at.dataframe[0].value) == 2
    at.text_input(key="runs_filter").input("tanh").run()
    assert not at.exception
    assert list(at.dataframe[0].value["description"]) == ["MLP 1x32 tanh"]
    assert any("Showing 1 of 2" in caption.value for caption in at.caption)
    at.text_input(key="runs_filter").input("nothing like this").run()
    assert len(at.dataframe) == 0
    assert any("No run matches" in warning.value for warning in at.warning)
    assert at.text_input(key="runs_filter").value == "nothing like this"  # the filter stays, to be changed
    at.text_input(key="runs_filter").input("").run()
    at.slider(key="runs_accuracy").set_value((95, 100)).run()
    assert list(at.dataframe[0].value["description"]) == ["MLP 1x32 tanh"]


def test_personal_mode_shows_the_cache_folder_the_trash_and_the_audit_log(cache_dir):
    from core import audit, trash

    fake_run(16, 0.9, "MLP 1x16 relu")
    gone = fake_run(32, 0.8, "MLP 1x32 relu")
    trash.move_run(gone)
    audit.record("delete-runs", [gone], session="s1", mode="personal", role="owner")
    at = _app()
    at.run()
    assert any(str(cache_dir) in caption.value for caption in at.caption)
    assert "Trash" in [s.value for s in at.subheader]
    assert any("MLP 1x32 relu" in markdown.value for markdown in at.markdown)  # listed in the trash
    log = at.dataframe[1].value
    assert list(log["action"]) == ["delete-runs"] and list(log["what"]) == [gone]
    at.button(key=[b.key for b in at.button if b.key and b.key.startswith("restore_")][0]).click().run()
    assert not at.exception
    assert sorted(at.dataframe[0].value["description"]) == ["MLP 1x16 relu", "MLP 1x32 relu"]  # back in the table
    assert audit.tail(1)[0]["action"] == "restore"


def test_a_visitor_on_a_shared_server_sees_no_server_path_and_no_trash(cache_dir, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_ADMIN_SECRET", SECRET)
    fake_run(16, 0.9, "MLP 1x16 relu")
    at = _app()
    at.run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 1  # the runs as before
    page_text = " ".join(element.value for element in [*at.caption, *at.markdown, *at.info])
    assert str(cache_dir) not in page_text
    assert "Trash" not in [s.value for s in at.subheader]
    assert any("need the admin secret" in caption.value for caption in at.caption)


def test_the_admin_signs_in_and_sees_the_trash_and_the_folder(cache_dir, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_ADMIN_SECRET", SECRET)
    fake_run(16, 0.9, "MLP 1x16 relu")
    at = _app()
    at.run()
    at.text_input(key="admin_secret_input").input(SECRET)
    at.button(key="admin_sign_in_submit").click().run()
    assert not at.exception
    assert "Trash" in [s.value for s in at.subheader]
    assert any(str(cache_dir) in caption.value for caption in at.caption)
    assert SECRET not in str([element.value for element in at.text_input])  # never echoed


@pytest.mark.parametrize("value", ["", "   ", "short"])
def test_an_empty_or_short_secret_refuses_shared_mode_and_deletes_nothing(cache_dir, monkeypatch, value):
    monkeypatch.setenv("NEURAL_LAB_ADMIN_SECRET", value)
    fake_run(16, 0.9, "MLP 1x16 relu")
    at = _app()
    at.run()
    assert not at.exception
    assert any("shared mode is refused" in error.value for error in at.error)
    assert "Trash" not in [s.value for s in at.subheader]  # no silent fall back to personal mode


def test_a_secret_in_the_address_is_ignored_and_warned(cache_dir, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_ADMIN_SECRET", SECRET)
    at = _app()
    at.query_params["admin_secret"] = SECRET
    at.run()
    assert any("secret in the address is ignored" in warning.value for warning in at.warning)
    assert "Trash" not in [s.value for s in at.subheader]  # it did not sign anyone in
    assert "admin_secret" not in at.query_params


def test_run_table_keeps_the_columns_the_other_pages_read(cache_dir, tiny_mlp):
    from dashboard import resources

    assert resources.run_table().empty
    cache.get_or_train(tiny_mlp)
    table = resources.run_table()
    assert list(table["key"]) == [tiny_mlp.key()]
    for column in ("task", "arch", "layers", "units", "learning_rate", "val_accuracy", "created", "size_mb", "last_used"):
        assert column in table.columns
    assert str(table["last_used"].dtype).startswith("datetime64")
