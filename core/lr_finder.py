"""Smith's learning-rate range test: which learning rate should I pick?

One short run from a fresh model in which the learning rate grows exponentially from `start` to
`end` over at most `steps` batches (one value per batch), recording the loss of every batch. The
loss first barely moves (the rate is too small), then falls fast (good rates), then explodes (too
big). The run stops as soon as the smoothed loss exceeds `explode_factor` x its lowest value.

The suggestion is the rate where the smoothed loss falls fastest: the steepest negative slope of
the smoothed loss against log10(learning rate), looked for between the first tenth of the run and
the lowest smoothed loss (fastai's "steepest" rule, Leslie Smith 2015). The lowest point divided
by ten (fastai's older "min/10" rule) is kept beside it for the chart. Both are rounded to one
significant digit and kept within the learning rates a RunConfig accepts.

The maths (schedule, smoothing, divergence, suggestion) is pure numpy and imports no TensorFlow;
`range_test` is the one function that trains. A result is cached per configuration minus its
learning rate, schedule, epochs and early stopping (none of them changes a range test), through
core.cache (`store_result` / `load_result`), so a second visitor gets it at once.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.config import RANGES, SCHEMA_VERSION, RunConfig

RESULT_KIND = "lr_finder"
SMOOTHING = 0.8  # weight of the exponential moving average: ~5 batches of memory (a third of a decade of rate)
MIN_STEPS_BEFORE_STOP = 5  # the first smoothed values are noisy: never stop before this many batches
EARLY_SHARE = 0.1  # the suggestion is not looked for in the first tenth of the run (smoothing warms up)
LOWEST_RATE, HIGHEST_RATE = RANGES["learning_rate"][0], RANGES["learning_rate"][1]
START_CHOICES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4)  # the page's "start at" choices
# Options that do not change a range test: the finder sweeps the rate itself, for one short run.
IGNORED_FIELDS = ("learning_rate", "lr_schedule", "epochs", "early_stopping")


@dataclass(frozen=True)
class RangeSettings:
    """How the range test sweeps: from `start` to `end` over at most `steps` batches."""

    start: float = 1e-6
    end: float = 1.0
    steps: int = 100
    explode_factor: float = 4.0

    def __post_init__(self) -> None:
        if not (0 < self.start < self.end) or not all(math.isfinite(v) for v in (self.start, self.end)):
            raise ValueError(f"the range test needs 0 < start < end, got start={self.start:g}, end={self.end:g}")
        if not (isinstance(self.steps, int) and 10 <= self.steps <= 1000):
            raise ValueError(f"the range test takes 10 to 1000 steps, got {self.steps!r}")
        if not self.explode_factor > 1:
            raise ValueError(f"explode_factor must be above 1, got {self.explode_factor!r}")


# -- the pure maths ----------------------------------------------------------------------------


def learning_rates(settings: RangeSettings) -> np.ndarray:
    """The rate of every batch: `start` * (end/start)^(i/(steps-1)), i = 0..steps-1 (log-evenly spaced)."""
    return np.geomspace(settings.start, settings.end, settings.steps)


def running_average(losses: np.ndarray, beta: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average with bias correction (the first value is the first loss): what the
    stop rule sees while the test runs (it only knows the batches so far)."""
    losses = np.asarray(losses, dtype=float)
    averaged = np.empty_like(losses)
    average = 0.0
    for index, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        averaged[index] = average / (1 - beta ** (index + 1))
    return averaged


def smooth(losses: np.ndarray, beta: float = SMOOTHING) -> np.ndarray:
    """The curve the chart and the suggestion read: the running average run forwards, then backwards.

    A one-way average lags behind the losses by ~beta/(1-beta) batches (at 0.98, fastai's value, that
    is three decades of learning rate in a 100-batch sweep), which would move the steepest point to
    too big a rate; forwards-then-backwards cancels the lag.
    """
    losses = np.asarray(losses, dtype=float)
    finite = np.isfinite(losses)
    count = len(losses) if finite.all() else int(np.argmin(finite))  # up to the first nan/inf (an explosion)
    smoothed = np.full(losses.shape, np.nan)
    if count:
        smoothed[:count] = running_average(running_average(losses[:count], beta)[::-1], beta)[::-1]
    return smoothed


def exploded(smoothed: np.ndarray, factor: float = 4.0) -> bool:
    """True when the last smoothed loss is not finite or above `factor` x the lowest so far (after a few steps)."""
    if len(smoothed) == 0:
        return False
    last = smoothed[-1]
    if not math.isfinite(last):
        return True
    return len(smoothed) >= MIN_STEPS_BEFORE_STOP and last > factor * float(np.nanmin(smoothed))


