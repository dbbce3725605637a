"""One task that watches every unfinished job from the database: follows fal's word on it (its status stream, or a
poll), settles money, hands videos to the delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.db.jobs import JobRepo
from bot.errors import DeliveryFailed, FalApiError, FalError
from bot.fal import Completed, FalClient
from bot.fal.models import ERROR_WORDS, QueueStatus, failure_words
from bot.fal.retry import should_retry_status
from bot.models import ANNOUNCED, FailureReason, Job, JobState, LogEvent, Transition
from bot.services.board import Board
from bot.services.budget import BudgetService
from bot.services.delivery import Delivery, sweep_stale_downloads
from bot.services.lifecycle import Lifecycle
from bot.services.looks import FalLooks
from bot.services.pacing import HISTORY, Pacer, RunSample, RunTimes
from bot.services.schedule import Schedule
from bot.services.streams import StatusStreams
from bot.settings import Settings

log = logging.getLogger(__name__)

# fal's error types for a run that ended without a video because it was cancelled, or not started in time.
CANCELLED_AT_FAL = "client_cancelled"
NOT_STARTED_IN_TIME = "request_timeout"


class Peers(Protocol):
    """The other processes on the same database (bot/db/pg_wake.py)."""

    async def wake(self, request_id: str) -> None: ...

    async def freed(self) -> None: ...


@dataclass(frozen=True)
class TrackerState:
    """For /health and /metrics."""

    running: bool
    watched: int  # jobs scheduled for a look
    idle_seconds: float  # since the tracker's loop last did anything
    transcodes_running: int = 0  # videos being re-encoded to fit an upload limit
    transcodes_waiting: int = 0  # and queued behind media.max_transcodes
    late_p50: float = 0.0  # how late recent looks started against their schedule, seconds
    late_p99: float = 0.0


class JobTracker(FalLooks):
    """Schedules each job's next look by its state; at most `workers` looks run at once, and fal reads are
    rate-limited inside the client."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        rows: JobRepo,
        start_waiting: Callable[[], Awaitable[object]],
        budget: BudgetService,
        board: Board,
        fal: FalClient,
        settings: Settings,
        schedule: Schedule,
        *,
        workers: int = 64,
    ) -> None:
        self._lifecycle = lifecycle
        self._rows = rows
        self._start_waiting = start_waiting  # the job service's: fills slots that free up
        self._budget = budget
        self._board = board
        self._fal = fal
        self._settings = settings.tracker
        self._shards = settings.discord.shards  # only the jobs of guilds on these shards are this process's
        self._schedule = schedule
        self._delivery = Delivery(lifecycle, board, fal, settings.tracker, settings.media)
        fallback = settings.webhooks.fallback_interval if settings.webhooks.enabled else None
        self.pacer = Pacer(settings.tracker, RunTimes(settings.tracker), fallback=fallback)
        # When each job was last seen waiting in fal's queue: its run began after that.
        self._queued_seen: dict[int, datetime] = {}
        self._asked_to_stop: set[int] = set()
        self._last_tick = time.monotonic()
        self._errors: dict[int, int] = {}
        self._active: set[int] = set()
        self._workers = asyncio.Semaphore(workers)
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self.resumed = 0
        self._handlers: set[asyncio.Task[None]] = set()
        # fal's status stream hands what it hears to the job's next look; a look with nothing heard asks fal.
        self._streams = StatusStreams(settings.fal, fal.stream, self._heard_from_stream, self._stream_lost)
        self._heard: dict[int, QueueStatus] = {}
        # Set when several processes share the database: what this one learns that another must act on.
        self.peers: Peers | None = None

    async def start(self) -> None:
        """Settle jobs a crash left mid-step, then watch every unfinished job of the guilds this process serves."""
        await asyncio.to_thread(sweep_stale_downloads)
        runs = await self._rows.recent_runs(HISTORY)
        self.pacer.runs.extend(RunSample(model, duration, seconds) for model, duration, seconds in reversed(runs))
        for job in await self._rows.list_open(self._shards):
            await self._recover(job)
        self._loop_task = asyncio.create_task(self._run(), name="job-tracker")
        await self._start_waiting()
        log.info("tracker started with %d job(s) to watch", len(self._schedule))

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping = True
        self._schedule.changed.set()
        if self._loop_task:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        await self._streams.close()
        if self._handlers:
            _, pending = await asyncio.wait(self._handlers, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._delivery.close()

    async def notice(self, request_id: str, *, relay: bool = True) -> bool:
        """fal says this request finished (a webhook): look at its job now. False if no job has that request.

        A job of another process's guild is passed on to its owner through `peers`, unless this notice was itself
        passed on (`relay=False`): a relayed notice is never relayed again."""
        job = await self._rows.by_request_id(request_id)
        if job is None:
            return False
        if not self._shards.owns(job.guild_id):
            if relay and self.peers is not None and job.state.at_fal:
                await self._pass_on(job, request_id)
            else:
                log.debug("job %d: fal reported it finished; another process serves it", job.id, extra=job.log_ids)
            return True
        if job.state.at_fal:
            log.info("job %d: fal reported it finished", job.id, extra=job.log_ids)
            self._schedule.watch(job.id)
        return True

    async def _pass_on(self, job: Job, request_id: str) -> None:
        assert self.peers is not None
        try:
            await self.peers.wake(request_id)
        except Exception as exc:  # the owner's own poll still finds the finish, only later
            log.warning("job %d: could not pass fal's finish on to its owner (%s)", job.id, exc, extra=job.log_ids)
            return
        log.info("job %d: fal reported it finished; passed on to the process that serves it", job.id, extra=job.log_ids)

    def next_look_in(self, job_id: int) -> float | None:
        return self._schedule.due_in(job_id)

    def usual_run(self, model: str, duration: int) -> float:
        """Seconds a run of this model and duration usually takes at fal, from the runs this bot has seen."""
        return self.pacer.runs.usual(model, duration)

    def state(self) -> TrackerState:
        """For /health and /metrics: is the scheduler alive, how many jobs it watches, and since when it slept."""
        running = self._loop_task is not None and not self._loop_task.done()
        watched = len(self._schedule) + len(self._active)
        fitter = self._delivery.fitter
        late = self._schedule.late
        idle = time.monotonic() - self._last_tick
        return TrackerState(running, watched, idle, fitter.running, fitter.waiting, late(0.5), late(0.99))

    async def _recover(self, job: Job) -> None:
        no_card = job.card_message_id is None and job.state in (JobState.UPLOADED, JobState.AWAITING_APPROVAL)
        if job.state is JobState.RESERVED or no_card:
            # The member's command died with the old process before anything was submitted (or shown to anyone).
            await self._lifecycle.fail(job, FailureReason.RESTARTED, "restarted before submit", notified=True)
            return
        if job.state is JobState.UPLOADED:
            # Placed but not yet queued when the old process stopped: it joins our queue.
            await self._lifecycle.move(job, Transition.ENQUEUE)
            return
        if job.state is JobState.SUBMITTING:
            log.error("job %d: restarted while submitting; fate unknown, reservation held", job.id)
            job = await self._lifecycle.submit_lost(job) or job
        self.resumed += 1
        if job.state.at_fal and job.status_url is not None:
            self._streams.follow(job.id, job.status_url)  # its first event says where the job is: no poll needed
        # Jobs at fal are looked at over one poll interval, not all at once: a restart causes no request storm.
        spread = self.pacer.queued(job.queue_position) if job.state.at_fal else 0.0
        self._schedule.watch(job.id, random.uniform(0, spread))

    async def _run(self) -> None:
        while not self._stopping:
            self._schedule.changed.clear()
            self._last_tick = time.monotonic()
            while (job_id := self._schedule.pop_due(self._active)) is not None:
                await self._workers.acquire()
                self._active.add(job_id)
                task = asyncio.create_task(self._handle(job_id), name=f"job-{job_id}")
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races its timeout.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._schedule.seconds_to_next()):
                    await self._schedule.changed.wait()

    async def _handle(self, job_id: int) -> None:
        next_look: float | None = None
        try:
            job = await self._rows.watched(job_id)
            next_look = await self._step(job) if job else None
            self._errors.pop(job_id, None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures = self._errors[job_id] = self._errors.get(job_id, 0) + 1
            next_look = min(self._settings.running_interval * 2**failures, self._settings.error_backoff_cap)
            log.warning("job %d: look failed (%r); next in %.1fs", job_id, exc, next_look, exc_info=not _expected(exc))
        finally:
            self._active.discard(job_id)
            self._workers.release()
        if next_look is not None:
            self._schedule.watch(job_id, next_look)
        else:
            self._rows.unwatch(job_id)
            self.pacer.left(job_id)
            self._streams.forget(job_id)
            self._heard.pop(job_id, None)
        self._schedule.finished(job_id)

    def _heard_from_stream(self, job_id: int, status: QueueStatus) -> None:
        self._heard[job_id] = status  # only the newest matters: each status says all there is to know
        self._schedule.watch(job_id)

    def _stream_lost(self, job_id: int) -> None:
        self._schedule.watch(job_id)  # polled at once: the stream may have missed a change

    async def _step(self, job: Job) -> float | None:
        if job.state.at_fal:
            return await self._poll(job)
        if job.state in (JobState.COMPLETED, JobState.DELIVERING):
            return await self._delivery.run(job)
        if job.state in ANNOUNCED and not job.failure_notified:
            await self._notify(job)
            if job.state is not JobState.SUBMIT_UNKNOWN:
                await self._slot_freed(job)
                return None
        if job.state is JobState.SUBMIT_UNKNOWN:
            return await self._unknown_slot(job)
        return None

    async def _unknown_slot(self, job: Job) -> float | None:
        """A submit of unknown fate may be running at fal: its slot frees only once fal can no longer be."""
        may_run = timedelta(seconds=self._settings.queue_deadline + self._settings.longest_run)
        lost_at = job.finished_at or job.updated_at
        left = (lost_at + may_run - self._lifecycle.clock()).total_seconds()
        if left > 0:
            return left + 0.01
        await self._slot_freed(job)
        return None

    async def _finish(self, job: Job, status: Completed) -> float | None:
        if status.failed:
            await self._ended_without_video(job, status)
            return None
        assert job.response_url is not None
        try:
            video = await self._fal.result(job.response_url)
        except FalApiError as exc:
            if exc.status == 404:
                await self._result_lost(job)
                return None
            if exc.status >= 500 and exc.error_type in ERROR_WORDS:
                # A completed request whose result names one of fal's error types is a failed run, which fal does
                # not bill. A 5xx without one is the way there failing, not the run: looked at again later.
                await self._fail(job, FailureReason.FAL_ERROR, failure_words(exc.detail, exc.error_type))
                return None
            if exc.is_validation or not should_retry_status(exc.status):
                reason = FailureReason.FAL_REJECTED if exc.is_validation else FailureReason.FAL_ERROR
                await self._fail(job, reason, exc.detail)
                return None
            raise
        done = await self._lifecycle.move(
            job,
            Transition.COMPLETE,
            video_url=video.url,
            video_size=video.size,
            finished_at=self._lifecycle.clock(),
            queue_position=None,
        )
        if done is not None:
            what = (video.size, job.duration)
            log.info("job %d: completed at fal (%s bytes); %ds charged", job.id, *what, extra=job.log_ids)
            self._learn(done)
            if pot := await self._budget.warning_due(job.guild_id):
                await self._board.log_event(LogEvent(job.guild_id, "budget_warning", pot=pot))
            await self._slot_freed(job)
        return 0.0

    async def _ended_without_video(self, job: Job, status: Completed) -> None:
        """fal reports the run failed, was cancelled, or never started before its deadline; none of these is billed."""
        detail = failure_words(status.error, status.error_type)
        if status.error_type == CANCELLED_AT_FAL and job.cancel_requested_by is None:
            # The row was read before fal's answer came: a cancel asked meanwhile is in the row only now.
            job = await self._rows.get(job.id) or job
        if status.error_type == CANCELLED_AT_FAL and job.cancel_requested_by is not None:
            self._queued_seen.pop(job.id, None)
            why = f"cancelled by <@{job.cancel_requested_by}>"
            cancelled = await self._lifecycle.fail(job, FailureReason.CANCELLED, why, transition=Transition.CANCEL)
            if cancelled is not None:
                await self._notify(cancelled)
                await self._slot_freed(job)
            return
        stuck = status.error_type in (NOT_STARTED_IN_TIME, CANCELLED_AT_FAL) and job.started_at is None
        if stuck:
            detail = f"fal didn't start it within {self._settings.queue_deadline / 60:.0f} min"
        await self._fail(job, FailureReason.STUCK if stuck else FailureReason.FAL_ERROR, detail)

    async def _result_lost(self, job: Job) -> None:
        """fal said the run completed without an error (it billed it), then had no result to hand out: the seconds
        are charged, as fal's bill says, and the member is told why there is no video."""
        log.error("job %d: completed at fal but its result is gone; charged as billed", job.id, extra=job.log_ids)
        lost = await self._lifecycle.move(
            job,
            Transition.RESULT_LOST,
            failure=FailureReason.LOST,
            failure_detail="fal made the video but no longer hands it out",
            finished_at=self._lifecycle.clock(),
            queue_position=None,
        )
        if lost is not None:
            await self._notify(lost)
            await self._slot_freed(job)

    def _learn(self, job: Job) -> None:
        """The run length as stored, so what a restart reloads is what was learned."""
        self._queued_seen.pop(job.id, None)
        if job.started_at is not None and job.finished_at is not None:
            seconds = (job.finished_at - job.started_at).total_seconds()
            for other in self.pacer.learn(job.id, RunSample(job.model, job.duration, seconds)):
                if not self._streams.live(other):  # a streamed job hears its finish: a poll would only cost a read
                    self._schedule.watch(other, self._settings.running_interval)

    async def freed_elsewhere(self) -> None:
        """Another process freed a slot at fal (the caps are shared): start what of ours waits and now fits."""
        if self._loop_task is not None and not self._stopping:  # before start, start itself does this
            await self._start_waiting()

    async def _slot_freed(self, job: Job) -> None:
        """A job left fal (or never reached it): start whoever waits, and show the rest their new places."""
        await self._start_waiting()
        if self.peers is not None:
            try:
                await self.peers.freed()
            except Exception as exc:  # the others' periodic re-check still starts their waiting jobs
                log.warning("job %d: could not tell other processes a slot is free (%s)", job.id, exc)
        for waiting in await self._rows.list_in([JobState.WAITING], guild_id=job.guild_id):
            await self._board.show_quietly(waiting)

    async def _fail(self, job: Job, reason: FailureReason, detail: str) -> None:
        self._queued_seen.pop(job.id, None)
        if (failed := await self._lifecycle.fail(job, reason, detail)) is not None:
            await self._notify(failed)
            await self._slot_freed(job)

    async def _notify(self, job: Job) -> None:
        await self._board.show_quietly(job)
        await self._board.publisher.notify(job)
        await self._lifecycle.note(job, failure_notified=True)
        await self._board.log_event(LogEvent(job.guild_id, "job", job=job))

    async def _shown(self, job: Job | None) -> None:
        if job is not None:
            await self._board.show_quietly(job)


def _expected(exc: Exception) -> bool:
    return isinstance(exc, FalError | DeliveryFailed)
