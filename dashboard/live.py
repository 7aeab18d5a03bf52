"""LiveTraining: a training listener that draws progress and growing curves into placeholders.

`core.training.train` calls the listener after every batch and epoch. Every Python call made
there runs between two training steps, so it slows training down; this listener therefore
throttles itself: the progress text at most every `progress_interval` seconds; the two Plotly
curves (30-90 ms each here: Streamlit validates every figure again) only on a new epoch, at most
every `chart_interval` seconds, and only while all drawing has cost less than `budget` (3 %) of
the training time so far. bench/training_page.py measures the throughput against a bare fit.

Interruptions. Streamlit reruns the script when the user presses Stop, moves a widget or leaves
the page; the running script is then unwound by an exception raised from the next st.* call,
i.e. from inside this listener, inside `model.fit`. `core.cache.get_or_train` saves only after a
completed fit, so nothing reaches the cache. The listener keeps a note of the run in progress
(`notes[NOTE_KEY]`, st.session_state on the page); the page clears it when training ends
normally, so a note still present on the next run means "stopped at epoch k, not cached".
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from typing import Any

from core.config import RunConfig
from core.training import TrainingEvent
from dashboard.charts.training import learning_curve

NOTE_KEY = "training_in_progress"
WAITING_MESSAGE = "This combination is being trained in another session right now; it will load here as soon as it is finished."


def progress_text(event: TrainingEvent) -> str:
    """'epoch 3/10 · batch 12/28 · 4 s elapsed · about 9 s left' for a progress bar."""
    parts = [f"epoch {max(event.epoch, 1) if event.kind != 'start' else 0}/{event.epochs}"]
    if event.kind == "batch" and event.steps:
        parts.append(f"batch {event.batch}/{event.steps}")
    parts.append(f"{event.elapsed:.0f} s elapsed")
    eta = event.eta_seconds
    if eta is not None and event.kind != "end":
        parts.append(f"about {eta:.0f} s left")
    return " · ".join(parts)


def stopped_message(note: dict[str, Any]) -> str:
    """What the page says after a run was interrupted (Stop, a widget change, navigating away)."""
    epoch, epochs = note.get("epoch", 0), note.get("epochs", 0)
    where = f"stopped at epoch {epoch} of {epochs}" if epoch else f"stopped before the first epoch finished (of {epochs})"
    return f"Training of {note.get('description', 'the model')} was {where}; it was not cached (only complete runs are kept)."


class LiveTraining:
    """Listener for core.training.train / core.cache.get_or_train that updates Streamlit placeholders.

    `progress`, `loss_chart` and `accuracy_chart` are `st.empty()` placeholders (or anything with
    `.progress(value, text=)` / `.plotly_chart(figure, ...)` / `.info(text)`, e.g. a fake sink in a
    benchmark). `notes` is where the run-in-progress note lives (st.session_state on the page).
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        progress,
        loss_chart,
        accuracy_chart,
        notes: MutableMapping[str, Any] | None = None,
        chart_interval: float = 0.5,
        progress_interval: float = 0.25,
        budget: float = 0.03,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.config = config
        self.progress, self.loss_chart, self.accuracy_chart = progress, loss_chart, accuracy_chart
        self.notes = notes if notes is not None else {}
        self.chart_interval, self.progress_interval, self.budget = chart_interval, progress_interval, budget
        self.clock = clock
        self._started = clock()
        self._last_progress = self._last_chart = -float("inf")
        self._drawn_epochs = 0
        self.drawing_seconds = 0.0  # time spent inside this listener drawing (the training waited for it)
        self.waited = False
        self.progress_updates = self.chart_updates = 0
        self._token = f"{config.key()}-{int(clock() * 1e6)}"

    # -- the listener ---------------------------------------------------------------------------

    def __call__(self, event: TrainingEvent) -> None:
        if event.kind == "waiting":
            self.waited = True
            self.progress.info(WAITING_MESSAGE, icon="⏳")
            return
        now = self.clock()
        if event.kind == "start":
            self._started, self.drawing_seconds = now, 0.0
            self.notes[NOTE_KEY] = {
                "key": self.config.key(), "description": self.config.describe(), "epoch": 0, "epochs": event.epochs,
            }
            self._show_progress(event, now)
            return
        if event.kind == "epoch":
            note = self.notes.get(NOTE_KEY)
            if note is not None:
                note["epoch"] = event.epoch
        last = event.kind == "end" or (event.kind == "epoch" and event.epoch >= event.epochs)
        if last or now - self._last_progress >= self.progress_interval:
            self._show_progress(event, now)
        # Curves: on a new epoch, at most every chart_interval, and only while drawing has cost
        # less than `budget` of the training time so far. The page draws the final curves itself.
        if event.kind == "epoch" and not last and self._chart_allowed(now):
            self.draw_charts(event.history)

    def _chart_allowed(self, now: float) -> bool:
        return now - self._last_chart >= self.chart_interval and self.drawing_seconds <= self.budget * (now - self._started)

    # -- drawing ----------------------------------------------------------------------------------

    def _show_progress(self, event: TrainingEvent, now: float) -> None:
        self._last_progress = now
        self.progress_updates += 1
        self.progress.progress(event.fraction, text=progress_text(event))
        self.drawing_seconds += self.clock() - now

    def draw_charts(self, history: dict[str, list[float]], force: bool = False) -> None:
        """Redraw both curves when a new epoch arrived since the last drawing (or when forced)."""
        epochs = len(history.get("loss", []))
        if epochs == self._drawn_epochs and not force:
            return
        started = self._last_chart = self.clock()
        self._drawn_epochs = epochs
        self.chart_updates += 1
        for slot, metric in ((self.loss_chart, "loss"), (self.accuracy_chart, "accuracy")):
            figure = learning_curve(history, metric, epochs=self.config.epochs)
            # A distinct key per drawing: Streamlit refuses two identical elements in one run.
            slot.plotly_chart(figure, width="stretch", key=f"live-{metric}-{self._token}-{epochs}")
        self.drawing_seconds += self.clock() - started


class SweepProgress:
    """Listener for one cell of a sweep: one shared progress bar over all cells, throttled."""

    def __init__(self, progress, index: int, total: int, label: str, interval: float = 0.3, clock: Callable[[], float] = time.perf_counter):
        self.progress, self.index, self.total, self.label = progress, index, total, label
        self.interval, self.clock = interval, clock
        self._last = -float("inf")

    def __call__(self, event: TrainingEvent) -> None:
        now = self.clock()
        if event.kind == "waiting":
            text = f"cell {self.index + 1}/{self.total}: {self.label} · being trained in another session, waiting"
        elif event.kind in ("start", "end") or now - self._last >= self.interval:
            text = f"cell {self.index + 1}/{self.total}: {self.label} · {progress_text(event)}"
        else:
            return
        self._last = now
        self.progress.progress(min(1.0, (self.index + event.fraction) / self.total), text=text)
