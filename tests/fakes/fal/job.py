"""One job's timeline, computed from the clock on every look so thousands of jobs cost nothing between looks."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.fal.checks import Detail
from tests.fakes.fal.model import JobHistory, JobScript, SubmitRecord

IN_QUEUE, IN_PROGRESS, COMPLETED = "IN_QUEUE", "IN_PROGRESS", "COMPLETED"
CANCELLED_ERROR, CANCELLED_TYPE = "Request was cancelled", "client_cancelled"
TIMED_OUT_ERROR, TIMED_OUT_TYPE = "Request timed out", "request_timeout"
# How a job ended: cancelled before it could finish, refused a start after its deadline, or ran to its end.
CANCELLED, TIMED_OUT, FINISHED = "cancelled", "timed_out", "finished"
TICK = 0.001


@dataclass
class Job:
    record: SubmitRecord
    script: JobScript
    urls: dict[str, str]
    submitted_wall: datetime
    queue_end: float | None = None  # None: held in the queue until released
    run_end: float | None = None  # None: not started yet, or held running until released
    deadline: float | None = None  # from X-Fal-Request-Timeout: fal starts it by then or never
    cancel_requested_at: float | None = None
    cancelled_at: float | None = None  # only set when the cancel ends the job
    fetched_at: float | None = None  # when the runner had the frames (or gave up on them)
    gateway_request_id: str = ""
    problems: list[Detail] = field(default_factory=list)
    fetching: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        if self.script.queue_seconds is not None:
            self._leave_queue(self.record.received_at + self.script.queue_seconds)
        if not self.gateway_request_id:
            self.gateway_request_id = str(uuid.uuid4()) if self.script.retried_at_fal else self.request_id

    @property
    def request_id(self) -> str:
        return self.record.request_id

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    def fetch_done(self, at: float) -> None:
        self.fetched_at = at

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

    def cancel(self, now: float) -> None:
        """A cancel fal answered 202 (the job had not completed): what it does depends on the phase and the script."""
        phase = self.phase(now)
        if self.cancel_requested_at is None:
            self.cancel_requested_at = now
        if phase == IN_QUEUE and self.script.cancel_races_start:
            self._leave_queue(now)  # the runner took it as the cancel arrived
        elif phase == IN_QUEUE or self.script.cancel_honoured:
            self.cancelled_at = now

    def _timeout_at(self) -> float | None:
        if self.deadline is None or (self.queue_end is not None and self.queue_end <= self.deadline):
            return None
        return self.deadline

    def _finish_at(self) -> float | None:
        # The runner cannot finish before it has the frames.
        if self.run_end is None or (self.fetching is not None and self.fetched_at is None):
            return None
        return max(self.run_end, self.fetched_at or self.run_end)

    def ending(self, now: float) -> tuple[float, str] | None:
        """When and how the job completed, or None while it is still queued or running."""
        candidates = ((self.cancelled_at, CANCELLED), (self._timeout_at(), TIMED_OUT), (self._finish_at(), FINISHED))
        return min(((at, how) for at, how in candidates if at is not None and at <= now), default=None)

    def started_at(self) -> float | None:
        """When a runner took the job; None if none did (or none has yet)."""
        if self.queue_end is None or self._timeout_at() is not None:
            return None
        if self.cancelled_at is not None and self.cancelled_at <= self.queue_end:
            return None
        return self.queue_end

    def phase(self, now: float) -> str:
        if self.ending(now) is not None:
            return COMPLETED
        started = self.started_at()
        return IN_PROGRESS if started is not None and started <= now else IN_QUEUE

    def made_video(self, now: float) -> bool:
        """Ran to its end with a video: what fal bills."""
        ending = self.ending(now)
        return ending is not None and ending[1] == FINISHED and not self.problems and self.script.outcome == "ok"

    def history(self, now: float) -> JobHistory:
        ending = self.ending(now)
        started = self.started_at()
        return JobHistory(
            request_id=self.request_id,
            queued=True,
            started=started is not None and started <= now,
            cancel_requested=self.cancel_requested_at is not None,
            cancelled=ending is not None and ending[1] == CANCELLED,
            timed_out=ending is not None and ending[1] == TIMED_OUT,
            billed=self.made_video(now),
        )

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
        if phase == IN_QUEUE:
            moments = [self._next_step(now), self.deadline]
            due = [at for at in moments if at is not None]
            return max(0.0, min(due) - now) + TICK if due else None
        if phase == IN_PROGRESS and self.run_end is not None and now < self.run_end:
            return self.run_end - now + TICK
        return None

    def _next_step(self, now: float) -> float | None:
        """When the queue position next drops (or the job leaves the queue)."""
        if self.queue_end is None:
            return None
        start, seconds, position = self.script.queue_position, self.script.queue_seconds or 0.0, self.position(now)
        return self.queue_end - seconds * position / (start + 1) if position else self.queue_end

    def status(self, now: float, *, logs: bool) -> tuple[int, dict[str, Any]]:
        """HTTP status and body of GET …/status as fal shapes it (reference §2)."""
        phase, ending = self.phase(now), self.ending(now)
        body: dict[str, Any] = {
            "status": phase,
            "request_id": self.request_id,
            "response_url": self.urls["response_url"],
            "logs": self._logs(phase, ending) if logs else None,
        }
        if phase == IN_QUEUE:
            body["queue_position"] = self.position(now)
            return 202, body
        if ending is None:
            return 202, body
        if ending[1] == CANCELLED:
            return 200, body | {"metrics": {}, "error": CANCELLED_ERROR, "error_type": CANCELLED_TYPE}
        if ending[1] == TIMED_OUT:
            return 200, body | {"metrics": {}, "error": TIMED_OUT_ERROR, "error_type": TIMED_OUT_TYPE}
        assert self.queue_end is not None and self.run_end is not None
        body["metrics"] = {"inference_time": round(self.run_end - self.queue_end, 3)}
        # A frame fal could not use is a validation error, which shows only at the result (reference §2); so does a
        # run that failed with outcome="result_error".
        if self.script.outcome == "error" and not self.problems:
            body |= {"error": self.script.error, "error_type": self.script.error_type}
        return 200, body

    def _logs(self, phase: str, ending: tuple[float, str] | None) -> list[dict[str, str]]:
        if phase == IN_QUEUE or (ending is not None and ending[1] != FINISHED):
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
