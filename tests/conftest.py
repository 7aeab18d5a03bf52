"""Shared fixtures. Every test runs offline, on the embedded data, with a temporary cache.

The environment is set at import time, before any project module reads it, so that even
subprocesses (CLI tests, the Streamlit server) inherit the temporary cache and never write
into the real `cached_models/`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SESSION_CACHE = Path(tempfile.mkdtemp(prefix="neural-lab-test-cache-"))
os.environ["NEURAL_LAB_CACHE_DIR"] = str(SESSION_CACHE)
os.environ["NEURAL_LAB_USER_DIGITS_DIR"] = str(SESSION_CACHE.parent / (SESSION_CACHE.name + "-digits"))
os.environ["NEURAL_LAB_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_HOME", str(SESSION_CACHE.parent / (SESSION_CACHE.name + "-keras")))

OUTPUT_DIR = REPO / "test-output"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


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


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """`streamlit run dashboard/app.py` on a free localhost port, with its own cache folder.

    `env` adds to (or overrides) the inherited environment, e.g. {"NEURAL_LAB_JOB_WORKERS": "1"}.
    `start()` = `launch()` + `wait_healthy()`; launch several, then wait, to start them side by side.
    """

    def __init__(self, cache: Path, env: dict[str, str] | None = None):
        self.cache = cache
        self.env = dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = OUTPUT_DIR / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server was not launched"
        return self.process.pid

    def launch(self) -> AppServer:
        OUTPUT_DIR.mkdir(exist_ok=True)
        env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(self.cache), **self.env)
        command = [
            sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard" / "app.py"),
            "--server.headless", "true", "--server.port", str(self.port), "--server.address", "127.0.0.1",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        ]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        return self

    def health(self) -> int | None:
        """The HTTP status of /_stcore/health (None when the server does not answer)."""
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=5) as response:
                return response.status
        except OSError:
            return None

    def wait_healthy(self, timeout: float = 90) -> AppServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early; see {self.log}:\n{self.log.read_text()[-2000:]}")
            if self.health() == 200:
                return self
            time.sleep(0.5)
        raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s; see {self.log}")

    def start(self) -> AppServer:
        return self.launch().wait_healthy()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


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
APP_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  const status = document.querySelector('[data-testid=stStatusWidget]');
  return !status || !status.innerText.includes('Running');
}"""


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has run the page's script at least once and is not running it now.

    Checking only the status widget's "Running" returned before the first run had even started
    (the widget is absent then), so a test could click a form that was not drawn yet. A page that
    watches a background job reruns a fragment every 0.5 s; those runs are short, so an idle
    moment comes within a frame or two.
    """
    page.wait_for_selector("[data-testid=stApp]", timeout=timeout)
    page.wait_for_function(APP_IDLE_JS, timeout=timeout)


def train_in_subprocess(cache: Path, *args: str) -> dict:
    """Run `python -m core train ... --json` against `cache` and return its JSON line."""
    import json

    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache))
    result = subprocess.run(
        [sys.executable, "-m", "core", "train", *args, "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def pytest_collection_modifyitems(config, items):
    """Browser tests drive a real server and Chromium on a shared 2-core machine: a timing hiccup
    there gets one retry (pytest-rerunfailures). Unit and AppTest tests never retry. With
    `-p no:rerunfailures` (to see every first-try failure) nothing is marked."""
    if not config.pluginmanager.hasplugin("rerunfailures"):
        return
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))
