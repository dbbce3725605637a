"""A look at a job while fal has it: its status (from the stream, or read), the move it calls for, and when to look
next. Part of JobTracker (bot/services/tracker.py), apart only to keep each module small."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.errors import FalApiError
from bot.fal import Completed, FalClient, Queued
from bot.fal.models import QueueStatus
from bot.models import FailureReason, Job, JobState, Transition
from bot.services.lifecycle import Lifecycle
from bot.services.pacing import Pacer
from bot.services.streams import StatusStreams
from bot.settings import TrackerSettings

log = logging.getLogger("bot.services.tracker")

# fal refuses a late start itself; only past this much more (at most the deadline again) does Tween ask it to stop.
DEADLINE_GRACE = 60.0
# While a job's stream is open, polls only check on it (a stream can stay connected yet fall silent): in fal's queue
# every QUEUE_CHECKS times queued_interval_cap seconds; once running, when the run has taken OVERDUE times its usual
# length, then every running_sparse_interval.
QUEUE_CHECKS = 4
OVERDUE = 1.5


class FalLooks:
    _fal: FalClient
    _lifecycle: Lifecycle
    _settings: TrackerSettings
    _streams: StatusStreams
    _heard: dict[int, QueueStatus]
    _queued_seen: dict[int, datetime]
    _asked_to_stop: set[int]
    pacer: Pacer

    async def _poll(self, job: Job) -> float | None:
        assert job.status_url is not None
        status = self._heard.pop(job.id, None)  # what the stream said since the last look; else ask fal
        if status is None:
            try:
                status = await self._fal.status(job.status_url)
            except FalApiError as exc:
                if exc.status == 404:
                    await self._fail(job, FailureReason.LOST, "fal no longer knows this request")
                    return None
                raise
            # Heard while fal answered: it may be older than the answer. The look it asked for asks fal again.
            self._heard.pop(job.id, None)
        if isinstance(status, Completed):
            return await self._finish(job, status)
        self._streams.follow(job.id, job.status_url)
        if isinstance(status, Queued):
            next_look = await self._queued(job, status.position)
        else:
            next_look = await self._running(job)
        if self._streams.live(job.id):
            return self._checked_in(job, status)
        if (reopen := self._streams.retry_in(job.id)) is not None:
            return min(next_look, reopen + 0.01)  # polled meanwhile; that look opens the stream again
        return next_look

    def _checked_in(self, job: Job, status: QueueStatus) -> float:
        """When to poll a job whose stream is open anyway: a stream may stay connected yet fall silent."""
        now = self._lifecycle.clock()
        if isinstance(status, Queued):
            sent = job.submitted_at or job.created_at
            waited = (now - sent).total_seconds()
            deadline = self._settings.queue_deadline + min(DEADLINE_GRACE, self._settings.queue_deadline) - waited
            check = QUEUE_CHECKS * self._settings.queued_interval_cap
            return max(min(check, deadline), self._settings.queued_interval) + 0.01
        started = job.started_at or self._queued_seen.get(job.id) or job.submitted_at or now
        overdue = OVERDUE * self.pacer.runs.usual(job.model, job.duration) - (now - started).total_seconds()
        return max(overdue, self._settings.running_sparse_interval)

    async def _queued(self, job: Job, position: int | None) -> float | None:
        if self._past_deadline(job):
            await self._give_up_queue(job)
        self._queued_seen[job.id] = self._lifecycle.clock()
        if job.state is JobState.RUNNING:  # fal put it back in its queue (a retry on another runner)
            await self._shown(await self._lifecycle.move(job, Transition.REQUEUED, queue_position=position))
        elif job.queue_position != position:
            await self._shown(await self._lifecycle.note(job, while_in=[JobState.QUEUED], queue_position=position))
        return self.pacer.queued(position)

    async def _running(self, job: Job) -> float:
        started = job.started_at
        if job.state is not JobState.RUNNING or started is None:
            started = self._queued_seen.pop(job.id, None) or job.submitted_at or self._lifecycle.clock()
            if job.state is JobState.QUEUED:
                moved = await self._lifecycle.move(job, Transition.START, queue_position=None, started_at=started)
            else:
                moved = await self._lifecycle.note(job, while_in=[JobState.RUNNING], started_at=started)
            await self._shown(moved)
            log.info("job %d: running at fal", job.id, extra=job.log_ids)
        elapsed = (self._lifecycle.clock() - started).total_seconds()
        return self.pacer.running(job.model, job.duration, elapsed, job.id)

    def _past_deadline(self, job: Job) -> bool:
        """fal refuses a start past the deadline sent with the submit; a job still queued well after it (a job
        submitted before Tween sent one) is asked to stop."""
        sent = job.submitted_at or job.created_at
        waited = (self._lifecycle.clock() - sent).total_seconds()
        grace = min(DEADLINE_GRACE, self._settings.queue_deadline)
        return waited > self._settings.queue_deadline + grace and job.id not in self._asked_to_stop

    async def _give_up_queue(self, job: Job) -> None:
        """Ask fal to cancel a job left in its queue too long. Only a request: fal's answer decides the money."""
        assert job.cancel_url is not None
        answer = await self._fal.cancel(job.cancel_url)
        self._asked_to_stop.add(job.id)
        minutes = self._settings.queue_deadline / 60
        log.warning("job %d: still queued at fal after %.0f min; asked it to stop (%s)", job.id, minutes, answer)

    # JobTracker's.

    async def _finish(self, job: Job, status: Completed) -> float | None:
        raise NotImplementedError

    async def _fail(self, job: Job, reason: FailureReason, detail: str) -> None:
        raise NotImplementedError

    async def _shown(self, job: Job | None) -> None:
        raise NotImplementedError
