"""The start page (AppTest through dashboard/app.py): it is the landing page, it imports no TensorFlow,
its cards count as done for the session, and an old shared Train address is sent on to Train."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from core.learning_path import EXPERIMENTS
from dashboard import state
from dashboard.views import guide
from tests.helpers import REPO

APP = str(REPO / "dashboard" / "app.py")

# Run in a fresh interpreter: the start page's script run, through the real app.py, then report
# which heavy modules the process imported.
_FRESH_RUN = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
print(json.dumps({
    "exception": [e.message for e in at.exception],
    "titles": [t.value for t in at.title],
    "tensorflow": "tensorflow" in sys.modules,
    "keras": "keras" in sys.modules,
}))
"""


@pytest.fixture(autouse=True)
def one_worker(monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_JOB_WORKERS", "1")  # app.py starts the job runner; keep it small


def open_app(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    return at.run()


def test_the_start_page_is_the_landing_page_and_imports_no_tensorflow(cache_dir):
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_RUN, APP], cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["exception"] == [] and report["titles"] == ["Neural Lab"]
    assert not report["tensorflow"] and not report["keras"], "the start page's script run imported TensorFlow"


def test_every_card_has_a_link_a_question_and_a_done_box(cache_dir):
    at = open_app()
    assert not at.exception
    assert [c.label for c in at.checkbox] == ["Done"] * len(EXPERIMENTS)
    questions = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert questions == [f"#### {experiment.question}" for experiment in EXPERIMENTS]
    assert any(f"0 of {len(EXPERIMENTS)} experiments done" in p.proto.text for p in at.get("progress"))


def test_a_card_whose_page_does_not_train_links_to_training_each_model_it_shows(cache_dir):
    at = open_app()
    links = [(link.proto.page, link.proto.label, parse_qs(link.proto.query_string, keep_blank_values=True)) for link in at.get("page_link")]
    for experiment in EXPERIMENTS:
        opens = {name: [value] for name, value in guide.experiment_params(experiment).items()}
        train_links = [(label, query) for page, label, query in links if page == "train" and label != f"**{guide.OPEN_LABEL}**"]
        for needed in experiment.needs:
            wanted = {name: [value] for name, value in state.link_params("training", needed).items()}
            assert (guide.needs_label(experiment, needed), wanted) in train_links, experiment.slug
        assert (guide.URL_PATHS[experiment.page], f"**{guide.OPEN_LABEL}**", opens) in links, experiment.slug
    robustness = next(experiment for experiment in EXPERIMENTS if experiment.page == "robustness")
    assert [guide.needs_label(robustness, needed) for needed in robustness.needs] == [
        "Its CNN not trained yet? Train it first", "Its MLP not trained yet? Train it first"]


def test_checked_cards_are_kept_for_the_session_across_pages(cache_dir):
    at = open_app()
    at.checkbox[0].check().run()
    at.checkbox[3].check().run()
    assert at.session_state[guide.DONE_KEY] == {EXPERIMENTS[0].slug, EXPERIMENTS[3].slug}
    at.switch_page("app_pages/runs.py").run()
    assert not at.exception and [t.value for t in at.title] == ["Runs"]
    at.switch_page("app_pages/start.py").run()
    assert not at.exception
    assert [c.value for c in at.checkbox][:4] == [True, False, False, True]
    assert any(f"2 of {len(EXPERIMENTS)} experiments done" in p.proto.text for p in at.get("progress"))
    at.checkbox[0].uncheck().run()
    assert at.session_state[guide.DONE_KEY] == {EXPERIMENTS[3].slug}


def test_an_old_shared_train_address_opens_the_train_page_with_its_parameters(cache_dir):
    at = open_app({"layers": "3", "units": "32", "epochs": "4"})
    assert not at.exception
    assert [t.value for t in at.title] == ["Train a network"]
    assert dict(at.query_params) == {"layers": "3", "units": "32", "epochs": "4"}
    assert at.slider(key="hyperparameters-0:layers").value == 3
