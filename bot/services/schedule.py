"""When each job gets its next look: a heap of (due, job id) with one wake-up event. The tracker runs it; any
service that hands a job to the tracker calls `watch` (a new submit, a cancel, a decision)."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque

# How many recent looks the lateness figures cover.
LATENESS_KEPT = 1_000


class Schedule:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._due: dict[int, float] = {}
        self._deferred: set[int] = set()  # asked for while their look was running: looked at again after it
        self.changed = asyncio.Event()
        # How late recent looks started against their plan: a tracker falling behind shows here first (its event
        # loop may lag little while every look waits its turn).
        self.lateness: deque[float] = deque(maxlen=LATENESS_KEPT)

    def watch(self, job_id: int, delay: float = 0.0) -> None:
        """Look at the job after `delay` seconds (a sooner look wins over a later one already planned)."""
        due = time.monotonic() + delay
        current = self._due.get(job_id)
        if current is not None and current <= due:
            return
        self._due[job_id] = due
        heapq.heappush(self._heap, (due, job_id))
        self.changed.set()

    def pop_due(self, busy: set[int]) -> int | None:
        """The next job whose look is due now and not already running; None when none is."""
        now = time.monotonic()
        while self._heap and self._heap[0][0] <= now:
            due, job_id = heapq.heappop(self._heap)
            if self._due.get(job_id) != due:
                continue  # superseded by a sooner look
            del self._due[job_id]
            if job_id in busy:
                # Its look is running and read the row before whatever asked for this one: another follows it.
                self._deferred.add(job_id)
                continue
            self.lateness.append(now - due)
            return job_id
        return None

    def finished(self, job_id: int) -> None:
        """A look ended: one asked for while it ran happens now."""
        if job_id in self._deferred:
            self._deferred.discard(job_id)
            self.watch(job_id)

    def late(self, q: float) -> float:
        """The q-quantile of how late recent looks started, in seconds (0 before any)."""
        if not self.lateness:
            return 0.0
        ordered = sorted(self.lateness)
        return ordered[min(int(len(ordered) * q), len(ordered) - 1)]

    def due_in(self, job_id: int) -> float | None:
        """Seconds until the job's planned look; None when none is planned (or its look is running)."""
        due = self._due.get(job_id)
        return None if due is None else due - time.monotonic()

    def seconds_to_next(self) -> float | None:
        return self._heap[0][0] - time.monotonic() if self._heap else None

    def __len__(self) -> int:
        return len(self._due)
