"""Runs page (AppTest): lists cached runs; an empty cache says how to start."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core import cache
from tests.helpers import REPO


def _app():
    return AppTest.from_file(str(REPO / "dashboard" / "app_pages" / "runs.py"), default_timeout=120)


def test_empty_cache_says_how_to_start(cache_dir):
    at = _app()
    at.run()
    assert not at.exception
    assert any("No model has been trained yet" in info.value for info in at.info)


def test_lists_every_cached_run(cache_dir, tiny_mlp):
    cache.get_or_train(tiny_mlp)
    at = _app()
    at.run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame["key"]) == [tiny_mlp.key()]
    assert at.metric[0].value == "1"


def test_the_table_is_built_from_the_summaries_and_a_row_links_to_its_page(cache_dir, tiny_mlp):
    cache.get_or_train(tiny_mlp)
    at = _app()
    at.run()
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["key", "description", "test_accuracy", "val_accuracy", "epochs_run", "train_seconds", "params", "size_mb", "created"]
    summary = cache.list_runs()[0]
    assert frame.iloc[0]["description"] == summary.description and frame.iloc[0]["params"] == summary.params
    assert [s.value for s in at.subheader][0] == "Background trainings"  # the jobs section stays at the top


def test_run_table_keeps_the_columns_the_other_pages_read(cache_dir, tiny_mlp):
    from dashboard import resources

    assert resources.run_table().empty
    cache.get_or_train(tiny_mlp)
    table = resources.run_table()
    assert list(table["key"]) == [tiny_mlp.key()]
    for column in ("task", "arch", "layers", "units", "learning_rate", "val_accuracy", "created", "size_mb", "last_used"):
        assert column in table.columns
    assert str(table["last_used"].dtype).startswith("datetime64")
