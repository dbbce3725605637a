"""The job service: check → reserve → upload → card → (approval | our queue → submit), and every state change
that moves money."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.db.connection import Database
from bot.db.guilds import GuildRepo
from bot.db.jobs import JobRepo
from bot.db.sessions import SessionRepo
from bot.errors import DeliveryFailed, FalApiError, FalError, JobNotFound, Refused, SubmitFateUnknown
from bot.fal import FalClient
from bot.images import make_preview, validate_frame
from bot.models import FailureReason, Frame, GuildPolicy, Job, JobState, LogEvent, Requester, VideoResult
from bot.periods import to_db, utcnow
from bot.pricing import price_micros
from bot.services.budget import BudgetService
from bot.services.ports import JobPublisher
from bot.settings import Settings
from bot.validation import check_duration, clean_prompt, image_rules

log = logging.getLogger(__name__)

# States in which a job still holds its reservation.
HOLDING = (
    JobState.RESERVED,
    JobState.UPLOADED,
    JobState.WAITING,
    JobState.AWAITING_APPROVAL,
    JobState.SUBMITTING,
    JobState.QUEUED,
    JobState.RUNNING,
)
IN_FLIGHT = ("submitting", "queued", "running")

_START = f"""
UPDATE jobs SET state = 'submitting', updated_at = :now
WHERE id = :job AND state = 'waiting'
  AND (SELECT COUNT(*) FROM jobs WHERE state IN {IN_FLIGHT}) < :total
  AND (SELECT COUNT(*) FROM jobs WHERE state IN {IN_FLIGHT} AND guild_id = :guild) < :per_guild
  AND (SELECT COUNT(*) FROM jobs WHERE state IN {IN_FLIGHT} AND guild_id = :guild AND user_id = :user) < :per_member
