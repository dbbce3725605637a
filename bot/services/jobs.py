"""The job service: validate → reserve → upload → card → submit, and every money-moving state change."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.db.connection import Database
from bot.db.jobs import JobRepo
from bot.errors import DeliveryFailed, FalApiError, FalError, JobNotFound, SubmitFateUnknown
from bot.fal import FalClient
from bot.images import make_preview, validate_frame
from bot.models import FailureReason, Frame, Job, JobState, VideoResult
from bot.periods import utcnow
from bot.pricing import price_micros
from bot.services.budget import BudgetService
from bot.services.ports import JobPublisher
from bot.settings import Settings
from bot.validation import check_duration, clean_prompt, image_rules

log = logging.getLogger(__name__)

# States in which a job still holds its reservation.
HOLDING = (JobState.RESERVED, JobState.UPLOADED, JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class RawFrame:
    data: bytes
    filename: str


@dataclass(frozen=True)
class TweenRequest:
    """What a member asked for, before validation."""

    guild_id: int
    channel_id: int
    user_id: int
    prompt: str
    duration: int
    start: RawFrame
    end: RawFrame | None
    upload_limit: int


class JobService:
    def __init__(
        self,
        db: Database,
        fal: FalClient,
        budget: BudgetService,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = JobRepo(db)
        self._db = db
        self._fal = fal
        self._budget = budget
        self._settings = settings
        self.clock = clock
        self.publisher: JobPublisher | None = None
        self.on_submitted: Callable[[int], None] = lambda job_id: None

    async def submit(self, request: TweenRequest) -> Job:
        """Run the whole path for one /tween. Bad input raises before anything is spent."""
        prompt, start, end = await self.validate(request)
        job = await self._reserve(request, prompt)
        try:
            job = await self._upload(job, start, end)
            job = await self._place_card(job, start, end)
        except Exception as exc:
            await self.fail(job, _reason_for(exc), str(exc), notified=True)
            raise
        return await self.launch(job)

    async def validate(self, request: TweenRequest) -> tuple[str, Frame, Frame | None]:
        """Check prompt, duration and both frames (decoded off the event loop)."""
        prompt = clean_prompt(request.prompt, max_chars=self._settings.limits.max_prompt_chars)
        check_duration(request.duration, self._settings)
        rules = image_rules(self._settings)
        start = await asyncio.to_thread(validate_frame, request.start.data, frame="start", rules=rules)
        end = None
        if request.end is not None:
            end = await asyncio.to_thread(validate_frame, request.end.data, frame="end", rules=rules)
        return prompt, start, end

    async def launch(self, job: Job) -> Job:
        """Submit an uploaded job whose card is placed. Never re-sends a submit whose fate is unknown."""
        if not await self.repo.update(job.id, expect=[JobState.UPLOADED], now=self.clock(), state=JobState.SUBMITTING):
            return await self.get(job.id)
        arguments = {"prompt": job.prompt, "start_image_url": job.start_url, "duration": str(job.duration)}
        if job.end_url:
            arguments["end_image_url"] = job.end_url
        try:
            submitted = await self._fal.submit(job.model, arguments)
        except SubmitFateUnknown as exc:
            log.error("job %d: submit fate unknown (%s); reservation held", job.id, exc)
            await self.repo.update(
                job.id, expect=[JobState.SUBMITTING], now=self.clock(), state=JobState.SUBMIT_UNKNOWN
            )
            return await self._after_launch(job.id)
        except FalError as exc:
            log.warning("job %d: submit refused: %s", job.id, exc)
            await self.fail(job, _reason_for(exc), _detail(exc))
            return await self._after_launch(job.id)
        now = self.clock()
        await self.repo.update(
            job.id,
            expect=[JobState.SUBMITTING],
            now=now,
            state=JobState.QUEUED,
            request_id=submitted.request_id,
            status_url=submitted.status_url,
            response_url=submitted.response_url,
            cancel_url=submitted.cancel_url,
            queue_position=submitted.queue_position,
            submitted_at=now,
        )
        log.info("job %d: submitted to fal as %s", job.id, submitted.request_id)
        return await self._after_launch(job.id)

    async def complete(self, job: Job, video: VideoResult) -> bool:
        """fal finished the video: save it and charge, in one transaction."""
        async with self._db.transaction() as conn:
            changed = await self.repo.update(
                job.id,
                expect=[JobState.QUEUED, JobState.RUNNING],
                now=self.clock(),
                conn=conn,
                state=JobState.COMPLETED,
                video_url=video.url,
                video_size=video.size,
                finished_at=self.clock(),
                queue_position=None,
            )
            if changed:
                await self._budget.charge(conn, job)
        return changed

    async def fail(self, job: Job, reason: FailureReason, detail: str, *, notified: bool = False) -> bool:
        """Mark the job failed and refund its reservation, in one transaction."""
        async with self._db.transaction() as conn:
            changed = await self.repo.update(
                job.id,
                expect=HOLDING,
                now=self.clock(),
                conn=conn,
                state=JobState.FAILED,
                failure=reason,
                failure_detail=detail[:500],
                failure_notified=notified,
                finished_at=self.clock(),
                queue_position=None,
            )
            if changed:
                await self._budget.refund(conn, job)
        if changed:
            log.info("job %d failed (%s): %s; %ds refunded", job.id, reason, detail, job.duration)
        return changed

    async def get(self, job_id: int) -> Job:
        job = await self.repo.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    async def _reserve(self, request: TweenRequest, prompt: str) -> Job:
        model = self._settings.model
        now = self.clock()
        async with self._db.transaction() as conn:
            await self._budget.reserve(conn, request.guild_id, request.duration)
            job_id = await self.repo.insert(
                conn,
                job={
                    "guild_id": request.guild_id,
                    "channel_id": request.channel_id,
                    "user_id": request.user_id,
                    "prompt": prompt,
                    "duration": request.duration,
                    "price_micros": price_micros(request.duration, model.price_per_second),
                    "model": model.endpoint,
                    "upload_limit": request.upload_limit,
                },
                now=now,
            )
            await self._budget.record_reservation(conn, job_id, request.guild_id, request.duration)
        log.info("job %d: reserved %ds for guild %d", job_id, request.duration, request.guild_id)
        return await self.get(job_id)

    async def _upload(self, job: Job, start: Frame, end: Frame | None) -> Job:
        storage = self._fal.storage
        start_url = await storage.upload(start.data, start.content_type, start.filename)
        end_url = await storage.upload(end.data, end.content_type, end.filename) if end else None
        await self.repo.update(
            job.id,
            expect=[JobState.RESERVED],
            now=self.clock(),
            state=JobState.UPLOADED,
            start_url=start_url,
            end_url=end_url,
        )
        return await self.get(job.id)

    async def _place_card(self, job: Job, start: Frame, end: Frame | None) -> Job:
        if self.publisher is None:
            raise DeliveryFailed("no publisher attached", permanent=True)
        preview = await asyncio.to_thread(make_preview, start.data, end.data if end else None)
        placement = await self.publisher.open_card(job, preview)
        await self.repo.update(
            job.id, now=self.clock(), card_message_id=placement.card_message_id, thread_id=placement.thread_id
        )
        return await self.get(job.id)

    async def _after_launch(self, job_id: int) -> Job:
        self.on_submitted(job_id)
        return await self.get(job_id)


def _reason_for(exc: BaseException) -> FailureReason:
    if isinstance(exc, FalApiError) and exc.is_validation:
        return FailureReason.FAL_REJECTED
    if isinstance(exc, FalError):
        return FailureReason.FAL_UNREACHABLE
    if isinstance(exc, DeliveryFailed):
        return FailureReason.NO_CARD
    return FailureReason.INTERNAL


def _detail(exc: FalError) -> str:
    if isinstance(exc, FalApiError):
        return exc.detail
    return str(exc)
