"""dashboard/admin.py: the two modes, the secret check, the slow-down of wrong tries, who deletes which drawing."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import admin

SECRET = "correct horse battery staple"


def test_no_secret_is_personal_mode(monkeypatch):
    monkeypatch.setattr(admin, "_secrets_file_value", lambda: None)
    assert admin.configured_secret({}) is None


def test_a_secret_from_the_environment_is_shared_mode():
    assert admin.configured_secret({admin.ENV_NAME: f"  {SECRET} "}) == SECRET


@pytest.mark.parametrize("value, reason", [("", "empty"), ("    ", "empty"), ("abc123", "shorter than 12")])
def test_an_empty_or_short_secret_is_refused_with_a_clear_message(value, reason):
    with pytest.raises(admin.SecretProblem, match=reason) as error:
        admin.configured_secret({admin.ENV_NAME: value})
    assert "shared mode is refused" in str(error.value)
    assert not value.strip() or value not in str(error.value)  # the secret itself is never echoed


def test_the_secrets_file_is_read_when_the_environment_has_none(monkeypatch):
    monkeypatch.setattr(admin, "_secrets_file_value", lambda: SECRET)
    assert admin.configured_secret({}) == SECRET
    monkeypatch.setattr(admin, "_secrets_file_value", lambda: "tiny")
    with pytest.raises(admin.SecretProblem, match="secrets.toml"):
        admin.configured_secret({})


def test_check_secret():
    assert admin.check_secret(SECRET, SECRET)
    assert admin.check_secret(f" {SECRET}\n", SECRET)  # a pasted newline is forgiven
    for wrong in ("", "correct horse", SECRET + "!", SECRET.upper(), None):
        assert not admin.check_secret(wrong, SECRET)


def test_wrong_tries_in_a_row_are_slowed_down_and_a_right_one_resets():
    throttle = admin.Throttle(free_tries=3, first_wait=10, max_wait=60)
    now = 1000.0
    assert [throttle.failed(now) for _ in range(3)] == [0.0, 0.0, 10.0]
    assert throttle.wait_left(now) == 10.0 and throttle.wait_left(now + 10.5) == 0.0
    assert throttle.failed(now + 11) == 20.0
    assert throttle.failed(now + 40) == 40.0
    for _ in range(10):
        wait = throttle.failed(now + 100)
    assert wait == 60.0  # capped
    throttle.succeeded()
    assert throttle.wait_left(now + 100) == 0.0 and throttle.failed(now + 100) == 0.0


DRAWINGS_SCRIPT = """
import streamlit as st
from core import user_digits
from dashboard import admin

for digit in user_digits.list_digits():
    st.write(f"{digit.id} by {digit.owner}")
    if admin.delete_drawing_button(digit):
        st.rerun()
"""


@pytest.fixture
def two_drawings(cache_dir, tmp_path, monkeypatch):
    from core import user_digits
    from core.preprocess import prepare
    from tests.test_user_digits import drawing

    monkeypatch.setenv("NEURAL_LAB_USER_DIGITS_DIR", str(tmp_path / "digits"))
    mine = user_digits.save_digit(prepare(drawing("one")), 1, owner="me")
    theirs = user_digits.save_digit(prepare(drawing("zero")), 0, owner="someone else")
    return mine, theirs


def _drawings_app():
    at = AppTest.from_string(DRAWINGS_SCRIPT, default_timeout=60)
    at.session_state["neural_lab_session_id"] = "me"
    return at


def test_personal_mode_deletes_any_drawing_into_the_trash(two_drawings, monkeypatch):
    from core import trash, user_digits

    monkeypatch.delenv(admin.ENV_NAME, raising=False)
    mine, theirs = two_drawings
    at = _drawings_app().run()
    assert len(at.button) == 2
    at.button(key=f"draw_delete_{theirs.id}").click().run()
    assert [d.id for d in user_digits.list_digits()] == [mine.id]
    assert [item.ident for item in trash.list_trash()] == [theirs.id]


def test_a_visitor_on_a_shared_server_deletes_only_their_own_drawing(two_drawings, monkeypatch):
    from core import audit, user_digits

    monkeypatch.setenv(admin.ENV_NAME, SECRET)
    mine, theirs = two_drawings
    at = _drawings_app().run()
    assert [button.key for button in at.button] == [f"draw_delete_{mine.id}"]  # no Delete on someone else's
    at.button(key=f"draw_delete_{mine.id}").click().run()
    assert [d.id for d in user_digits.list_digits()] == [theirs.id]
    (line,) = audit.tail(5)
    assert line["action"] == "delete-drawing" and line["keys"] == [mine.id] and line["mode"] == "shared"
    assert line["session"] == "me" and line["role"] == "visitor"


def test_the_admin_deletes_anyones_drawing(two_drawings, monkeypatch):
    monkeypatch.setenv(admin.ENV_NAME, SECRET)
    at = _drawings_app()
    at.session_state[admin.ADMIN_KEY] = True
    at.run()
    assert len(at.button) == 2


JOBS_SCRIPT = """
from dashboard import training_ui

training_ui.jobs_table()
"""


@pytest.mark.parametrize("signed_in", [False, True])
def test_cancelling_another_sessions_training_needs_the_admin_in_shared_mode(cache_dir, monkeypatch, signed_in):
    from core import jobs

    mine, theirs = "a" * 16, "b" * 16
    monkeypatch.setenv(admin.ENV_NAME, SECRET)
    monkeypatch.setattr(jobs, "list_jobs", lambda active_only=False: [
        jobs.Job(key=mine, state="queued", description="mine", session="me"),
        jobs.Job(key=theirs, state="queued", description="theirs", session="someone else"),
    ])
    at = AppTest.from_string(JOBS_SCRIPT, default_timeout=60)
    at.session_state["neural_lab_session_id"] = "me"
    if signed_in:
        at.session_state[admin.ADMIN_KEY] = True
    at.run()
    assert not at.exception
    assert not at.button(key=f"cancel-job-{mine}").disabled
    assert at.button(key=f"cancel-job-{theirs}").disabled is (not signed_in)
