"""A light load test in real browsers: while two students press Train on the same new combination,
a third opens cached runs on the other pages. No error element appears and nothing trains twice.
(The heavy version with page latencies and the server's RSS is bench/load.py.)"""

from __future__ import annotations

import os
import re
import urllib.parse

import pytest

from core.config import RunConfig
from dashboard.state import full_params
from tests.conftest import train_in_subprocess, wait_for_app

ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
RUNNING_JS = ("() => { const s = document.querySelector('[data-testid=stStatusWidget]');"
              " return !!s && s.innerText.includes('Running'); }")


def query(config: RunConfig) -> str:
    return urllib.parse.urlencode(full_params(config))


@pytest.mark.browser
def test_two_trainers_and_a_reader_at_once(app_server, browser, browser_cache, output_dir):
    cached = RunConfig(layers=1, units=10, epochs=1, batch_size=512)
    train_in_subprocess(browser_cache, "--layers", "1", "--units", "10", "--epochs", "1", "--batch-size", "512")
    new = RunConfig(layers=1, units=24, epochs=3, batch_size=256, seed=int.from_bytes(os.urandom(3), "little"))

    log_start = len(app_server.log.read_text())
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(3)]
    trainers, reader = [c.new_page() for c in contexts[:2]], contexts[2].new_page()
    for page in (*trainers, reader):
        page.set_default_timeout(120_000)
    try:
        for page in trainers:
            page.goto(f"{app_server.url}/?{query(new)}")  # Train is the default page: its address is /
            wait_for_app(page)
        for page in trainers:  # both press within a moment of each other
            page.locator("[data-testid=stSidebar]").get_by_role("button", name="Train / load").click()

        errors = {}
        for name, address in (
            ("runs", "/runs"), ("explorer", f"/explorer?{query(cached)}"), ("draw", f"/draw?run={cached.key()}"),
            ("train-cached", f"/?{query(cached)}"), ("boundary", "/boundary"),
        ):
            reader.goto(app_server.url + address)
            wait_for_app(reader, timeout=180_000)
            errors[name] = reader.locator(ERRORS).count()
            reader.screenshot(path=str(output_dir / f"load-reader-{name}.png"), full_page=True)

        outcomes = []
        for index, page in enumerate(trainers):
            page.wait_for_function(f"() => !({RUNNING_JS})()", timeout=300_000, polling=250)
            page.get_by_text(re.compile(r"Trained in .* and cached|Loaded")).first.wait_for(timeout=120_000)
            page.screenshot(path=str(output_dir / f"load-trainer-{index}.png"), full_page=True)
            text = page.locator("[data-testid=stMain]").inner_text()
            errors[f"trainer-{index}"] = page.locator(ERRORS).count()
            outcomes.append("trained" if re.search(r"Trained in .* and cached", text) else "loaded")
    finally:
        for context in contexts:
            context.close()

    assert errors == dict.fromkeys(errors, 0), errors
    assert sorted(outcomes) == ["loaded", "trained"], outcomes
    entries = [p for p in browser_cache.iterdir() if p.name == new.key()]
    assert len(entries) == 1 and (entries[0] / "meta.json").is_file()
    assert "Traceback" not in app_server.log.read_text()[log_start:]
