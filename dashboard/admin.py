"""Who may destroy what: personal mode (no secret: everything as always) or shared mode (a class).

With `$NEURAL_LAB_ADMIN_SECRET` set, or `admin_secret` in `.streamlit/secrets.toml`, the server is
shared: deleting runs, deleting drawings that are not your own, restoring from the trash and
cancelling another session's training need the admin secret, entered once per browser session.
The secret is compared in constant time (`hmac.compare_digest`), never echoed, logged or read
from the address; wrong tries in a row are slowed down server-wide (a new tab does not reset
the count). A secret that is configured but empty or too short refuses shared mode with a
clear message: destructive actions are then refused for everyone (never a silent fall back to
personal mode).

Pure parts (secret checks, the throttle) take plain values and are unit tested without
Streamlit; the `render_*` functions draw the sign-in box and notes.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from core import audit

log = logging.getLogger("neural_lab.admin")

ENV_NAME = "NEURAL_LAB_ADMIN_SECRET"
SECRETS_NAME = "admin_secret"
MIN_SECRET_LENGTH = 12
URL_SECRET_NAMES = ("admin_secret", "secret", "password", "token", "admin")
ADMIN_KEY = "neural_lab_admin"
FREE_TRIES = 3  # wrong tries in a row before each further try has to wait
FIRST_WAIT_SECONDS = 10.0  # then 20, 40, 60 s: a student who mistypes loses seconds, a guesser loses days
MAX_WAIT_SECONDS = 60.0
PERSONAL, SHARED, REFUSED = "personal", "shared", "refused"


class SecretProblem(Exception):
    """A secret is configured but unusable: shared mode is refused (the message says how to fix it)."""


def secret_problem(secret: str) -> str | None:
    """Why a configured secret cannot protect a shared server, or None when it can."""
    if not isinstance(secret, str) or not secret.strip():
        return "it is empty"
    if len(secret.strip()) < MIN_SECRET_LENGTH:
        return f"it is shorter than {MIN_SECRET_LENGTH} characters"
    return None


def _secrets_file_value() -> str | None:
    """`admin_secret` from .streamlit/secrets.toml; SecretProblem when such a file exists but cannot be read."""
    try:
        from streamlit import config

        paths = [Path(path) for path in config.get_option("secrets.files")]
    except Exception:  # noqa: BLE001 - no Streamlit config: no secrets file
        return None
    if not any(path.is_file() for path in paths):
        return None
    if not st.secrets.load_if_toml_exists():
        raise SecretProblem("A secrets.toml file exists but cannot be read (bad TOML?): shared mode refused until it is fixed.")
    value = st.secrets.get(SECRETS_NAME)
    return None if value is None else str(value)


def configured_secret(environ: dict[str, str] | None = None) -> str | None:
    """The admin secret (environment first, then secrets.toml), None in personal mode.

    Raises SecretProblem when one is configured but unusable (empty, too short, unreadable file)."""
    environ = os.environ if environ is None else environ
    if ENV_NAME in environ:
        value, source = environ[ENV_NAME], f"${ENV_NAME}"
    else:
        value, source = _secrets_file_value(), f"{SECRETS_NAME} in .streamlit/secrets.toml"
    if value is None:
        return None
    problem = secret_problem(value)
    if problem:
        raise SecretProblem(
            f"{source} is set but {problem}, so shared mode is refused and nothing can be deleted. "
            f"Set a secret of at least {MIN_SECRET_LENGTH} characters (for example the output of "
            "`python -c \"import secrets; print(secrets.token_urlsafe(16))\"`) and restart, or remove it for personal mode."
        )
    return value.strip()


def check_secret(entered: str, secret: str) -> bool:
    """True when `entered` is the secret; the comparison takes the same time wherever they differ."""
    if not isinstance(entered, str) or not entered:
        return False
    return hmac.compare_digest(entered.strip().encode("utf-8"), secret.encode("utf-8"))


@dataclass
class Throttle:
    """Wrong tries in a row, server-wide: from the FREE_TRIES-th on, the next try waits 10, 20, 40 ... s (max 60)."""

    free_tries: int = FREE_TRIES
    first_wait: float = FIRST_WAIT_SECONDS
    max_wait: float = MAX_WAIT_SECONDS
    failures: int = 0
    not_before: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wait_left(self, now: float | None = None) -> float:
        """Seconds until the next try is heard (0: now)."""
        now = time.monotonic() if now is None else now
        return max(0.0, self.not_before - now)

    def failed(self, now: float | None = None) -> float:
        """Count a wrong try; returns the wait it imposes on the next one."""
        now = time.monotonic() if now is None else now
        with self.lock:
            self.failures += 1
            extra = self.failures - self.free_tries
            wait = 0.0 if extra < 0 else min(max(self.max_wait, self.first_wait), self.first_wait * 2.0 ** extra)
            self.not_before = now + wait
            return wait

    def succeeded(self) -> None:
        with self.lock:
            self.failures, self.not_before = 0, 0.0


def _first_wait() -> float:
    """`$NEURAL_LAB_ADMIN_WAIT_SECONDS` (the first wait; default 10 s)."""
    try:
        value = float(os.environ.get("NEURAL_LAB_ADMIN_WAIT_SECONDS", FIRST_WAIT_SECONDS))
    except ValueError:
        return FIRST_WAIT_SECONDS
    return value if value >= 1 else FIRST_WAIT_SECONDS


THROTTLE = Throttle(first_wait=_first_wait())  # one per server process: a new tab or session does not reset it


# -- this session ------------------------------------------------------------------------------


def mode() -> str:
    """PERSONAL (no secret), SHARED, or REFUSED (a secret is configured but unusable)."""
    try:
        return SHARED if configured_secret() else PERSONAL
    except SecretProblem:
        return REFUSED


def is_admin() -> bool:
    """May this session do destructive things? Always in personal mode; in shared mode once signed in."""
    current = mode()
    if current == PERSONAL:
        return True
    return current == SHARED and st.session_state.get(ADMIN_KEY) is True


def role() -> str:
    """For the audit log: "owner" (personal mode), "admin" or "visitor"."""
    current = mode()
    if current == PERSONAL:
        return "owner"
    return "admin" if is_admin() else "visitor"


def session_id() -> str:
    from dashboard.training_ui import session_id as training_session_id  # one id per session, shared with the jobs

    return training_session_id()


def sign_in(entered: str) -> tuple[bool, str]:
    """Check a secret typed in this session: (signed in?, what to tell the user). Never logs the secret."""
    try:
        secret = configured_secret()
    except SecretProblem as problem:
        return False, str(problem)
    if secret is None:
        return True, "This server runs in personal mode: no secret is needed."
    wait = THROTTLE.wait_left()
    if wait > 0:
        return False, f"Too many wrong tries in a row: wait {wait:.0f} s before trying again."
    if check_secret(entered, secret):
        THROTTLE.succeeded()
        st.session_state[ADMIN_KEY] = True
        record("sign-in", [])
        return True, "Signed in as admin for this browser session."
    wait = THROTTLE.failed()
    log.warning("a wrong admin secret was entered (session %s)", session_id())
    record("sign-in-refused", [])
    later = f" Wrong tries in a row are slowed down: wait {wait:.0f} s before the next one." if wait else ""
    return False, f"That is not the admin secret.{later}"


def sign_out() -> None:
    st.session_state.pop(ADMIN_KEY, None)


def record(action: str, keys, detail: str = "") -> None:
    """One audit line for this session (a full disk is a warning, never a crash)."""
    try:
        audit.record(action, keys, session=session_id(), mode=mode(), role=role(), detail=detail)
    except OSError as error:
        log.warning("audit line %s not written: %s", action, error)


def can_delete_drawing(owner: str | None) -> bool:
    """Anyone in personal mode; the admin; in shared mode a visitor only their own drawing."""
    return is_admin() or (mode() == SHARED and owner is not None and owner == session_id())


# -- drawing ------------------------------------------------------------------------------------


def warn_secret_in_url() -> None:
    """A secret in the address is ignored (addresses end up in histories, logs and screenshots)."""
    found = [name for name in URL_SECRET_NAMES if name in st.query_params]
    for name in found:
        del st.query_params[name]
    if found:
        st.warning("A secret in the address is ignored and was removed from it: addresses end up in browser histories and "
                   "server logs. Enter the admin secret in the **Admin** box of the Runs page instead.", icon=":material/key_off:")


def render_mode_problem() -> bool:
    """Show why shared mode is refused (True then); nothing in the other modes."""
    try:
        configured_secret()
    except SecretProblem as problem:
        st.error(str(problem), icon=":material/gpp_bad:")
        return True
    return False


def render_sign_in() -> None:
    """Shared mode: the visitor's note and the sign-in box, or the admin's "signed in" line with Sign out."""
    if mode() != SHARED:
        return
    if is_admin():
        columns = st.columns([4, 1], vertical_alignment="center")
        columns[0].success("Signed in as admin: you can delete, restore and cancel anyone's training.", icon=":material/shield_person:")
        if columns[1].button("Sign out", key="admin_sign_out", icon=":material/logout:",
                             help="Drop the admin rights of this browser session. Try: sign out before leaving a shared computer."):
            sign_out()
            st.rerun()
        return
    st.caption(":material/lock: This server is shared by a class: deleting runs, restoring them and cancelling other people's "
               "trainings need the admin secret (the teacher has it). Everything else works as usual.")
    with st.expander("Admin (teacher)", icon=":material/admin_panel_settings:"):
        with st.form("admin_sign_in", clear_on_submit=True, border=False):
            entered = st.text_input(
                "Admin secret", type="password", key="admin_secret_input", autocomplete="off",
                help="The secret the teacher set when starting the server (NEURAL_LAB_ADMIN_SECRET). It is checked once for this "
                     "browser session and never shown. Try: ask your teacher if you need to delete something.",
            )
            submitted = st.form_submit_button("Sign in", icon=":material/login:", key="admin_sign_in_submit",
                                              help="Check the secret; a few wrong tries in a row make the next ones wait.")
        if submitted:
            ok, message = sign_in(entered)
            if ok:
                st.rerun()
            st.error(message, icon=":material/block:")


def delete_drawing_button(digit) -> bool:
    """The Delete button of a saved drawing (core.user_digits.UserDigit): True when it was moved to the trash.

    In shared mode a visitor sees it only on their own drawings; the admin and personal mode on all."""
    from core import trash, user_digits

    if not can_delete_drawing(digit.owner):
        return False
    if not st.button("Delete", key=f"draw_delete_{digit.id}", icon=":material/delete:", type="tertiary",
                     help="Moves this drawing to the trash (the teacher can restore it from the Runs page for a day). "
                          "Try: delete drawings the model should not be judged on, like a badly drawn digit."):
        return False
    try:
        deleted = user_digits.delete_digit(digit.id)
    except trash.TrashError as error:
        st.error(str(error))
        return False
    if deleted:
        record("delete-drawing", [digit.id])
    return deleted