def divergence_index(smoothed: np.ndarray, factor: float = 4.0) -> int | None:
    """The first index at which `exploded` holds for the values up to it, or None."""
    for index in range(len(smoothed)):
        if exploded(smoothed[: index + 1], factor):
            return index
    return None


def round_rate(rate: float) -> float:
    """One significant digit (0.00234 -> 0.002), within the rates a RunConfig accepts."""
    rounded = float(f"{rate:.0e}")
    return min(HIGHEST_RATE, max(LOWEST_RATE, rounded))


@dataclass(frozen=True)
class Suggestion:
    """What the curve says. `rate` is None when the curve shows no descent to read one from."""

    rate: float | None  # steepest descent (rounded): the value "Use this learning rate" sets
    steepest_at: float | None  # the raw rate at the steepest descent (the chart marks it)
    minimum_at: float | None  # the rate at the lowest smoothed loss
    min_over_ten: float | None  # the lowest point / 10 (rounded), the older rule, shown beside it
    diverged_at_once: bool  # the loss rose from the start: the start rate is already too big
    # rate None and not diverged_at_once: the curve fell too little to read (too noisy or flat)


def suggest(rates: np.ndarray, smoothed: np.ndarray) -> Suggestion:
    """The steepest descent of the smoothed loss vs log10(rate), looked for before its lowest point."""
    rates, smoothed = np.asarray(rates, dtype=float), np.asarray(smoothed, dtype=float)
    finite = np.isfinite(smoothed)
    if finite.sum() < 3:
        return Suggestion(None, None, None, None, True)
    rates, smoothed = rates[finite], smoothed[finite]
    lowest = int(np.argmin(smoothed))
    skip = max(1, int(len(smoothed) * EARLY_SHARE))
    minimum_at = float(rates[lowest])
    # Fell by less than 10 % before its lowest point: no descent to read. Rising well above it afterwards
    # means the start rate is too big already; else the curve is flat or too noisy.
    fell = smoothed[0] - smoothed[lowest] > 0.1 * abs(smoothed[0])
    if lowest - skip < 2 or not fell:
        rose = lowest <= skip and float(np.max(smoothed[lowest:])) > 1.5 * float(smoothed[lowest])
        return Suggestion(None, None, minimum_at, None, rose)
    window = slice(skip, lowest + 1)
    slopes = np.gradient(smoothed[window], np.log10(rates[window]))
    steepest_at = float(rates[window][int(np.argmin(slopes))])
    return Suggestion(round_rate(steepest_at), steepest_at, minimum_at, round_rate(minimum_at / 10), False)


# -- results and their cache --------------------------------------------------------------------