"""


@dataclass(frozen=True)
class RawFrame:
    data: bytes
    filename: str


@dataclass(frozen=True)
class StoredFrame:
    """A frame already on fal storage (a session's), reused without uploading again."""

    url: str


FrameInput = RawFrame | StoredFrame


@dataclass(frozen=True)
class TweenRequest:
    """What a member asked for, before validation."""

    requester: Requester
    prompt: str
    duration: int
    start: FrameInput
    end: FrameInput | None
    upload_limit: int
    session_id: int | None = None
    parent_job_id: int | None = None
    origin: str = "tween"


class JobService:
    def __init__(
        self,
        db: Database,
        fal: FalClient,
        budget: BudgetService,
        guilds: GuildRepo,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = JobRepo(db)
        self.sessions = SessionRepo(db)
        self.guilds = guilds
        self._db = db
        self._fal = fal
        self.budget = budget
        self._settings = settings
        self.clock = clock
        self.publisher: JobPublisher | None = None
        self.on_submitted: Callable[[int], None] = lambda job_id: None
        self._starting = asyncio.Lock()

    async def submit(self, request: TweenRequest) -> Job:
        """Run the whole path for one /tween. Refusals and bad input raise before anything is spent."""
        policy = await self.guilds.policy(request.requester.guild_id)
        await self.check_allowed(policy, request.requester, request.prompt)
        prompt, start, end = await self.validate(request)
        job = await self._reserve(request, policy, prompt)
        try:
            job = await self._upload(job, start, end)
            job = await self._place_card(job, start, end)
        except Exception as exc:
            await self.fail(job, _reason_for(exc), str(exc), notified=True)
            raise
        if policy.needs_approval(job.duration, request.requester.role_ids):
            return await self._ask_approval(job, policy)
        await self.repo.update(
            job.id, expect=[JobState.UPLOADED], now=self.clock(), state=JobState.WAITING, waited_at=self.clock()
        )
        await self.start_waiting()
        job = await self.get(job.id)
        if job.state is JobState.WAITING:
            log.info("job %d: waiting in Tween's queue (caps reached)", job.id, extra=job.log_ids)
            await self.show(job)
        return job

    async def check_allowed(self, policy: GuildPolicy, requester: Requester, prompt: str) -> None:
        """The guild's rules for who may make videos where, and with which words."""
        if policy.paused:
            raise Refused("paused")
        if (reason := await self.guilds.block_reason(requester.guild_id, requester.user_id)) is not None:
            raise Refused("blocked", why=reason)
        if policy.tween_channels and requester.home_channel_id not in policy.tween_channels:
            raise Refused("channel", allowed=sorted(policy.tween_channels))
        lowered = prompt.casefold()
        if banned := [w for w in policy.banned_words if w.casefold() in lowered]:
            raise Refused("banned_word", words=banned)

    async def validate(self, request: TweenRequest) -> tuple[str, Frame | StoredFrame, Frame | StoredFrame | None]:
        """Check prompt, duration and new frames (decoded off the event loop); stored frames passed before."""
        prompt = clean_prompt(request.prompt, max_chars=self._settings.limits.max_prompt_chars)
        check_duration(request.duration, self._settings)
        start = await self._validate_frame(request.start, "start")
        end = await self._validate_frame(request.end, "end") if request.end is not None else None
        return prompt, start, end

    async def _validate_frame(self, given: FrameInput, name: str) -> Frame | StoredFrame:
        if isinstance(given, StoredFrame):
            return given
        return await asyncio.to_thread(validate_frame, given.data, frame=name, rules=image_rules(self._settings))

    async def start_waiting(self) -> list[int]:
        """Start every waiting job that fits under the caps, oldest first; return the ids started."""
        started = []
        policies: dict[int, GuildPolicy] = {}
        async with self._starting:
            for job in await self.repo.list_in([JobState.WAITING]):
                if job.guild_id not in policies:
                    policies[job.guild_id] = await self.guilds.policy(job.guild_id)
                policy = policies[job.guild_id]
                if not policy.paused and await self._try_start(job, policy):
                    started.append(job.id)
        for job_id in started:
            await self._submit(await self.get(job_id))
        return started

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
                await self.budget.charge(conn, job)
        return changed

    async def settle_billed(self, job: Job) -> bool:
        """A moderator found the unknown submit billed at fal: charge it; no video is known to us."""
        async with self._db.transaction() as conn:
            changed = await self.repo.update(
                job.id,
                expect=[JobState.SUBMIT_UNKNOWN],
                now=self.clock(),
                conn=conn,
                state=JobState.UNDELIVERABLE,
                finished_at=self.clock(),
            )
            if changed:
                await self.budget.charge(conn, job)
        return changed

    async def fail(
        self,
        job: Job,
        reason: FailureReason,
        detail: str,
        *,
        notified: bool = False,
        to: JobState = JobState.FAILED,
        expect: Iterable[JobState] = HOLDING,
    ) -> bool:
        """End the job without a video and refund every reservation it holds, in one transaction."""
        async with self._db.transaction() as conn:
            changed = await self.repo.update(
                job.id,
                expect=expect,
                now=self.clock(),
                conn=conn,
                state=to,
                failure=reason,
                failure_detail=detail[:500],
                failure_notified=notified,
                finished_at=self.clock(),
                queue_position=None,
            )
            if changed:
                await self.budget.refund(conn, job)
        if changed:
            ids = job.log_ids | {"state": to.value}
            log.info("job %d %s (%s): %s; %ds refunded", job.id, to, reason, detail, job.duration, extra=ids)
        return changed

    async def show(self, job: Job) -> None:
        """Update the job's card; a waiting job shows its place in the guild's queue (0 = next)."""
        if job.state is JobState.WAITING:
            job = replace(job, queue_position=await self.repo.waiting_ahead(job))
        await self._publisher().update_card(job)

    async def log_event(self, event: LogEvent) -> None:
        """Post to the guild's log channel, if it has one. A courtesy: failures are only logged."""
        policy = await self.guilds.policy(event.guild_id)
        if policy.log_channel_id is None or self.publisher is None:
            return
        try:
            await self.publisher.post_log(policy.log_channel_id, event)
        except Exception as exc:
            log.warning("guild %d: could not post %s to the log channel: %r", event.guild_id, event.action, exc)

    async def queue(self, guild_id: int, states: list[JobState]) -> list[Job]:
        """The guild's jobs in these states, oldest first; waiting ones carry their place."""
        jobs = await self.repo.list_in(states, guild_id=guild_id)
        waiting = [j for j in jobs if j.state is JobState.WAITING]
        places = {j.id: i for i, j in enumerate(waiting)}
        return [replace(j, queue_position=places[j.id]) if j.id in places else j for j in jobs]

    async def get(self, job_id: int) -> Job:
        job = await self.repo.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    async def _reserve(self, request: TweenRequest, policy: GuildPolicy, prompt: str) -> Job:
        who = request.requester
        tier = self._settings.tier(policy.tier)
        async with self._db.transaction() as conn:
            held = await self.budget.reserve(conn, policy, who, request.duration)
            version = await self.sessions.next_version(conn, request.session_id) if request.session_id else None
            job_id = await self.repo.insert(
                conn,
                now=self.clock(),
                job={
                    "guild_id": who.guild_id,
                    "channel_id": who.channel_id,
                    "user_id": who.user_id,
                    "prompt": prompt,
                    "duration": request.duration,
                    "price_micros": price_micros(request.duration, tier.price_per_second),
                    "model": tier.endpoint,
                    "upload_limit": request.upload_limit,
                    "session_id": request.session_id,
                    "version": version,
                    "parent_job_id": request.parent_job_id,
                    "origin": request.origin,
                },
            )
            await self.budget.link(conn, job_id, held, request.duration)
        job = await self.get(job_id)
        log.info(
            "job %d: reserved %ds for guild %d, member %d",
            job_id,
            job.duration,
            who.guild_id,
            who.user_id,
            extra=job.log_ids,
        )
        return job

    async def _upload(self, job: Job, start: Frame | StoredFrame, end: Frame | StoredFrame | None) -> Job:
        start_url = await self._stored_url(start)
        end_url = await self._stored_url(end) if end else None
        await self.repo.update(
            job.id,
            expect=[JobState.RESERVED],
            now=self.clock(),
            state=JobState.UPLOADED,
            start_url=start_url,
            end_url=end_url,
        )
        return await self.get(job.id)

    async def _stored_url(self, frame: Frame | StoredFrame) -> str:
        if isinstance(frame, StoredFrame):
            return frame.url
        return await self._fal.storage.upload(frame.data, frame.content_type, frame.filename)

    async def _frame_bytes(self, frame: Frame | StoredFrame) -> bytes:
        if isinstance(frame, StoredFrame):
            return await self._fal.fetch(frame.url, max_bytes=self._settings.limits.max_image_bytes)
        return frame.data

    async def _place_card(self, job: Job, start: Frame | StoredFrame, end: Frame | StoredFrame | None) -> Job:
        publisher = self._publisher()
        start_bytes = await self._frame_bytes(start)
        end_bytes = await self._frame_bytes(end) if end else None
        preview = await asyncio.to_thread(make_preview, start_bytes, end_bytes)
        placement = await publisher.open_card(job, preview)
        await self.repo.update(
            job.id, now=self.clock(), card_message_id=placement.card_message_id, thread_id=placement.thread_id
        )
        return await self.get(job.id)

    async def _ask_approval(self, job: Job, policy: GuildPolicy) -> Job:
        await self.repo.update(job.id, expect=[JobState.UPLOADED], now=self.clock(), state=JobState.AWAITING_APPROVAL)
        job = await self.get(job.id)
        log.info("job %d: awaiting a moderator's approval", job.id, extra=job.log_ids)
        publisher = self._publisher()
        try:
            message_id = await publisher.request_approval(job, policy.log_channel_id)
            await self.repo.update(job.id, now=self.clock(), approval_message_id=message_id)
        except DeliveryFailed as exc:
            log.warning("job %d: approval request could not be posted: %s", job.id, exc, extra=job.log_ids)
        await self.show(job)
        return await self.get(job.id)

    async def _try_start(self, job: Job, policy: GuildPolicy) -> bool:
        caps = {
            "total": self._settings.concurrency.total,
            "per_guild": policy.guild_concurrency,
            "per_member": policy.member_concurrency,
        }
        params = {"now": to_db(self.clock()), "job": job.id, "guild": job.guild_id, "user": job.user_id, **caps}
        return await self._db.execute(_START, params) == 1

    async def _submit(self, job: Job) -> Job:
        """POST a job already marked SUBMITTING. Never re-sends a submit whose fate is unknown."""
        tier = self._settings.tier_for_endpoint(job.model)
        arguments = tier.arguments(job.prompt, job.start_url, job.end_url, job.duration)
        try:
            submitted = await self._fal.submit(job.model, arguments, webhook_url=self._settings.webhooks.target)
        except SubmitFateUnknown as exc:
            log.error("job %d: submit fate unknown (%s); reservation held", job.id, exc, extra=job.log_ids)
            await self.repo.update(
                job.id, expect=[JobState.SUBMITTING], now=self.clock(), state=JobState.SUBMIT_UNKNOWN
            )
            return await self._after_submit(job.id)
        except FalError as exc:
            log.warning("job %d: submit refused: %s", job.id, exc, extra=job.log_ids)
            await self.fail(job, _reason_for(exc), exc.detail if isinstance(exc, FalApiError) else str(exc))
            return await self._after_submit(job.id)
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
        job = await self._after_submit(job.id)
        log.info("job %d: submitted to fal as %s", job.id, submitted.request_id, extra=job.log_ids)
        return job

    async def _after_submit(self, job_id: int) -> Job:
        self.on_submitted(job_id)
        job = await self.get(job_id)
        if job.state is JobState.QUEUED:
            await self.show_quietly(job)
        return job

    async def show_quietly(self, job: Job) -> None:
        """show(), for callers that must not stall on it: the card is a courtesy, and the next state shows anyway."""
        try:
            await self.show(job)
        except Exception as exc:
            log.warning("job %d: card update failed: %r", job.id, exc, extra=job.log_ids)

    def _publisher(self) -> JobPublisher:
        if self.publisher is None:
            raise DeliveryFailed("no publisher attached", permanent=True)
        return self.publisher


def _reason_for(exc: BaseException) -> FailureReason:
    if isinstance(exc, FalApiError) and exc.is_validation:
        return FailureReason.FAL_REJECTED
    if isinstance(exc, FalError):
        return FailureReason.FAL_UNREACHABLE
    if isinstance(exc, DeliveryFailed):
        return FailureReason.NO_CARD
    return FailureReason.INTERNAL
