"""Runs page, "What mattered": over the cached MNIST runs, which hyperparameter moved test accuracy
(importance bars), test accuracy against each of them (marginal plots), and the runs no other run
beats on both accuracy and cost (Pareto charts). A click on any run's point opens it on the Train page.

One fragment: a click reruns this section alone until it navigates. The maths is core/importance.py,
the figures dashboard/charts/runs_analysis.py.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import importance
from dashboard import resources, selection, state
from dashboard.charts import runs_analysis as charts
from dashboard.views.guide import page_file

GRID_HINT = ("the **Train** page's *Layers × units* grid (9 runs in one click), or "
             "`python -m core sweep --grid \"layers=1,2,3 units=16,64,256\" --epochs 3`")
METHOD = ("**How importance is measured:** the runs are grouped by one knob's value, and the bar is the share of the spread "
          "in test accuracy that the groups' averages explain, minus what chance alone would explain (the main effect of "
          "fANOVA with an ω² small-sample correction). We chose it over a random forest's permutation importance because it "
          "needs no fitted model, is exact on a full grid, and stays honest with a dozen runs.")
PARETO_COSTS = (("params", "parameters", ",.0f"), ("train_seconds", "training seconds", ".1f"))  # column, title, hover format


def clicked_key(event) -> str | None:
    """The run key of the clicked point of a chart here (its customdata), or None."""
    values = selection.last_customdata(event)
    return str(values[0]) if values and isinstance(values[0], str) else None


def _open_clicked(event, configs: dict) -> None:
    """A click on a run's point opens that run on the Train page (its whole configuration in the address)."""
    key = clicked_key(event)
    if key is None or key not in configs:
        return
    st.switch_page(page_file("training"), query_params=state.link_params("training", configs[key]))


