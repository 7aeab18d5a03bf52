"""Shared fixtures. Every test runs offline, on the embedded data, with a temporary cache.

The environment is set at import time, before any project module reads it, so that even
subprocesses (CLI tests, the Streamlit server) inherit the temporary cache and never write
into the real `cached_models/`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, OUTPUT_DIR, AppServer

SESSION_CACHE = Path(tempfile.mkdtemp(prefix="neural-lab-test-cache-"))
os.environ["NEURAL_LAB_CACHE_DIR"] = str(SESSION_CACHE)
os.environ["NEURAL_LAB_USER_DIGITS_DIR"] = str(SESSION_CACHE.parent / (SESSION_CACHE.name + "-digits"))
os.environ["NEURAL_LAB_OFFLINE"] = "1"
# Tiny test trainings take seconds: under the default time budget they would record only their first and last
# epochs; tests check every epoch's record (tests/test_snapshots.py tests the budget itself).
os.environ["NEURAL_LAB_RECORD_BUDGET"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_HOME", str(SESSION_CACHE.parent / (SESSION_CACHE.name + "-keras")))


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_CACHE, ignore_errors=True)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A fresh, empty cache for one test (in-process and for subprocesses it starts)."""
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def count_trainings(monkeypatch):
    """Counts real trainings done through the cache."""
    calls = []
    import core.cache as cache

    real_train = cache.train

    def counting(config, *args, **kwargs):
        calls.append(config.key())
        return real_train(config, *args, **kwargs)

    monkeypatch.setattr(cache, "train", counting)
    return calls


@pytest.fixture
def tiny_mlp():
    """A config that trains in about a second on the embedded data."""
    from core.config import RunConfig

    return RunConfig(arch="mlp", layers=1, units=16, epochs=2, batch_size=256)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


# -- the app in a real browser ----------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_cache() -> Path:
    """The cache folder the browser tests' server uses (tests pre-train into it)."""
    folder = Path(tempfile.mkdtemp(prefix="neural-lab-browser-cache-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def app_server(browser_cache):
    server = AppServer(browser_cache).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright. Skipped outside CI when missing; with CI set, a missing browser fails."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, output_dir, request):
    """A fresh browser page (1400x1000); a screenshot is saved to test-output/ when the test ends."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    with contextlib.suppress(Exception):
        tab.screenshot(path=str(output_dir / f"{request.node.name}.png"), full_page=True)
    context.close()


# The app root carries the script's run state: "initial" until the first run starts, then
# "running" / "notRunning" (also "rerunRequested", "stopRequested", "compilationError").
def pytest_collection_modifyitems(config, items):
    """Browser tests drive a real server and Chromium on a shared 2-core machine: a timing hiccup
    there gets one retry (pytest-rerunfailures). Unit and AppTest tests never retry. With
    `-p no:rerunfailures` (to see every first-try failure) nothing is marked."""
    if not config.pluginmanager.hasplugin("rerunfailures"):
        return
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))
