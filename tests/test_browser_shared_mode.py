"""Shared mode in a real browser: a server started with NEURAL_LAB_ADMIN_SECRET. A visitor cannot
delete (the page says why); the admin signs in, deletes after confirming, the runs land in the
trash, Restore brings one back and it opens on the Train page; a wrong secret is refused and a
few wrong tries in a row are slowed down. The tests run in file order on one server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import REPO, AppServer, wait_for_app

pytestmark = pytest.mark.browser

SECRET = "correct horse battery staple"
SLOW = 240_000  # ms: a first page imports TensorFlow; the test machine may be busy


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """(server, cache): two tiny cached MNIST runs, a server in shared mode."""
    cache = Path(tempfile.mkdtemp(prefix="neural-lab-shared-"))
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache))
    grid = ["pretrain", "--quiet", "--grid", "units=8,16", "--layers", "1", "--epochs", "1", "--batch-size", "256"]
    subprocess.run([sys.executable, "-m", "core", *grid], cwd=REPO, env=env, check=True, capture_output=True, timeout=600)
    # A long first wait after wrong tries: the last test's "right secret at once" is surely inside it.
    server = AppServer(cache, env={"NEURAL_LAB_ADMIN_SECRET": SECRET, "NEURAL_LAB_ADMIN_WAIT_SECONDS": "600"}).start()
    yield server, cache
    server.stop()


def entries(cache: Path) -> set[str]:
    return {p.name for p in cache.iterdir() if p.is_dir() and re.fullmatch(r"[0-9a-f]{16}", p.name)}


def trashed(cache: Path) -> set[str]:
    folder = cache / ".trash"
    return {p.name for p in folder.iterdir() if p.name.startswith("run--")} if folder.is_dir() else set()


def open_runs(page, server) -> None:
    page.set_default_timeout(SLOW)
    page.goto(f"{server.url}/runs")
    wait_for_app(page, SLOW)
    page.locator("[data-testid=stDataFrame]").wait_for()


def tick(page, row: int | None = None) -> None:
    """Tick a row's selection box in the runs table (None: the header's select-all box)."""
    box = page.locator("[data-testid=stDataFrame]").first.bounding_box()
    y = 18 if row is None else 35 + 35 * row + 18  # header and rows are 35 px high
    page.mouse.click(box["x"] + 15, box["y"] + y)
    wait_for_app(page, SLOW)


def sign_in(page, secret: str) -> None:
    field = page.get_by_label("Admin secret", exact=True)
    if not field.is_visible():
        page.get_by_text("Admin (teacher)").click()
    field.fill(secret)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page, SLOW)


def test_a_visitor_selects_every_run_and_presses_delete_and_nothing_is_deleted(shared, page, output_dir):
    server, cache = shared
    before = entries(cache)
    assert len(before) == 2
    open_runs(page, server)
    assert str(cache) not in page.inner_text("body")  # no server path for visitors
    page.get_by_text("need the admin secret").first.wait_for()
    tick(page)
    page.get_by_role("button", name="Delete 2 run(s)").click()
    page.get_by_text("Nothing was deleted: deleting runs on this shared server needs the admin secret").wait_for()
    page.screenshot(path=str(output_dir / "safety-visitor-delete-refused.png"), full_page=True)
    assert entries(cache) == before and not trashed(cache)
    assert page.get_by_role("button", name=re.compile("Yes, delete")).count() == 0
    assert page.get_by_text("Trash", exact=True).count() == 0


def test_the_admin_deletes_after_confirming_restores_one_and_it_opens_on_train(shared, page, output_dir):
    server, cache = shared
    before = entries(cache)
    open_runs(page, server)
    sign_in(page, SECRET)
    page.get_by_text("Signed in as admin").wait_for()
    assert SECRET not in page.content()  # never echoed
    tick(page)
    page.get_by_role("button", name="Delete 2 run(s)").click()
    page.get_by_role("button", name="Yes, delete 2 run(s)").wait_for()
    assert entries(cache) == before  # nothing before the confirmation
    page.screenshot(path=str(output_dir / "safety-admin-confirm.png"), full_page=True)
    page.get_by_role("button", name="Yes, delete 2 run(s)").click()
    page.get_by_text("Moved 2 run(s) to the trash").wait_for()
    assert entries(cache) == set() and {name.split("--")[1] for name in trashed(cache)} == before
    lines = [json.loads(line) for line in (cache / "audit.log").read_text().splitlines()]
    deletion = [line for line in lines if line["action"] == "delete-runs"][-1]
    assert set(deletion["keys"]) == before and deletion["mode"] == "shared" and deletion["role"] == "admin"
    page.screenshot(path=str(output_dir / "safety-admin-trash.png"), full_page=True)

    page.get_by_role("button", name="Restore").first.click()
    page.get_by_text(re.compile("Restored the model")).wait_for()
    assert len(entries(cache)) == 1 and len(trashed(cache)) == 1
    page.locator("[data-testid=stDataFrame]").first.wait_for()
    tick(page, 0)
    page.get_by_role("link", name="Open on Train").click()
    wait_for_app(page, SLOW)
    page.get_by_text(re.compile("Loaded from cache")).first.wait_for()
    assert "/train" in page.url and page.locator("[data-testid=stException]").count() == 0
    page.screenshot(path=str(output_dir / "safety-restored-on-train.png"), full_page=True)


def test_a_wrong_secret_is_refused_and_wrong_tries_in_a_row_are_slowed_down(shared, page):
    server, cache = shared
    open_runs(page, server)
    for _ in range(3):
        sign_in(page, "not the secret at all")
        page.get_by_text("That is not the admin secret").first.wait_for()
    page.get_by_text(re.compile(r"slowed down: wait \d+ s")).first.wait_for()
    sign_in(page, SECRET)  # at once: even the right secret waits its turn
    page.get_by_text(re.compile(r"Too many wrong tries in a row: wait \d+ s")).first.wait_for()
    assert page.get_by_text("Signed in as admin").count() == 0
    refused = [json.loads(line) for line in (cache / "audit.log").read_text().splitlines() if "sign-in-refused" in line]
    assert len(refused) >= 3 and all(SECRET not in json.dumps(line) for line in refused)