def analysis_frame(runs: pd.DataFrame, table: dict[str, list]) -> pd.DataFrame:
    """One row per scored run: key, description, test_accuracy, params, train_seconds and each varying hyperparameter."""
    frame = runs[["key", "description", "test_accuracy", "params", "train_seconds"]].reset_index(drop=True).copy()
    for column in ("test_accuracy", "params", "train_seconds"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    for name, values in table.items():
        frame[name] = values if importance.is_numeric(values) else [str(value) for value in values]
    return frame


@st.fragment
def render_what_mattered() -> None:
    """Importance, marginal plots and the Pareto charts over the cached MNIST runs."""
    st.subheader("What mattered")
    everything = resources.run_table()
    runs = resources.mnist_runs()
    toy = len(everything) - len(runs)
    toy_note = f" The {toy} toy 2-D run(s) are left out: these charts are for MNIST." if toy else ""
    if everything.empty:
        st.caption("Which settings mattered, and which runs are worth their cost, appear here once a few MNIST runs are cached.")
        return
    if runs.empty:
        st.info(f"No MNIST run is cached yet, so there is nothing to compare.{toy_note} Train a few with {GRID_HINT}.",
                icon=":material/insights:")
        return
    configs = resources.run_configs(runs["key"])
    runs = runs[runs["key"].isin(list(configs))]
    accuracy = pd.to_numeric(runs["test_accuracy"], errors="coerce")
    scored = runs[accuracy.notna()]
    unscored = len(runs) - len(scored)
    unscored_note = f" {unscored} run(s) without a test accuracy are left out." if unscored else ""
    table = importance.hyperparameter_table([configs[key] for key in scored["key"]])
    frame = analysis_frame(scored, table)
    st.caption(f"Over the **{len(frame)}** cached MNIST run(s) with a test accuracy.{unscored_note}{toy_note} "
               "Click any run's point to open it on the Train page.")
    if "dataset" in table:
        st.caption(":material/warning: Some runs used the embedded 5k sample and others full MNIST: their test accuracies come from "
                   "different test sets, so the *dataset* bar and the fronts mix two exams.")
    render_importance(frame, table)
    render_marginals(frame, table, configs)
    render_pareto(frame, configs)


def render_importance(frame: pd.DataFrame, table: dict[str, list]) -> None:
    """The importance bars, or why there are none yet (how many more runs, and which grid to train)."""
    st.markdown("##### Which knob moved test accuracy")
    if len(frame) < importance.MIN_RUNS:
        more = importance.MIN_RUNS - len(frame)
        st.info(f"Importance needs at least {importance.MIN_RUNS} runs that differ in their settings; there are {len(frame)}. "
                f"Train {more} more, e.g. with {GRID_HINT}.", icon=":material/hourglass_empty:")
        return
    if not table:
        st.info(f"All {len(frame)} runs share every setting, so no knob can be told apart. Train runs that differ, e.g. with {GRID_HINT}.",
                icon=":material/hourglass_empty:")
        return
    items = importance.importance(table, frame["test_accuracy"].to_numpy())
    bars = pd.DataFrame([{"label": item.label, "share": item.share, "groups": item.groups} for item in items])
    st.plotly_chart(charts.importance_bars(bars), width="stretch", key="what_mattered_importance", config={"displayModeBar": False})
    st.caption(_importance_reading(items, len(frame)))
    st.caption(METHOD)


def _importance_reading(items: list[importance.Importance], runs: int) -> str:
    """One sentence on what the bars say: the top knob, the seed as the noise floor, knobs that changed together."""
    known = [item for item in items if item.share is not None]
    parts = []
    if known and known[0].share > 0:
        parts.append(f"Over these {runs} runs, **{known[0].label}** mattered most: it alone explains {known[0].share:.0%} of the spread.")
    else:
        parts.append(f"Over these {runs} runs no knob explains the spread better than chance: the differences look like noise.")
    seed = next((item for item in known if "seed" in item.names), None)
    if seed is not None:
        parts.append(f"The seed (pure chance) explains {seed.share:.0%}: a knob at or below that did not matter measurably.")
    together = [item.label for item in items if len(item.names) > 1]
    if together:
        parts.append(f"{'; '.join(together)} always changed together here, so they share one bar; a full grid would tell them apart.")
    if sum(item.share for item in known) > 1.0:
        parts.append("The bars add up to more than 100 %: the runs are an uneven mix, so knobs take credit for each other; "
                     "a full grid (every combination) is the fair test.")
    return " ".join(parts)


def render_marginals(frame: pd.DataFrame, table: dict[str, list], configs: dict) -> None:
    """Test accuracy against each hyperparameter that varies, one point per run."""
    st.markdown("##### Test accuracy against each knob that varies")
    if not table:
        st.caption("Every run shares all its settings: there is no knob to plot against.")
        return
    names = list(table)
    figure = charts.marginal_figure(frame, names, log_names=importance.LOG_SCALE)
    event = st.plotly_chart(figure, width="stretch", key="what_mattered_marginals", on_select="rerun", selection_mode="points",
                            config={"displayModeBar": False})
    st.caption("One point per run. A knob whose points climb or fall from one value to the next mattered; a cloud at the "
               "same height at every value did not (for these runs: other knobs vary too).")
    _open_clicked(event, configs)


def render_pareto(frame: pd.DataFrame, configs: dict) -> None:
    """Test accuracy against parameters and against training seconds, each with its Pareto front."""
    st.markdown("##### Accuracy for its cost: the Pareto front")
    columns = st.columns(2)
    for column, (cost, title, x_format) in zip(columns, PARETO_COSTS, strict=True):
        costs = frame[frame[cost].notna()]
        with column:
            if costs.empty:
                st.caption(f"No run recorded its {title}.")
                continue
            on_front = importance.pareto_front(costs[[cost, "test_accuracy"]].to_numpy())
            figure = charts.pareto_figure(costs, cost, title, on_front, x_format=x_format)
            event = st.plotly_chart(figure, width="stretch", key=f"what_mattered_pareto_{cost}", on_select="rerun",
                                    selection_mode="points", config={"displayModeBar": False})
            _open_clicked(event, configs)
    st.caption("A red run is on the front: no other run is both cheaper and more accurate. A grey run is beaten by a red one "
               "on both counts, so it is never the one to pick. Training seconds depend on how busy the machine was.")