@dataclass
class RangeResult:
    """One range test: the rate and loss of every batch it ran, why it ended, and how long it took."""

    settings: RangeSettings
    rates: np.ndarray
    losses: np.ndarray
    stopped: str  # "exploded" (the loss blew up), "end" (reached `end`), "cancelled"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def smoothed(self) -> np.ndarray:
        return smooth(self.losses)

    @property
    def suggestion(self) -> Suggestion:
        return suggest(self.rates, self.smoothed)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "rates": np.asarray(self.rates, dtype=np.float64), "losses": np.asarray(self.losses, dtype=np.float64),
            "stopped": np.array(self.stopped), "seconds": np.float64(self.seconds),
            "settings": np.array(json.dumps(asdict(self.settings))),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> RangeResult:
        """Rebuild a stored result; ValueError when the arrays are not one."""
        try:
            settings = RangeSettings(**json.loads(str(arrays["settings"])))
            rates = np.asarray(arrays["rates"], dtype=float)
            losses = np.asarray(arrays["losses"], dtype=float)
            stopped, seconds = str(arrays["stopped"]), float(arrays["seconds"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a range test result ({error})") from None
        if rates.ndim != 1 or rates.shape != losses.shape or stopped not in ("exploded", "end", "cancelled"):
            raise ValueError("not a range test result (shapes or stop reason)")
        return cls(settings, rates, losses, stopped, seconds)


def canonical_config(config: RunConfig) -> RunConfig:
    """`config` with the fields a range test ignores set to their defaults."""
    defaults = RunConfig()
    return config.replace(**{name: getattr(defaults, name) for name in IGNORED_FIELDS})


def finder_key(config: RunConfig, settings: RangeSettings | None = None) -> str:
    """16 hex digits naming the range test of `config` minus its learning rate (and schedule, epochs):
    never equal to a training's key (a different canonical text is hashed)."""
    settings = settings or RangeSettings()
    canonical = json.dumps(
        {"kind": RESULT_KIND, "schema": SCHEMA_VERSION, "config": canonical_config(config).to_dict(), "settings": asdict(settings)},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def describe(config: RunConfig, settings: RangeSettings | None = None) -> str:
    """One line for progress and job lists, e.g. 'LR range test 1e-06 → 1 of MLP 64-64 (adam, batch 128, embedded)'."""
    settings = settings or RangeSettings()
    return (f"LR range test {settings.start:g} → {settings.end:g} of {config.architecture()} "
            f"({config.optimizer}, batch {config.batch_size}, {config.dataset})")


def load(config: RunConfig, settings: RangeSettings | None = None) -> RangeResult | None:
    """The cached range test of `config` (minus its learning rate), or None (none, or unreadable)."""
    from core import cache

    arrays = cache.load_result(RESULT_KIND, finder_key(config, settings))
    if arrays is None:
        return None
    try:
        return RangeResult.from_arrays(arrays)
    except ValueError:
        return None


def store(config: RunConfig, result: RangeResult) -> None:
    from core import cache

    cache.store_result(RESULT_KIND, finder_key(config, result.settings), result.to_arrays())


def notes_for(config: RunConfig) -> list[str]:
    """What a student should know before reading the curve of `config`."""
    notes = []
    if config.lr_schedule != "constant":
        notes.append(
            f"This configuration uses the {config.lr_schedule} learning-rate schedule; the range test ignores it "
            "(it sweeps the rate itself). The suggested value is the schedule's starting rate."
        )
    if config.task == "toy":
        notes.append("Toy 2-D data has very few points per batch: the curve is noisy; read the suggestion as a rough guide.")
    return notes


def explain(result: RangeResult) -> str:
    """One or two sentences for the page: what to pick, or why nothing can be suggested."""
    suggestion = result.suggestion
    if result.stopped == "cancelled":
        return "The range test was stopped before it ended; nothing was cached. Run it again to get a suggestion."
    if suggestion.diverged_at_once:
        lower = max(START_CHOICES[0], result.settings.start / 100)
        return (
            f"The loss rose from the very first batches (from {result.settings.start:g}): even the starting rate is too big "
            f"for this model, so there is no descent to read a suggestion from. Start lower, e.g. at {lower:g}."
        )
    if suggestion.rate is None:
        return (
            f"The loss did not fall clearly anywhere between {result.settings.start:g} and {result.rates[-1]:.2g} (batches of this "
            "size are noisy, or the model barely learns in 100 batches), so there is no suggestion. Try a bigger batch size, "
            "or keep a usual value for this optimizer (adam: 0.001; sgd: 0.01-0.1)."
        )
    text = (
        f"Suggested learning rate: **{suggestion.rate:g}** — where the smoothed loss falls fastest "
        f"(the lowest loss was at {suggestion.minimum_at:.2g}; the older rule, a tenth of that, gives {suggestion.min_over_ten:g})."
    )
    if result.stopped == "end":
        text += f" The loss never exploded up to {result.settings.end:g}."
    else:
        text += f" The loss exploded at {result.rates[-1]:.2g}: never go near that."
    return text


# -- the one function that trains -----------------------------------------------------------------

StepListener = Callable[[int, np.ndarray, np.ndarray], Any]  # (steps done, rates so far, losses so far)


def range_test(config: RunConfig, settings: RangeSettings | None = None, on_step: StepListener | None = None) -> RangeResult:
    """Run the range test on a fresh model of `config` (its training split, shuffled with its seed).

    `on_step(done, rates, losses)` is called after every batch; it may raise core.training.StopTraining
    to end the test early (the result is then marked "cancelled"). The config's schedule is ignored.
    """
    from core.data import load_data
    from core.models import build_model, compile_model
    from core.training import StopTraining, targets

    settings = settings or RangeSettings()
    notes = notes_for(config)
    config = config.replace(lr_schedule="constant")
    splits = load_data(config)
    model = build_model(config, splits.x_train)
    compile_model(model, config, steps_per_epoch=1)
    x, y = splits.x_train, targets(config, splits.y_train)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(x))
    batch = min(config.batch_size, len(x))
    schedule = learning_rates(settings)
    losses: list[float] = []
    position, stopped, started = 0, "end", time.perf_counter()
    for step, rate in enumerate(schedule):
        if position + batch > len(order):  # a new pass over the training split
            order, position = rng.permutation(len(x)), 0
        indices = order[position:position + batch]
        position += batch
        model.optimizer.learning_rate = float(rate)
        logs = model.train_on_batch(x[indices], y[indices], return_dict=True)
        losses.append(float(logs["loss"]))
        try:
            if on_step is not None:
                on_step(step + 1, schedule[: step + 1], np.asarray(losses))
        except StopTraining:
            stopped = "cancelled"
            break
        if exploded(running_average(np.asarray(losses)), settings.explode_factor):
            stopped = "exploded"
            break
    done = len(losses)
    return RangeResult(settings, schedule[:done].copy(), np.asarray(losses), stopped, time.perf_counter() - started, notes)
