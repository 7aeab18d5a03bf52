"""Runs page (AppTest): lists cached runs; an empty cache says how to start."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core import cache
from tests.conftest import REPO


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
