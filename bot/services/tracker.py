"""One task that watches every unfinished job from the database: polls fal, settles money, delivers."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bot.errors import DeliveryFailed, FalApiError, FalError
from bot.fal import Completed, FalClient, InProgress, Queued
from bot.fal.retry import should_retry_status
from bot.models import FailureReason, Job, JobState, LogEvent
from bot.ops.health import TrackerState
from bot.services.jobs import JobService
from bot.services.pacing import HISTORY, Pacer, RunSample, RunTimes
from bot.services.ports import JobPublisher
from bot.settings import Settings

log = logging.getLogger(__name__)


class JobTracker:
    """Schedules each job's next look by its state; at most `workers` looks run at once, and fal reads are
    rate-limited inside the client."""

    def __init__(self, service: JobService, fal: FalClient, settings: Settings, *, workers: int = 64) -> None:
        self._service = service
        self._repo = service.repo
        self._fal = fal
        self._settings = settings.tracker
        fallback = settings.webhooks.fallback_interval if settings.webhooks.enabled else None
        self.pacer = Pacer(settings.tracker, RunTimes(settings.tracker), fallback=fallback)
        # When each job was last seen waiting in fal's queue: its run began after that.
        self._queued_seen: dict[int, datetime] = {}
        self._last_tick = time.monotonic()
        self._heap: list[tuple[float, int]] = []
        self._due: dict[int, float] = {}
        self._errors: dict[int, int] = {}
        self._active: set[int] = set()
        self._workers = asyncio.Semaphore(workers)
        self._wakeup = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self.resumed = 0
        self._handlers: set[asyncio.Task[None]] = set()
        service.on_submitted = self.wake

    @property
    def publisher(self) -> JobPublisher:
        if self._service.publisher is None:
            raise DeliveryFailed("no publisher attached")
        return self._service.publisher

    async def start(self) -> None:
        """Settle jobs a crash left mid-step, then watch every unfinished job."""
        await asyncio.to_thread(sweep_stale_downloads)
        runs = await self._repo.recent_runs(HISTORY)
        self.pacer.runs.extend(RunSample(model, duration, seconds) for model, duration, seconds in reversed(runs))
        for job in await self._repo.list_open():
            await self._recover(job)
        self._loop_task = asyncio.create_task(self._run(), name="job-tracker")
        await self._service.start_waiting()
        log.info("tracker started with %d job(s) to watch", len(self._due))

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._loop_task:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._handlers:
            _, pending = await asyncio.wait(self._handlers, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def notice(self, request_id: str) -> bool:
        """fal says this request finished (a webhook): look at its job now. False if no job has that request."""
        job = await self._repo.by_request_id(request_id)
        if job is None:
            return False
        if job.state.at_fal:
            log.info("job %d: fal reported it finished", job.id, extra=job.log_ids)
            self.wake(job.id)
        return True

    def state(self) -> TrackerState:
        """For /health and /metrics: is the scheduler alive, how many jobs it watches, and since when it slept."""
        running = self._loop_task is not None and not self._loop_task.done()
        return TrackerState(running, len(self._due) + len(self._active), time.monotonic() - self._last_tick)

    def wake(self, job_id: int, delay: float = 0.0) -> None:
        """Look at the job after `delay` seconds (sooner wins over a later schedule)."""
        due = time.monotonic() + delay
        current = self._due.get(job_id)
        if current is not None and current <= due:
            return
        self._due[job_id] = due
        heapq.heappush(self._heap, (due, job_id))
        self._wakeup.set()

    async def _recover(self, job: Job) -> None:
        if job.state is JobState.RESERVED or (job.state is JobState.UPLOADED and job.card_message_id is None):
            # The member's command died with the old process before anything was submitted.
            await self._service.fail(job, FailureReason.RESTARTED, "restarted before submit", notified=True)
            return
        if job.state is JobState.UPLOADED:
            # Placed but not yet queued when the old process stopped: it joins our queue.
            await self._repo.update(job.id, expect=[JobState.UPLOADED], now=self._service_now(), state=JobState.WAITING)
            return
        if job.state is JobState.SUBMITTING:
            log.error("job %d: restarted while submitting; fate unknown, reservation held", job.id)
            await self._repo.update(
                job.id, expect=[JobState.SUBMITTING], now=self._service_now(), state=JobState.SUBMIT_UNKNOWN
            )
        self.resumed += 1
        # Jobs at fal are looked at over one poll interval, not all at once: a restart causes no request storm.
        spread = self.pacer.queued(job.queue_position) if job.state.at_fal else 0.0
        self.wake(job.id, random.uniform(0, spread))

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            self._last_tick = time.monotonic()
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                due, job_id = heapq.heappop(self._heap)
                if self._due.get(job_id) != due or job_id in self._active:
                    continue
                del self._due[job_id]
                await self._workers.acquire()
                self._active.add(job_id)
                task = asyncio.create_task(self._handle(job_id), name=f"job-{job_id}")
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
            timeout = self._heap[0][0] - time.monotonic() if self._heap else None
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races its timeout.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()

    async def _handle(self, job_id: int) -> None:
        next_look: float | None = None
        try:
            job = await self._repo.get(job_id)
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
            self.wake(job_id, next_look)

    async def _step(self, job: Job) -> float | None:
        if job.state.at_fal:
            return await self._poll(job)
        if job.state in (JobState.COMPLETED, JobState.DELIVERING):
            return await self._deliver(job)
        if job.state in (JobState.FAILED, JobState.CANCELLED, JobState.SUBMIT_UNKNOWN) and not job.failure_notified:
            await self._notify(job)
            await self._slot_freed(job)
        return None

    async def _poll(self, job: Job) -> float | None:
        assert job.status_url is not None
        try:
            status = await self._fal.status(job.status_url)
        except FalApiError as exc:
            if exc.status == 404:
                await self._fail(job, FailureReason.LOST, "fal no longer knows this request")
                return None
            raise
        if isinstance(status, Queued):
            if self._past_deadline(job) and await self._give_up_queue(job):
                return None
            self._queued_seen[job.id] = self._service_now()
            changes: dict[str, object] = {"queue_position": status.position, "state": JobState.QUEUED}
            if (job.state, job.queue_position) != (JobState.QUEUED, status.position):
                await self._change(job, **changes)
            return self.pacer.queued(status.position)
        if isinstance(status, InProgress):
            return await self._running(job)
        return await self._finish(job, status)

    async def _running(self, job: Job) -> float:
        started = job.started_at
        if job.state is not JobState.RUNNING or started is None:
            started = self._queued_seen.pop(job.id, None) or job.submitted_at or self._service_now()
            await self._change(job, state=JobState.RUNNING, queue_position=None, started_at=started)
            log.info("job %d: running at fal", job.id, extra=job.log_ids)
        elapsed = (self._service_now() - started).total_seconds()
        return self.pacer.running(job.model, job.duration, elapsed)

    def _past_deadline(self, job: Job) -> bool:
        sent = job.submitted_at or job.created_at
        return (self._service_now() - sent).total_seconds() > self._settings.queue_deadline

    async def _give_up_queue(self, job: Job) -> bool:
        """Cancel a job fal has left in its queue too long; refunded only if fal confirms it never started."""
        assert job.cancel_url is not None
        answer = await self._fal.cancel(job.cancel_url)
        if answer != "CANCELLATION_REQUESTED":
            return False
        minutes = self._settings.queue_deadline / 60
        log.warning("job %d: still queued at fal after %.0f min; cancelled there", job.id, minutes)
        await self._fail(job, FailureReason.STUCK, f"waited more than {minutes:.0f} min in fal's queue")
        return True

    async def _finish(self, job: Job, status: Completed) -> float | None:
        if status.failed:
            await self._fail(job, FailureReason.FAL_ERROR, status.error or status.error_type or "unknown error")
            return None
        assert job.response_url is not None
        try:
            video = await self._fal.result(job.response_url)
        except FalApiError as exc:
            if exc.is_validation or not should_retry_status(exc.status):
                await self._fail(
                    job, FailureReason.FAL_REJECTED if exc.is_validation else FailureReason.FAL_ERROR, exc.detail
                )
                return None
            raise
        if await self._service.complete(job, video):
            log.info(
                "job %d: completed at fal (%s bytes); %ds charged", job.id, video.size, job.duration, extra=job.log_ids
            )
            self._learn(job)
            if pot := await self._service.budget.warning_due(job.guild_id):
                await self._service.log_event(LogEvent(job.guild_id, "budget_warning", pot=pot))
            await self._slot_freed(job)
        return 0.0

    def _learn(self, job: Job) -> None:
        self._queued_seen.pop(job.id, None)
        if job.started_at is not None:
            seconds = (self._service_now() - job.started_at).total_seconds()
            self.pacer.runs.add(RunSample(job.model, job.duration, seconds))

    async def _deliver(self, job: Job) -> float | None:
        publisher = self.publisher
        if job.state is JobState.DELIVERING:
            try:
                found = await publisher.find_delivery(job)
            except DeliveryFailed as exc:
                # Unable to read the thread back (no Read Message History?): posting blind could post twice.
                return await self._delivery_failed(job, exc)
            if found is not None:
                log.info("job %d: already delivered as message %d", job.id, found, extra=job.log_ids)
                await self._delivered(job, found)
                return None
        else:
            await self._repo.update(
                job.id, expect=[JobState.COMPLETED], now=self._service_now(), state=JobState.DELIVERING
            )
        with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as folder:
            try:
                video = await self._fetch_video(job, Path(folder))
                message_id = await publisher.deliver(job, video)
            except (DeliveryFailed, FalError) as exc:
                return await self._delivery_failed(job, exc)
        await self._delivered(job, message_id)
        return None

    async def _fetch_video(self, job: Job, folder: Path) -> Path | None:
        assert job.video_url is not None
        if job.video_size is not None and job.video_size > job.upload_limit:
            return None
        if job.delivery_attempts >= self._settings.max_delivery_attempts - 1:
            return None  # last try: a link beats nothing
        path = folder / f"tween-{job.id}.mp4"
        written = await self._fal.download(job.video_url, path, max_bytes=job.upload_limit)
        return path if written is not None else None

    async def _delivery_failed(self, job: Job, exc: Exception) -> float | None:
        attempts = job.delivery_attempts + 1
        permanent = isinstance(exc, DeliveryFailed) and exc.permanent
        if permanent or attempts >= self._settings.max_delivery_attempts:
            log.error("job %d: giving up delivery after %d attempt(s): %s", job.id, attempts, exc, extra=job.log_ids)
            await self._change(
                job, state=JobState.UNDELIVERABLE, delivery_attempts=attempts, expect=[JobState.DELIVERING]
            )
            await self._service.log_event(LogEvent(job.guild_id, "job", job=await self._service.get(job.id)))
            return None
        await self._repo.update(job.id, now=self._service_now(), delivery_attempts=attempts)
        delay = min(self._settings.running_interval * 2**attempts, self._settings.error_backoff_cap)
        log.warning(
            "job %d: delivery attempt %d failed (%s); retry in %.1fs", job.id, attempts, exc, delay, extra=job.log_ids
        )
        return delay

    async def _delivered(self, job: Job, message_id: int) -> None:
        await self._change(job, state=JobState.DELIVERED, result_message_id=message_id, expect=[JobState.DELIVERING])
        log.info("job %d: delivered as message %d", job.id, message_id, extra=job.log_ids)
        await self._service.log_event(LogEvent(job.guild_id, "job", job=await self._service.get(job.id)))

    async def _slot_freed(self, job: Job) -> None:
        """A job left fal (or never reached it): start whoever waits, and show the rest their new places."""
        await self._service.start_waiting()
        for waiting in await self._repo.list_in([JobState.WAITING], guild_id=job.guild_id):
            await self._service.show_quietly(waiting)

    async def _fail(self, job: Job, reason: FailureReason, detail: str) -> None:
        self._queued_seen.pop(job.id, None)
        if await self._service.fail(job, reason, detail):
            await self._notify(await self._service.get(job.id))
            await self._slot_freed(job)

    async def _notify(self, job: Job) -> None:
        await self._service.show_quietly(job)
        await self.publisher.notify(job)
        await self._repo.update(job.id, now=self._service_now(), failure_notified=True)
        await self._service.log_event(LogEvent(job.guild_id, "job", job=job))

    async def _change(self, job: Job, *, expect: list[JobState] | None = None, **changes: object) -> None:
        states = expect if expect is not None else [job.state]
        if await self._repo.update(job.id, expect=states, now=self._service_now(), **changes):
            await self._service.show_quietly(await self._service.get(job.id))

    def _service_now(self) -> datetime:
        return self._service.clock()


TEMP_PREFIX = "tween-"
STALE_AFTER = 3600.0


def sweep_stale_downloads() -> None:
    """Remove video downloads a killed process left behind (older than an hour, so a live one is never touched)."""
    cutoff = time.time() - STALE_AFTER
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)


def _expected(exc: Exception) -> bool:
    return isinstance(exc, FalError | DeliveryFailed)
