"""A background job on a page: submit, then progress, live curves and Stop, polled with st.fragment.

Every page that trains goes through here; none runs a training in its own script run any more
(core.jobs trains in worker processes). Leaving the page, moving a widget or closing the tab does
not touch the job; coming back (any session, same address) finds it through its record, wherever
it is. The polling fragment reruns alone every POLL_SECONDS while the job is active and reruns the
whole page once when it ends, so the page then draws the cached result (and polls no more).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable

import streamlit as st

from core import eta, jobs
from core.config import RunConfig
from core.jobs import Job, QueueFull
from dashboard.charts.training import learning_curve
from dashboard.resources import job_runner

POLL_SECONDS = 1.0  # bench/RESULTS-jobs.md: every poll redraws two Plotly charts in the browser
SESSION_KEY = "neural_lab_session_id"
TRAINED_KEY = "trained_this_session"  # keys whose job this session submitted and that trained (tests count them)
SUBMITTED_KEY = "jobs_submitted_this_session"


def session_id() -> str:
    """A random id per browser session: jobs remember who queued them (for the per-visitor cap)."""
    if SESSION_KEY not in st.session_state:
        st.session_state[SESSION_KEY] = uuid.uuid4().hex[:12]
    return st.session_state[SESSION_KEY]


def submit(config: RunConfig) -> Job | None:
    """Queue a training (or join the one already queued/running); None, with a message, when refused."""
    runner = job_runner()
    if runner.notice:
        st.info(runner.notice, icon=":material/cloud_off:")
    try:
        job = runner.submit(config, session=session_id())
    except QueueFull as error:
        st.error(str(error), icon=":material/hourglass_full:")
        return None
    if job.session == session_id():  # queued by this session (not joined: someone else's job keeps its own badge)
        st.session_state.setdefault(SUBMITTED_KEY, []).append(job.key)
    return job


def submit_many(configs: Iterable[RunConfig]) -> tuple[list[str], str | None]:
    """Queue several trainings; returns the keys queued (or joined) and, if a bound stopped it, why."""
    runner, keys = job_runner(), []
    configs = list(configs)
    for index, config in enumerate(configs):
        try:
            keys.append(runner.submit(config, session=session_id()).key)
        except QueueFull as error:
            left = len(configs) - index
            return keys, f"{error} ({left} of {len(configs)} not queued: press the button again later for them.)"
    return keys, None


def status_line(job: Job, reference_seconds_per_epoch: float | None = None) -> str:
    """'queued: 2 trainings ahead' / 'epoch 3/10 · 4 s elapsed · about 9 s left' / the final message.

    The time left follows core.eta: the job's own epochs after the first (warm-up) one, else
    `reference_seconds_per_epoch` (a similar cached run's), else it says it is still measuring.
    """
    if job.state == "queued":
        ahead = (job.position or 1) - 1
        return "queued: next to start" if ahead <= 0 else f"queued: {ahead} training{'s' if ahead != 1 else ''} ahead"
    if job.state == "running" and job.kind == "lr_finder":
        return f"batch {job.batch} of at most {job.steps} · {job.elapsed:.0f} s elapsed (it stops early once the loss explodes)"
    if job.state == "running":
        if job.waiting:
            return "another process is training this same combination; it will load here when it is done"
        if not job.epoch and not job.batch:
            return f"starting (epoch 0/{job.epochs})"
        parts = [f"epoch {job.epoch}/{job.epochs}"]
        if job.batch and job.steps:
            parts.append(f"batch {job.batch}/{job.steps}")
        parts.append(f"{job.elapsed:.0f} s elapsed")
        left = job.seconds_left(reference_seconds_per_epoch)
        if left is not None:
            measured = eta.steady_seconds_per_epoch(job.history.get("seconds")) is not None
            parts.append(f"about {left:.0f} s left" + ("" if measured else " (timed on a similar cached run)"))
        elif job.epochs > 1:
            parts.append("time left: measured after epoch 2 (epoch 1 also builds the model)")
        return " · ".join(parts)
    return job.message


def draw_curves(job: Job, columns=None) -> None:
    """Loss and accuracy curves of a job so far (train vs validation), side by side; a stopped job's
    curves are marked "stopped at epoch N: not cached"."""
    stopped_at = len(job.history.get("loss", [])) if job.state == "cancelled" else None
    try:
        classes = job.run_config().n_classes
    except (TypeError, ValueError):
        classes = 10
    for column, metric in zip(columns or st.columns(2), ("loss", "accuracy"), strict=True):
        figure = learning_curve(job.history, metric, epochs=job.epochs or None, stopped_at=stopped_at or None, classes=classes)
        column.plotly_chart(figure, width="stretch", key=f"job-{metric}-{job.key}")


def similar_seconds_per_epoch(config: RunConfig) -> float | None:
    """Steady seconds per epoch of the newest cached run that trains at the speed of `config` (core.eta), or None."""
    from core import cache

    wanted = config.to_dict()
    candidates = (  # newest first; a history file is read only for a run of the same speed
        (summary.config.to_dict(), (cache.read_history(summary.key) or {}).get("seconds"))
        for summary in cache.list_runs()
        if summary.key != config.key() and eta.same_speed(summary.config.to_dict(), wanted)
    )
    return eta.similar_reference(wanted, candidates)


def may_stop(active: list[Job]) -> bool:
    """Personal mode, the admin, or the session that queued every one of these jobs (shared mode)."""
    from dashboard import admin  # here: admin imports this module for the session id

    return admin.is_admin() or all(job.session is not None and job.session == session_id() for job in active)


def watch(key: str, *, curves: bool = True, extra: Callable[[Job], None] | None = None, stop_label: str = "Stop training") -> None:
    """Progress, live curves, `extra(job)` (e.g. the live boundary) and Stop for the job of `key`.

    Call it only while the job is active; it polls by itself and reruns the page when the job ends.
    """

    reference: dict[str, float | None] = {}  # a similar cached run's s/epoch, looked up once per page run

    @st.fragment(run_every=POLL_SECONDS)
    def panel() -> None:
        job = jobs.read_job(key)
        if job is None or not job.active:
            st.rerun(scope="app")  # it ended: one full rerun draws the result (and polls no more)
            return
        if "seconds" not in reference and job.state == "running" and eta.steady_seconds_per_epoch(job.history.get("seconds")) is None:
            try:
                reference["seconds"] = similar_seconds_per_epoch(job.run_config())
            except (TypeError, ValueError, OSError):
                reference["seconds"] = None
        with st.container(border=True):
            top = st.columns([4, 1], vertical_alignment="center")
            top[0].markdown(f"**{'Queued' if job.state == 'queued' else 'Training'}:** {job.description}")
            if top[1].button(
                stop_label, icon=":material/stop_circle:", key=f"stop-{key}", disabled=not may_stop([job]),
                help="Stops after the current batch. The curves so far stay on the page, marked 'stopped, not cached'; "
                "only complete runs are cached. Try: stop an overfitting run once the validation curve turns up."
                if may_stop([job]) else "Someone else started this training: stopping it needs the admin secret (Runs page).",
            ):
                job_runner().cancel(key)
                st.toast("Stop requested: the training ends after the current batch.")
            st.progress(job.fraction, text=status_line(job, reference.get("seconds")))
            st.caption("This training runs in the background: you may leave the page or change settings; it goes on and lands in the cache.")
            if extra is not None:
                extra(job)
            if curves:
                draw_curves(job)

    panel()


def watch_many(keys: list[str], label: str) -> None:
    """One progress bar over several jobs (a grid); reruns the page when all have ended."""

    @st.fragment(run_every=POLL_SECONDS)
    def panel() -> None:
        records = [jobs.read_job(key) for key in keys]
        active = [job for job in records if job is not None and job.active]
        if not active:
            st.rerun(scope="app")
            return
        ended = len(keys) - len(active)
        seen_key = f"watch_many_ended_{label}"
        previously = st.session_state.get(seen_key, ended)
        st.session_state[seen_key] = ended
        if ended > previously:
            st.rerun(scope="app")  # a cell finished: the page redraws the grid with it
        running = [job for job in active if job.state == "running"]
        fraction = (ended + sum(job.fraction for job in running)) / max(1, len(keys))
        text = f"{label}: {ended} of {len(keys)} finished · {len(running)} running · {len(active) - len(running)} queued"
        if running:
            text += f" · now {running[0].description[:60]}: {status_line(running[0])}"
        columns = st.columns([5, 1], vertical_alignment="center")
        columns[0].progress(min(1.0, fraction), text=text)
        if columns[1].button(
            "Stop all", icon=":material/stop_circle:", key=f"stop-all-{label}", disabled=not may_stop(active),
            help="Stops every queued or running training of this grid; cells already finished stay cached."
            if may_stop(active) else "Someone else started some of these trainings: stopping them needs the admin secret (Runs page).",
        ):
            for job in active:
                job_runner().cancel(job.key)
            st.toast(f"Stop requested for {len(active)} training(s).")

    panel()


def announce_once(key: str) -> bool:
    """True the first time the page shows the outcome of a job this session submitted (then False)."""
    submitted = st.session_state.get(SUBMITTED_KEY, [])
    if key not in submitted:
        return False
    st.session_state[SUBMITTED_KEY] = [k for k in submitted if k != key]
    job = jobs.read_job(key)
    if job is not None and job.state == "done" and not job.cached:
        trained = st.session_state.setdefault(TRAINED_KEY, [])
        if key not in trained:
            trained.append(key)
    return True


def train_missing(missing: list[RunConfig], *, label: str, button: str, icon: str, key: str | None = None, help: str | None = None) -> None:
    """A grid's "Train the N missing …" button (cells already queued or running are not offered again),
    then one progress bar over the grid's jobs until they end. `help` replaces the grid's tooltip."""
    training = active_keys(config.key() for config in missing)
    waiting = [config for config in missing if config.key() not in training]
    if waiting and st.button(
        button.format(count=len(waiting)), icon=icon, key=key,
        help=help or "Queues one background training per missing cell; each fills in as soon as it is cached. "
        "Try: start with a small grid, you can add depths or widths later.",
    ):
        queued, refused = submit_many(waiting)
        if refused:
            st.warning(refused, icon=":material/hourglass_full:")
        training = sorted(set(training) | set(queued))
    if training:
        watch_many(training, label)


def active_keys(keys: Iterable[str]) -> list[str]:
    """The keys among `keys` whose job is queued or running right now."""
    result = []
    for key in keys:
        job = jobs.read_job(key)
        if job is not None and job.active:
            result.append(key)
    return result


def ended_message(job: Job | None, within_seconds: float = 3600) -> tuple[str, str] | None:
    """('warning' | 'error', text) for a job of this combination that ended without a model lately."""
    if job is None or job.state not in ("failed", "cancelled", "interrupted"):
        return None
    finished = job.finished or job.updated
    if time.time() - finished > within_seconds:
        return None
    minutes = (time.time() - finished) / 60
    when = "just now" if minutes < 1 else f"{minutes:.0f} min ago"
    return ("error" if job.state == "failed" else "warning"), f"{job.message} ({when})"


def jobs_table(limit: int = 30) -> None:
    """Every queued/running job of this cache (any session, any server) with progress and Cancel."""

    @st.fragment(run_every=2.0)
    def panel() -> None:
        active = jobs.list_jobs(active_only=True)[:limit]
        keys = {job.key for job in active}
        seen = st.session_state.get("jobs_table_seen", set())
        st.session_state["jobs_table_seen"] = keys
        if seen - keys:
            st.rerun(scope="app")  # a training ended: the runs table below has a new row
        if not active:
            st.caption("No trainings are queued or running.")
            return
        from dashboard import admin  # here: admin imports this module for the session id

        for job in active:
            columns = st.columns([3, 3, 1], vertical_alignment="center")
            columns[0].markdown(f"**{job.description[:80]}**  \n`{job.key}`")
            columns[1].progress(job.fraction, text=status_line(job))
            # Shared mode: a visitor cancels only the trainings their own session queued.
            allowed = admin.is_admin() or (job.session is not None and job.session == session_id())
            if columns[2].button(
                "Cancel", key=f"cancel-job-{job.key}", icon=":material/cancel:", disabled=not allowed,
                help=("Stops this training after its current batch; nothing is cached. Try: cancel a training you queued by mistake."
                      if allowed else "Someone else queued this training: cancelling it needs the admin secret (Runs page)."),
            ):
                job_runner().cancel(job.key)
                if not (job.session is not None and job.session == session_id()):
                    admin.record("cancel-job", [job.key])
                st.toast(f"Cancel requested: {job.description[:60]}")

    panel()
