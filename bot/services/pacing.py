"""How soon to ask fal about a job again.

A typical bot asks every 0.1 s. Tween asks rarely while nothing can have changed and often only when a finish is
due: far back in fal's queue, every few positions' worth of time; while a job runs, sparsely (at most every
`running_sparse_interval`, so even an early finish is seen within it) until the earliest finish seen for that model
and duration, then every `running_interval` so a finish is noticed within it.

History drifts (fal's runners get faster or slower during a day), so recent runs weigh more than old ones, and a run
that ends earlier than expected brings the next look of every running job of its model and duration forward at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from bot.settings import TrackerSettings

# Past runs are timed from the last look that saw the job queued, so they never understate how long a run takes.
HISTORY = 200
# A guessed run length counts as this many real runs: a first odd run moves the estimate, but does not make it.
PRIOR_WEIGHT = 3
# A run this many runs back counts half as much as the newest one.
HALF_LIFE = 20


@dataclass(frozen=True)
class RunSample:
    model: str
    duration: int
    seconds: float


class RunTimes:
    """Recent run lengths per (model, duration): the basis for the earliest likely finish of a running job."""

    def __init__(self, settings: TrackerSettings, keep: int = HISTORY) -> None:
        self._settings = settings
        self._keep = keep
        self._samples: dict[tuple[str, int], deque[float]] = {}
        # earliest() is asked on every look at a running job; runs finish far less often.
        self._earliest: dict[tuple[str, int], float | None] = {}

    def add(self, sample: RunSample) -> None:
        if sample.seconds <= 0:
            return
        key = (sample.model, sample.duration)
        self._samples.setdefault(key, deque(maxlen=self._keep)).append(sample.seconds)
        self._earliest.pop(key, None)

    def extend(self, samples: Iterable[RunSample]) -> None:
        for sample in samples:
            self.add(sample)

    def earliest(self, model: str, duration: int) -> float | None:
        """Seconds into a run before which a finish is unlikely; None until enough runs were seen."""
        key = (model, duration)
        if key not in self._earliest:
            self._earliest[key] = self._compute(self._samples.get(key))
        return self._earliest[key]

    def usual(self, model: str, duration: int) -> float:
        """How long a run of this model and duration usually takes, in seconds: a prior from the settings, moved
        towards the median of the runs seen as they come (the prior counts as PRIOR_WEIGHT runs)."""
        s = self._settings
        prior = s.usual_run_base + s.usual_run_per_second * duration
        samples = self._samples.get((model, duration))
        if not samples:
            return prior
        median = recent_quantile(samples, 0.5)
        return (PRIOR_WEIGHT * prior + len(samples) * median) / (PRIOR_WEIGHT + len(samples))

    def _compute(self, samples: deque[float] | None) -> float | None:
        if samples is None or len(samples) < self._settings.min_run_samples:
            return None
        return recent_quantile(samples, self._settings.early_quantile) * self._settings.early_margin


def recent_quantile(samples: Iterable[float], q: float) -> float:
    """The q-quantile of samples given oldest first, each weighing half as much per HALF_LIFE newer ones."""
    values = list(samples)
    newest = len(values) - 1
    weighted = sorted((value, 0.5 ** ((newest - i) / HALF_LIFE)) for i, value in enumerate(values))
    wanted = q * sum(weight for _, weight in weighted)
    total = 0.0
    for value, weight in weighted:
        total += weight
        if total > wanted:
            return value
    return weighted[-1][0]


class Pacer:
    """Intervals by state. With webhooks on, fal says when a job finishes and running jobs are only looked at as
    a fallback."""

    def __init__(self, settings: TrackerSettings, runs: RunTimes, *, fallback: float | None = None) -> None:
        self._settings = settings
        self.runs = runs
        self._fallback = fallback
        self._running: dict[int, tuple[str, int]] = {}  # job id -> (model, duration) of the jobs seen running

    def learn(self, job_id: int, sample: RunSample) -> list[int]:
        """A run ended: learn its length. The running jobs of its model and duration to look at soon, when it ended
        before the earliest finish expected (their sparse looks would see theirs late)."""
        self._running.pop(job_id, None)
        earliest = self.runs.earliest(sample.model, sample.duration)
        self.runs.add(sample)
        if self._fallback is not None or earliest is None or sample.seconds >= earliest:
            return []
        key = (sample.model, sample.duration)
        return [other for other, of in self._running.items() if of == key]

    def left(self, job_id: int) -> None:
        """The job is no longer watched (finished, failed, cancelled)."""
        self._running.pop(job_id, None)

    def queued(self, position: int | None) -> float:
        s = self._settings
        return min(s.queued_interval * (1 + max(position or 0, 0)), s.queued_interval_cap)

    def running(self, model: str, duration: int, elapsed: float, job_id: int | None = None) -> float:
        s = self._settings
        if job_id is not None:
            self._running[job_id] = (model, duration)
        if self._fallback is not None:
            return self._fallback
        earliest = self.runs.earliest(model, duration)
        if earliest is None or elapsed + s.running_interval >= earliest:
            return s.running_interval
        return min(s.running_sparse_interval, earliest - elapsed)
