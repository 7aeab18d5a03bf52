"""Runs page sections: the filterable runs table (a fragment: filtering and selecting rerun it
alone), open links for the selected runs, delete with confirmation into the trash, the trash with
Restore, and the last lines of the audit log. Who may delete is dashboard/admin.py's decision."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from core import audit, cache, trash
from dashboard import admin, resources, state

# Name first, the key (a hash nobody reads) last, in pixel widths that fit a laptop's page: no
# sideways scrolling. The validation accuracy and the size stay off (the total size is in the caption).
COLUMNS = ["description", "test_accuracy", "epochs_run", "train_seconds", "params", "created", "key"]
PENDING_KEY = "runs_pending_delete"
DONE_KEY = "runs_done_message"
GENERATION_KEY = "runs_table_generation"  # bumped by every delete/restore: the table's selection starts empty again
MAX_LINKS = 5
MAX_TRASH_ROWS = 25
FULL_RANGE = (0, 100)


def runs_frame(summaries: list[cache.RunSummary]) -> pd.DataFrame:
    """One row per run, in COLUMNS order."""
    rows = [{name: getattr(summary, name) for name in COLUMNS} for summary in summaries]
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["created"] = table["created"].fillna("").astype(str).str.slice(0, 16).str.replace("T", " ")
    return table


def filter_runs(table: pd.DataFrame, text: str = "", accuracy: tuple[float, float] = FULL_RANGE) -> pd.DataFrame:
    """The rows whose description or key holds every word of `text` (any case) and whose test
    accuracy (in %) lies in `accuracy`. A run without a test accuracy shows only with the full range."""
    keep = pd.Series(True, index=table.index)
    haystack = (table["description"].fillna("").astype(str) + " " + table["key"].astype(str)).str.lower()
    for word in str(text or "").lower().split():
        keep &= haystack.str.contains(word, regex=False)
    low, high = accuracy
    if (low, high) != FULL_RANGE:
        percent = pd.to_numeric(table["test_accuracy"], errors="coerce") * 100
        keep &= percent.between(low, high) & percent.notna()
    return table[keep]


def _table(filtered: pd.DataFrame, key: str):
    return st.dataframe(
        filtered,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="multi-row",
        key=key,
        column_config={
            "description": st.column_config.TextColumn("run", width=330, help="What was trained: the configuration in words"),
            "test_accuracy": st.column_config.ProgressColumn("test accuracy", format="percent", min_value=0.0, max_value=1.0, width=120,
                                                             help="Share of the test images it reads right"),
            "epochs_run": st.column_config.NumberColumn("epochs", width=60),
            "train_seconds": st.column_config.NumberColumn("train s", format="%.1f", width=65, help="Seconds the training took"),
            "params": st.column_config.NumberColumn("parameters", format="localized", width=85),
            "created": st.column_config.TextColumn("created (UTC)", width=125),
            "key": st.column_config.TextColumn("key", width=90, help="Folder name in the cache (a hash of the configuration)"),
        },
    )


@st.fragment
def render_runs() -> None:
    """Filter, table, open links, delete: one fragment, so typing a filter or ticking a row reruns only this."""
    done = st.session_state.pop(DONE_KEY, None)
    if done:
        st.success(done, icon=":material/check_circle:")
    summaries = cache.list_runs()
    if not summaries:
        st.info("No model is in the cache. Train one on the **Train** page or with `python -m core train --preset seed001-dnn`.")
        return
    by_key = {summary.key: summary for summary in summaries}
    table = runs_frame(summaries)
    left, right = st.columns([3, 2])
    text = left.text_input(
        "Filter runs", key="runs_filter", placeholder="e.g. cnn dropout",
        help="Shows only the runs whose description (or key) holds every word you type, in any case. "
             "Try: 'cnn' for the convolutional nets, or 'relu 128'.",
    )
    accuracy = right.slider(
        "Test accuracy (%)", 0, 100, FULL_RANGE, key="runs_accuracy",
        help="Shows only the runs whose test accuracy lies in this range. Try: 95-100 to compare only the best models.",
    )
    filtered = filter_runs(table, text, accuracy)
    total_mb = sum(summary.size_mb for summary in summaries)
    if filtered.empty:
        what = [f"“{text.strip()}”"] if text.strip() else []
        if tuple(accuracy) != FULL_RANGE:
            what.append(f"a test accuracy of {accuracy[0]}–{accuracy[1]} %")
        st.warning(f"No run matches {' and '.join(what)} ({len(summaries)} runs in all). Clear the text or widen the range.",
                   icon=":material/filter_alt_off:")
        return
    shown = f"{len(filtered)} of {len(summaries)}" if len(filtered) != len(summaries) else f"{len(summaries)}"
    st.caption(f"Showing {shown} cached run{'s' if len(summaries) != 1 else ''} · {total_mb:.1f} MB on disk. Tick the box at the left of a row to open or delete it.")
    # A new filter (or a delete/restore) gets a fresh table key: a selection never points at rows that moved.
    generation = st.session_state.get(GENERATION_KEY, 0)
    selection = _table(filtered, key=f"runs_table_{zlib.crc32(repr((text, tuple(accuracy), generation)).encode())}")
    rows = selection.selection.rows if selection and selection.selection else []
    chosen = [by_key[key] for key in filtered.iloc[[r for r in rows if r < len(filtered)]]["key"] if key in by_key]
    render_open_links(chosen)
    render_delete(chosen)


def render_open_links(chosen: list[cache.RunSummary]) -> None:
    """Where each selected run opens (a hint when none is selected)."""
    if not chosen:
        st.info("Select a run (the box at the left of its row) to open it on its page or to delete it; select several to delete "
                "them together.", icon=":material/touch_app:")
        return
    for summary in chosen[:MAX_LINKS]:
        params = state.full_params(summary.config)
        columns = st.columns([3, 1, 1], vertical_alignment="center")
        accuracy = f" · {summary.test_accuracy:.1%}" if summary.test_accuracy is not None else ""
        columns[0].markdown(f"**{summary.description}**{accuracy}")
        if summary.config.task == "mnist":
            columns[1].page_link("app_pages/training.py", label="Open on Train", icon=":material/model_training:", query_params=params,
                                 help="Its curves and settings on the Train page (it loads from the cache, no training).")
            columns[2].page_link("app_pages/explorer.py", label="Explore its errors", icon=":material/search:", query_params=params,
                                 help="The test images it gets wrong, by confusion-matrix cell.")
        else:
            columns[1].page_link("app_pages/boundary.py", label="Open in Decision boundaries", icon=":material/scatter_plot:",
                                 query_params=params, help="Its decision boundary over the toy data.")
    if len(chosen) > MAX_LINKS:
        st.caption(f"… and {len(chosen) - MAX_LINKS} more selected (links for the first {MAX_LINKS}).")


def render_delete(chosen: list[cache.RunSummary]) -> None:
    """Delete the selected runs: refused with the reason for a visitor on a shared server; otherwise
    a confirmation naming how many, then a move to the trash and an audit line."""
    keys = [summary.key for summary in chosen]
    pending = st.session_state.get(PENDING_KEY)
    if pending and set(pending) != set(keys):
        st.session_state.pop(PENDING_KEY)  # the selection changed: the question no longer applies
        pending = None
    if not keys:
        return
    if admin.mode() == admin.SHARED and not admin.is_admin():
        st.caption(":material/lock: Deleting runs on this shared server needs the admin secret.")
    if not pending and st.button(
        f"Delete {len(keys)} run(s)", icon=":material/delete:", key="runs_delete",
        help="Moves the selected runs to the trash (restorable for a day); you confirm first. "
             "Try: delete runs you no longer compare, to keep the table short.",
    ):
        if not admin.is_admin():
            admin.record("delete-runs-refused", keys)
            st.error(f"Nothing was deleted: deleting runs on this shared server needs the admin secret (the teacher has it). "
                     f"The {len(keys)} run(s) stay for everyone.", icon=":material/lock:")
            return
        st.session_state[PENDING_KEY] = keys
        pending = keys
    if not pending:
        return
    hours = trash.keep_seconds() / 3600
    with st.container(border=True):
        st.warning(f"Move **{len(pending)} run(s)** to the trash? They disappear from every page for everyone; the trash keeps them "
                   f"{hours:g} h, and Restore (below) brings them back.", icon=":material/warning:")
        yes, no = st.columns(2)
        if yes.button(f"Yes, delete {len(pending)} run(s)", type="primary", key="runs_confirm_delete", icon=":material/delete_forever:",
                      help="Moves them to the trash now.", width="stretch"):
            st.session_state.pop(PENDING_KEY, None)
            _delete(pending)
            st.rerun(scope="app")
        if no.button("Cancel", key="runs_cancel_delete", help="Keep them; nothing is deleted.", width="stretch"):
            st.session_state.pop(PENDING_KEY, None)
            st.rerun(scope="fragment")


def _delete(keys: list[str]) -> None:
    if not admin.is_admin():  # signed out meanwhile
        st.session_state[DONE_KEY] = None
        return
    moved, problem = [], None
    for key in keys:
        try:
            if trash.move_run(key) is not None:
                moved.append(key)
        except trash.TrashError as error:
            problem = str(error)
            break
    resources.forget_models()
    st.session_state[GENERATION_KEY] = st.session_state.get(GENERATION_KEY, 0) + 1
    if moved:
        admin.record("delete-runs", moved)
    message = f"Moved {len(moved)} run(s) to the trash."
    if problem:
        message += f" Stopped there: {problem}"
    st.session_state[DONE_KEY] = message + (" Restore them below if that was a mistake." if moved else "")


def _ago(moment: datetime) -> str:
    seconds = (datetime.now(UTC) - moment).total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def render_trash() -> None:
    """Deleted runs and drawings with Restore (for the admin, or anyone in personal mode)."""
    items = trash.list_trash()
    hours = trash.keep_seconds() / 3600
    st.subheader("Trash")
    if not items:
        st.caption(f"Nothing deleted in the last {hours:g} h. Deleted runs and drawings wait here that long before they are gone.")
        return
    st.caption(f"Deleted runs and drawings, kept {hours:g} h after deletion. Restore brings one back exactly as it was.")
    for item in items[:MAX_TRASH_ROWS]:
        columns = st.columns([4, 1, 1], vertical_alignment="center")
        kind = "run" if item.kind == "run" else "drawing"
        columns[0].markdown(f"**{item.description}**  \n{kind} · deleted {_ago(item.deleted)} · `{item.ident}`")
        columns[1].caption(f"{item.size_bytes / 1e6:.2f} MB")
        if columns[2].button("Restore", key=f"restore_{item.name}", icon=":material/restore_from_trash:",
                             help="Puts it back where it was; a run then loads on every page as before. "
                                  "If the same configuration was trained again meanwhile, the newer one is kept."):
            if not admin.is_admin():
                st.error("Restoring needs the admin secret.")
                return
            outcome = trash.restore(item.name)
            if outcome.restored:
                admin.record("restore", [item.name])
                resources.forget_models()
                st.session_state[GENERATION_KEY] = st.session_state.get(GENERATION_KEY, 0) + 1
                st.session_state[DONE_KEY] = outcome.message
                st.rerun()
            st.warning(outcome.message)
    if len(items) > MAX_TRASH_ROWS:
        st.caption(f"… and {len(items) - MAX_TRASH_ROWS} more: `python -m core trash` lists them all.")


def render_audit(count: int = 10) -> None:
    """The last few destructive actions, newest first."""
    lines = audit.tail(count)
    with st.expander(f"Audit log: the last {count} destructive actions", icon=":material/history:"):
        if not lines:
            st.caption("No deletion, restore or cancel has been recorded yet.")
            return
        frame = pd.DataFrame([{
            "time (UTC)": line.get("time", ""), "action": line.get("action", ""), "what": ", ".join(line.get("keys", []))[:120],
            "who": line.get("role", ""), "session": line.get("session", ""), "mode": line.get("mode", ""),
        } for line in lines])
        st.dataframe(frame, hide_index=True, width="stretch")
        st.caption(f"One JSON line per action in `{audit.log_path()}`.")
