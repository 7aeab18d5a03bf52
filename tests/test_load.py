"""A light load test in real browsers: while two students press Train on the same new combination,
a third opens cached runs on every page. Both trainers watch the same background job (one job
record, one cache entry: one says it trained, the other that it loaded what was trained), no page
shows an error element and the server logs no traceback.
(The heavy version with page latencies and the server's RSS is bench/load.py.)"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse

import pytest

from core.config import RunConfig
from dashboard.state import full_params
from tests.helpers import train_in_subprocess, wait_for_app

ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
TRAINED = re.compile(r"Trained in [\d.]+ s in the background and cached")
LOADED = re.compile(r"Loaded from cache — trained")


def query(config: RunConfig) -> str:
    return urllib.parse.urlencode(full_params(config))


def wait_form(page) -> None:
    """The sidebar form is drawn (a form pressed before its sliders mount submits them at their minimum)."""
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stSidebar] [data-testid=stForm] [data-testid=stSlider]').length >= 5"
        " && !document.querySelector('[data-testid=stSidebar] [data-testid=stSkeleton]')"
    )


@pytest.mark.browser
def test_two_trainers_and_a_reader_at_once(app_server, browser, browser_cache, output_dir):
    cached = RunConfig(layers=1, units=10, epochs=1, batch_size=512)
    train_in_subprocess(browser_cache, "--layers", "1", "--units", "10", "--epochs", "1", "--batch-size", "512")
    # ~10 s of training: long enough for both trainers to see its panel, short for a test.
    new = RunConfig(layers=1, units=24, epochs=8, batch_size=16, seed=int.from_bytes(os.urandom(3), "little"))
    record = browser_cache / ".jobs" / f"{new.key()}.json"

    log_start = len(app_server.log.read_text())
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(3)]
    trainers, reader = [c.new_page() for c in contexts[:2]], contexts[2].new_page()
    for page in (*trainers, reader):
        page.set_default_timeout(120_000)
    try:
        for page in trainers:
            page.goto(f"{app_server.url}/train?{query(new)}")
            wait_for_app(page)
            wait_form(page)
        for page in trainers:  # both press within a moment of each other
            page.locator("[data-testid=stSidebar]").get_by_role("button", name="Train / load").click()
        panel = re.compile(rf"^(Training|Queued): {re.escape(new.describe())}$", re.MULTILINE)
        watched = []
        for page in trainers:  # each shows the job's panel (queued or training), or its result if it ended already
            page.get_by_text(re.compile(f"{panel.pattern}|{TRAINED.pattern}|{LOADED.pattern}")).first.wait_for(timeout=180_000)
            watched.append(bool(panel.search(page.locator("[data-testid=stMain]").inner_text())))
        submitted = json.loads(record.read_text())["submitted"]

        errors = {}
        for name, address in (
            ("runs", "/runs"), ("explorer", f"/explorer?{query(cached)}"), ("draw", f"/draw?run={cached.key()}"),
            ("train-cached", f"/train?{query(cached)}"), ("boundary", "/boundary"),
        ):
            reader.goto(app_server.url + address)
            wait_for_app(reader, timeout=180_000)
            errors[name] = reader.locator(ERRORS).count()
            reader.screenshot(path=str(output_dir / f"load-reader-{name}.png"), full_page=True)

        outcomes = []
        for index, page in enumerate(trainers):
            page.get_by_text(re.compile(f"{TRAINED.pattern}|{LOADED.pattern}")).first.wait_for(timeout=300_000)
            wait_for_app(page)
            page.screenshot(path=str(output_dir / f"load-trainer-{index}.png"), full_page=True)
            text = page.locator("[data-testid=stMain]").inner_text()
            errors[f"trainer-{index}"] = page.locator(ERRORS).count()
            outcomes.append("trained" if TRAINED.search(text) else "loaded")
    finally:
        for context in contexts:
            context.close()

    assert errors == dict.fromkeys(errors, 0), errors
    print(f"trainers watched the job: {watched}; outcomes: {outcomes}")
    assert all(watched), f"a trainer did not show the job's panel while it ran: {watched}"
    # One job: its record was written once (same submission time), trained once, for one of the two.
    job = json.loads(record.read_text())
    assert job["state"] == "done" and not job["cached"] and job["submitted"] == submitted, job
    assert sorted(outcomes) == ["loaded", "trained"], outcomes
    assert [p.name for p in browser_cache.iterdir() if p.name == new.key()] == [new.key()]
    assert (browser_cache / new.key() / "meta.json").is_file()
    assert sorted(p.name for p in (browser_cache / ".jobs").glob(f"*{new.key()}*.json")) == [f"{new.key()}.json"]
    assert time.time() - job["finished"] < 600
    assert "Traceback" not in app_server.log.read_text()[log_start:]
