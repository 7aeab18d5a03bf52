"""The Train page's "Find a learning rate" section: Smith's range test as a background job, its chart,
and a button that puts the suggested rate into the form.

The maths and the cache live in core.lr_finder; the job in core.jobs (kind "lr_finder"); progress
and Stop come from dashboard.training_ui.watch, like every other job on a page.
"""

from __future__ import annotations

import streamlit as st

from core import jobs, lr_finder
from core.config import RunConfig, encode_value
from core.jobs import Job, QueueFull
from dashboard import training_ui
from dashboard.charts.lr_finder import range_test_figure
from dashboard.resources import job_runner

OPEN_KEY = "lr_finder_open"
START_KEY = "lr_finder_start"
USED_KEY = "lr_finder_used"

HELP = {
    "start": "The learning rate of the first batch; every batch multiplies it until it reaches 1. Try: 1e-06 (the default); "
    "go lower only when the page says the loss rose from the start.",
    "run": "Trains a fresh copy of this model for at most 100 batches while the learning rate grows from the start value to 1, "
    "and records the loss of each batch. It runs in the background (a few seconds for an MLP) and is kept for this "
    "configuration, whatever its learning rate. Try: run it, then train with the suggested rate and with a 10x bigger one.",
    "use": "Puts the suggested learning rate into the form in the sidebar (and the address); press Train / load there to train "
    "with it. Try: compare the curves with your old learning rate using Compare runs below.",
}


def render_lr_finder(config: RunConfig) -> None:
    """An expander "Find a learning rate" for `config`: run the range test, watch it, read the suggestion, use it."""
    with st.expander("Find a learning rate", icon=":material/search_insights:", expanded=st.session_state.get(OPEN_KEY, False)):
        st.caption(
            "Smith's **learning-rate range test**: one short run in which the learning rate grows exponentially, batch by batch, "
            "until the loss explodes. Good rates are where the loss falls fastest."
        )
        for note in lr_finder.notes_for(config):
            st.info(note, icon=":material/info:")
        st.session_state.setdefault(START_KEY, lr_finder.RangeSettings.start)
        start = st.select_slider(
            "Start the sweep at", lr_finder.START_CHOICES, key=START_KEY, format_func=lambda rate: f"{rate:g}", help=HELP["start"],
        )
        settings = lr_finder.RangeSettings(start=start)
        key = lr_finder.finder_key(config, settings)
        job = jobs.read_job(key)
        if job is not None and job.active:
            training_ui.watch(key, curves=False, extra=lambda live: _draw_live(live, settings), stop_label="Stop")
            return
        result = lr_finder.load(config, settings)
        if result is None:
            _render_not_run(config, settings, job)
        else:
            _render_result(config, result)


def _render_not_run(config: RunConfig, settings: lr_finder.RangeSettings, job: Job | None) -> None:
    ended = training_ui.ended_message(job)
    if ended is not None:
        level, text = ended
        getattr(st, level)(text, icon=":material/stop_circle:")
    if st.button("Run the range test", icon=":material/play_arrow:", key="lr_finder_run", help=HELP["run"]):
        st.session_state[OPEN_KEY] = True
        try:
            job_runner().submit_range_test(config, session=training_ui.session_id(), settings=settings)
        except QueueFull as error:
            st.error(str(error), icon=":material/hourglass_full:")
            return
        st.rerun()
    else:
        st.caption("Not run yet for this configuration (its learning rate, schedule and epochs do not matter here).")


def _draw_live(job: Job, settings: lr_finder.RangeSettings) -> None:
    rates, losses = job.history.get("learning_rate", []), job.history.get("loss", [])
    if rates and len(rates) == len(losses):
        figure = range_test_figure(rates, losses, lr_finder.smooth(losses), rate_span=(settings.start, settings.end))
        st.plotly_chart(figure, width="stretch", key=f"lr-finder-live-{job.key}")


def _render_result(config: RunConfig, result: lr_finder.RangeResult) -> None:
    suggestion = result.suggestion
    figure = range_test_figure(
        result.rates, result.losses, result.smoothed, suggestion=suggestion.rate, steepest_at=suggestion.steepest_at,
        minimum_at=suggestion.minimum_at, rate_span=(result.settings.start, result.settings.end),
    )
    st.plotly_chart(figure, width="stretch", key="lr-finder-chart")
    text = lr_finder.explain(result)
    if suggestion.rate is None:
        st.warning(text, icon=":material/trending_up:" if suggestion.diverged_at_once else ":material/trending_flat:")
        return
    st.markdown(text)
    st.caption(f"{len(result.losses)} batches of {config.batch_size} in {result.seconds:.1f} s; cached for this configuration.")
    used = st.session_state.pop(USED_KEY, None)
    if used is not None:
        st.success(f"Learning rate set to {used:g} in the form. Press **Train / load** in the sidebar to train with it.", icon=":material/check:")
    current = config.learning_rate
    if st.button(
        f"Use this learning rate ({suggestion.rate:g})", icon=":material/input:", key="lr_finder_use",
        disabled=current == suggestion.rate, help=HELP["use"],
    ):
        st.query_params["learning_rate"] = encode_value("learning_rate", suggestion.rate)
        st.session_state[USED_KEY] = suggestion.rate
        st.session_state[OPEN_KEY] = True
        st.rerun()
    if current == suggestion.rate:
        st.caption(f"The form already uses {current:g}.")
