"""What tests and benchmarks share: the app on a free port (AppServer), Chromium's flags, waiting
for a Streamlit run to finish, training into a cache from a subprocess. No pytest fixtures here
(those live in conftest.py); importing this module sets nothing in the environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUT_DIR = REPO / "test-output"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """`streamlit run dashboard/app.py` on a free localhost port, with its own cache folder.

    `env` adds to (or overrides) the inherited environment, e.g. {"NEURAL_LAB_JOB_WORKERS": "1"}; `script`
    runs another Streamlit script than the app.
    `start()` = `launch()` + `wait_healthy()`; launch several, then wait, to start them side by side.
    """

    def __init__(self, cache: Path, env: dict[str, str] | None = None, script: Path = REPO / "dashboard" / "app.py"):
        self.cache = cache
        self.script = script  # another Streamlit script (e.g. tests/network_page.py) on the same terms
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
            sys.executable, "-m", "streamlit", "run", str(self.script),
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

    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache))
    result = subprocess.run(
        [sys.executable, "-m", "core", "train", *args, "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_for(condition, what: str, timeout: float = 300.0):
    """Poll `condition` until it returns something truthy (returned), else fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")


# Points of the first trace (train loss) of the first chart: on the Train page, the loss curve.
POINTS_JS = """() => {
  const chart = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
  if (!chart) return -1;
  const trace = chart.querySelector('.scatterlayer .trace');
  return trace ? trace.querySelectorAll('path.point').length : 0;
}"""


def write_listed_entry(config, accuracy: float | None, params: int = 1000, seconds: float = 1.0) -> str:
    """A cache entry (in the cache NEURAL_LAB_CACHE_DIR names) that lists like a real one: meta.json and
    config.json, a placeholder model. For listings only (Runs page, "What mattered"): never load it."""
    from core import cache
    from core.config import SCHEMA_VERSION

    folder = cache.entry_path(config.key())
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    (folder / "history.json").write_text("{}")
    (folder / "model.keras").write_bytes(b"x")
    meta = {"schema": SCHEMA_VERSION, "description": config.describe(), "created": "2026-01-01T00:00:00",
            "params": params, "train_seconds": seconds}
    if accuracy is not None:
        meta["test_accuracy"] = accuracy
    (folder / "meta.json").write_text(json.dumps(meta))
    return config.key()
