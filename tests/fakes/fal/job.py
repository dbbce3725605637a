"""One job's timeline, computed from the clock on every look so thousands of jobs cost nothing between looks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.fal.checks import Detail
from tests.fakes.fal.model import JobScript, SubmitRecord

IN_QUEUE, IN_PROGRESS, COMPLETED = "IN_QUEUE", "IN_PROGRESS", "COMPLETED"
CANCELLED_ERROR, CANCELLED_TYPE = "Request was cancelled", "client_cancelled"
TICK = 0.001


@dataclass
class Job:
    record: SubmitRecord
    script: JobScript
    urls: dict[str, str]
    submitted_wall: datetime
    queue_end: float | None = None  # None: held in the queue until released
    run_end: float | None = None  # None: not started yet, or held running until released
    cancelled: bool = False
    problems: list[Detail] = field(default_factory=list)
    fetching: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        if self.script.queue_seconds is not None:
            self._leave_queue(self.record.received_at + self.script.queue_seconds)

    @property
    def request_id(self) -> str:
        return self.record.request_id

    def _leave_queue(self, at: float) -> None:
        self.queue_end = at
        if self.script.run_seconds is not None:
            self.run_end = at + self.script.run_seconds

    def release(self, now: float) -> None:
        phase = self.phase(now)
        if phase == IN_QUEUE:
            self._leave_queue(now)
        elif phase == IN_PROGRESS and (self.run_end is None or self.run_end > now):
            self.run_end = now

    def phase(self, now: float) -> str:
        if self.cancelled:
            return COMPLETED
        if self.queue_end is None or now < self.queue_end:
            return IN_QUEUE
        # The runner cannot finish before it has the frames.
        if self.run_end is None or now < self.run_end or (self.fetching is not None and not self.fetching.done()):
            return IN_PROGRESS
        return COMPLETED

    def position(self, now: float) -> int:
        start, seconds = self.script.queue_position, self.script.queue_seconds
        if self.queue_end is None or not seconds:
            return start
        # start+1 equal steps: start, start-1, ..., 0 (0 = next to run).
        left = max(0.0, (self.queue_end - now) / seconds)
        return max(0, min(start, int((start + 1) * left)))

    def next_change(self, now: float) -> float | None:
        """Seconds until the status is due to change by the clock alone; None when only a release or the frame
        fetch can change it."""
        phase = self.phase(now)
        if phase == IN_QUEUE and self.queue_end is not None:
            start, seconds, position = self.script.queue_position, self.script.queue_seconds or 0.0, self.position(now)
            step = self.queue_end - seconds * position / (start + 1) if position else self.queue_end
            return max(0.0, step - now) + TICK
        if phase == IN_PROGRESS and self.run_end is not None and now < self.run_end:
            return self.run_end - now + TICK
        return None

    def status(self, now: float, *, logs: bool) -> tuple[int, dict[str, Any]]:
        """HTTP status and body of GET …/status as fal shapes it (reference §2)."""
        phase = self.phase(now)
        body: dict[str, Any] = {
            "status": phase,
            "request_id": self.request_id,
            "response_url": self.urls["response_url"],
            "logs": self._logs(phase) if logs else None,
        }
        if phase == IN_QUEUE:
            body["queue_position"] = self.position(now)
            return 202, body
        if phase == IN_PROGRESS:
            return 202, body
        if self.cancelled:
            return 200, body | {"metrics": {}, "error": CANCELLED_ERROR, "error_type": CANCELLED_TYPE}
        assert self.queue_end is not None and self.run_end is not None
        body["metrics"] = {"inference_time": round(self.run_end - self.queue_end, 3)}
        # A frame fal could not use is a validation error, which shows only at the result (reference §2).
        if self.script.outcome == "error" and not self.problems:
            body |= {"error": self.script.error, "error_type": self.script.error_type}
        return 200, body

    def _logs(self, phase: str) -> list[dict[str, str]]:
        if phase == IN_QUEUE or self.cancelled:
            return []
        return [
            {
                "message": message,
                "level": "INFO",
                "source": "USER",
                "timestamp": _iso(self.submitted_wall + timedelta(milliseconds=10 * (n + 1))),
            }
            for n, message in enumerate(self.script.logs)
        ]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_now(after: timedelta = timedelta()) -> str:
    return _iso(datetime.now(UTC) + after)
