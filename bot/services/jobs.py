"""The job service: check → reserve → upload → (awaiting approval →) card → (approval request | our queue → submit).
Every state change goes through the lifecycle; this service decides which one, and when."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.db.guilds import GuildRepo
from bot.db.jobs import Caps, JobRepo
from bot.errors import (
    DeliveryFailed,
    FalAccountProblem,
    FalApiError,
    FalError,
    JobNotFound,
    Refused,
    SubmitFateUnknown,
    SubmitMaybeQueued,
)
from bot.fal import FalClient, Submitted
from bot.models import FailureReason, GuildPolicy, Job, JobState, LogEvent, Requester, Transition
from bot.pricing import price_micros
from bot.services.board import Board
from bot.services.budget import BudgetService
from bot.services.frames import Checked, FrameInput, FrameReader, StoredFrame
from bot.services.lifecycle import Draft, Lifecycle
from bot.settings import Settings
from bot.validation import check_duration, clean_prompt

log = logging.getLogger(__name__)


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
        lifecycle: Lifecycle,
        rows: JobRepo,
        guilds: GuildRepo,
        budget: BudgetService,
        board: Board,
        fal: FalClient,
        frames: FrameReader,
        settings: Settings,
        *,
        watch: Callable[[int], None],
    ) -> None:
        self._lifecycle = lifecycle
        self._rows = rows
        self._guilds = guilds
        self._budget = budget
        self._board = board
        self._fal = fal
        self._frames = frames
        self._settings = settings
        self._watch = watch  # hands a job to the tracker for a look now
        self._starting = asyncio.Lock()

    async def submit(self, request: TweenRequest) -> Job:
        """Run the whole path for one /tween. Refusals and bad input raise before anything is spent."""
        policy = await self._guilds.policy(request.requester.guild_id)
        await self.check_allowed(policy, request.requester, request.prompt)
        prompt = self.check_prompt_and_duration(request)
        # Every cheap refusal comes before the frames are downloaded and decoded, the one costly check.
        await self._budget.ensure_affordable(policy, request.requester, request.duration)
        await self._account_ready(policy.guild_id)
        start, end = await self.validate_frames(request)
        job = await self._reserve(request, policy, prompt)
        approval = policy.needs_approval(job.duration, request.requester.role_ids)
        try:
            job = await self._upload(job, start, end)
            if approval:
                # Before the card is posted, so that the card says from its first look that it waits for approval.
                job = _moved(await self._lifecycle.move(job, Transition.ASK_APPROVAL), job)
            preview = await self._frames.preview(start, end)
            job = await self._place_card(job, preview)
        except Exception as exc:
            await self._lifecycle.fail(job, _reason_for(exc), str(exc), notified=True)
            await self._alert_account(job.guild_id, exc)
            raise
        if approval:
            return await self._ask_approval(job, policy, preview)
        await self._lifecycle.move(job, Transition.ENQUEUE, waited_at=self._lifecycle.clock())
        await self.start_waiting()
        job = await self.get(job.id)
        if job.state is JobState.WAITING:
            log.info("job %d: waiting in Tween's queue (caps reached)", job.id, extra=job.log_ids)
            await self._board.show_quietly(job)  # the job goes on whether or not its card could be edited
        return job

    async def check_allowed(self, policy: GuildPolicy, requester: Requester, prompt: str) -> None:
        """The guild's rules for who may make videos where, and with which words."""
        if policy.paused:
            raise Refused("paused")
        if (reason := await self._guilds.block_reason(requester.guild_id, requester.user_id)) is not None:
            raise Refused("blocked", why=reason)
        if policy.tween_channels and requester.home_channel_id not in policy.tween_channels:
            raise Refused("channel", allowed=sorted(policy.tween_channels))
        lowered = prompt.casefold()
        if banned := [w for w in policy.banned_words if w.casefold() in lowered]:
            raise Refused("banned_word", words=banned)

    def check_prompt_and_duration(self, request: TweenRequest) -> str:
        """The prompt as it will be sent, once it and the duration pass the rules."""
        prompt = clean_prompt(request.prompt, max_chars=self._settings.limits.max_prompt_chars)
        check_duration(request.duration, self._settings)
        return prompt

    async def validate_frames(self, request: TweenRequest) -> tuple[Checked, Checked | None]:
        """Read and check new frames, one decode each, at most frames.max_decodes at once bot-wide."""
        return await self._frames.check(request.start, request.end)

    async def start_waiting(self) -> list[int]:
        """Start every waiting job (of the guilds this process serves) that fits under the caps, oldest first;
        return the ids started."""
        claimed: list[Job] = []
        policies: dict[int, GuildPolicy] = {}
        async with self._starting:
            for job in await self._rows.list_in([JobState.WAITING], owned=self._settings.discord.shards):
                if job.guild_id not in policies:
                    policies[job.guild_id] = await self._guilds.policy(job.guild_id)
                policy = policies[job.guild_id]
                if not policy.paused and (started := await self._lifecycle.claim(job, self._caps(job, policy))):
                    claimed.append(started)
        for job in claimed:
            try:
                await self._submit(job)
            except Exception:  # one job's trouble must not strand the others claimed with it
                log.exception("job %d: submit step failed", job.id, extra=job.log_ids)
        return [job.id for job in claimed]

    async def queue(self, guild_id: int, states: list[JobState]) -> list[Job]:
        """The guild's jobs in these states, oldest first; waiting ones carry their place."""
        jobs = await self._rows.list_in(states, guild_id=guild_id)
        waiting = [j for j in jobs if j.state is JobState.WAITING]
        places = {j.id: i for i, j in enumerate(waiting)}
        return [replace(j, queue_position=places[j.id]) if j.id in places else j for j in jobs]

    async def get(self, job_id: int) -> Job:
        job = await self._rows.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    async def _reserve(self, request: TweenRequest, policy: GuildPolicy, prompt: str) -> Job:
        tier = self._budget.tier_of(policy)
        draft = Draft(
            requester=request.requester,
            prompt=prompt,
            duration=request.duration,
            price_micros=price_micros(request.duration, tier.price_per_second),
            model=tier.endpoint,
            upload_limit=request.upload_limit,
            session_id=request.session_id,
            parent_job_id=request.parent_job_id,
            origin=request.origin,
        )
        return await self._lifecycle.open(draft, policy)

    async def _upload(self, job: Job, start: Checked, end: Checked | None) -> Job:
        start_url = await self._stored_url(start)
        end_url = await self._stored_url(end) if end else None
        return _moved(await self._lifecycle.move(job, Transition.UPLOAD, start_url=start_url, end_url=end_url), job)

    async def _stored_url(self, checked: Checked) -> str:
        if isinstance(checked, StoredFrame):
            return checked.url
        frame = checked.frame
        return await self._fal.storage.upload(frame.data, frame.content_type, frame.filename)

    async def _place_card(self, job: Job, preview: bytes) -> Job:
        placement = await self._board.publisher.open_card(job, preview)
        placed = await self._lifecycle.note(
            job, card_message_id=placement.card_message_id, thread_id=placement.thread_id
        )
        return _moved(placed, job)

    async def _ask_approval(self, job: Job, policy: GuildPolicy, preview: bytes) -> Job:
        """The job already waits for approval (its card says so); the moderators are asked, with its frames."""
        log.info("job %d: awaiting a moderator's approval", job.id, extra=job.log_ids)
        try:
            message_id = await self._board.publisher.request_approval(job, policy, preview)
            job = _moved(await self._lifecycle.note(job, approval_message_id=message_id), job)
        except DeliveryFailed as exc:
            log.warning("job %d: approval request could not be posted: %s", job.id, exc, extra=job.log_ids)
        return job

    async def _account_ready(self, guild_id: int) -> None:
        """While fal keeps refusing Tween's account, new videos are refused before anything is reserved; one
        harmless call now and then tells when it works again."""
        account = self._fal.account
        if not account.paused:
            return
        if account.probe_due():
            with contextlib.suppress(FalError):
                await self._fal.probe_account()
        if account.paused and account.problem is not None:
            await self._alert_account(guild_id, account.problem)
            raise account.problem

    async def _alert_account(self, guild_id: int, exc: BaseException) -> None:
        """The server's moderators hear once per episode that the bot's fal account needs its operator."""
        if isinstance(exc, FalAccountProblem) and self._fal.account.first_alert(guild_id):
            detail = {"status": exc.status, "detail": exc.detail}
            await self._board.log_event(LogEvent(guild_id, "fal_account", detail=detail))

    def _caps(self, job: Job, policy: GuildPolicy) -> Caps:
        tracker = self._settings.tracker
        # fal starts nothing later than the deadline sent with it, and a run ends within longest_run.
        may_run = timedelta(seconds=tracker.queue_deadline + tracker.longest_run)
        return Caps(
            total=self._settings.concurrency.total,
            per_guild=policy.guild_concurrency,
            per_member=policy.member_concurrency,
            guild_id=job.guild_id,
            user_id=job.user_id,
            unknown_since=self._lifecycle.clock() - may_run,
        )

    async def _submit(self, job: Job) -> Job | None:
        """POST a job already marked SUBMITTING. Never re-sends a submit whose fate is unknown."""
        tier = self._settings.tier_for_endpoint(job.model)
        arguments = tier.arguments(job.prompt, job.start_url, job.end_url, job.duration)
        try:
            submitted = await self._fal.submit(
                job.model,
                arguments,
                webhook_url=self._settings.webhooks.target,
                start_timeout=self._settings.tracker.queue_deadline,  # fal refuses a late start: no cancel race
            )
        except SubmitMaybeQueued as exc:
            return await self._look_up(job, exc)
        except SubmitFateUnknown as exc:
            log.error("job %d: submit fate unknown (%s); reservation held", job.id, exc, extra=job.log_ids)
            return self._handed_over(await self._lifecycle.submit_lost(job), job)
        except FalError as exc:
            log.warning("job %d: submit refused: %s", job.id, exc, extra=job.log_ids)
            detail = exc.detail if isinstance(exc, FalApiError) else str(exc)
            failed = await self._lifecycle.fail(job, _reason_for(exc), detail)
            await self._alert_account(job.guild_id, exc)
            return self._handed_over(failed, job)
        except Exception as exc:
            # Nothing says whether the POST left: as unknown as a timeout, and never re-sent.
            log.exception("job %d: submit failed unexpectedly (%r); fate unknown", job.id, exc, extra=job.log_ids)
            return self._handed_over(await self._lifecycle.submit_lost(job), job)
        return await self._queued(job, submitted)

    async def _look_up(self, job: Job, exc: SubmitMaybeQueued) -> Job | None:
        """The answer failed after fal may have queued the job: fal's word on the request id decides."""
        log.warning("job %d: %s; asking fal whether it has the job", job.id, exc, extra=job.log_ids)
        try:
            found = await self._fal.look_up(job.model, exc.request_id)
        except FalError as lookup:
            log.error("job %d: fal could not say (%s); fate unknown", job.id, lookup, extra=job.log_ids)
            lost = await self._lifecycle.submit_lost(job, request_id=exc.request_id)
            return self._handed_over(lost, job)
        if found is None:
            failed = await self._lifecycle.fail(job, FailureReason.FAL_UNREACHABLE, f"fal did not take it: {exc}")
            return self._handed_over(failed, job)
        return await self._queued(job, found)

    async def _queued(self, job: Job, submitted: Submitted) -> Job | None:
        now = self._lifecycle.clock()
        queued = await self._lifecycle.move(
            job,
            Transition.SUBMITTED,
            request_id=submitted.request_id,
            status_url=submitted.status_url,
            response_url=submitted.response_url,
            cancel_url=submitted.cancel_url,
            queue_position=submitted.queue_position,
            submitted_at=now,
        )
        self._handed_over(queued, job)
        if queued is not None:
            log.info("job %d: submitted to fal as %s", job.id, submitted.request_id, extra=queued.log_ids)
            if queued.cancel_requested_by is not None:
                await self._cancel_once_sent(queued)
            await self._board.show_quietly(queued)
        return queued

    async def _cancel_once_sent(self, job: Job) -> None:
        """The member pressed Cancel while the submit was on its way; fal hears it now that the job has an id."""
        assert job.cancel_url is not None
        try:
            answer = await self._fal.cancel(job.cancel_url)
        except FalError as exc:
            log.warning("job %d: the cancel asked for during submit failed: %s", job.id, exc, extra=job.log_ids)
            return
        log.info("job %d: cancel asked for during submit sent to fal: %s", job.id, answer, extra=job.log_ids)

    def _handed_over(self, job: Job | None, before: Job) -> Job | None:
        """The tracker takes it from here: it polls a queued job and tells the member about any other outcome."""
        self._watch(before.id)
        return job


def _moved(job: Job | None, before: Job) -> Job:
    """The row a step wrote; a job that moved on under us meanwhile (a cancel) ends this path."""
    if job is None:
        raise JobNotFound(before.id)
    return job


def _reason_for(exc: BaseException) -> FailureReason:
    if isinstance(exc, FalAccountProblem):
        return FailureReason.FAL_ACCOUNT
    if isinstance(exc, FalApiError) and exc.is_validation:
        return FailureReason.FAL_REJECTED
    if isinstance(exc, FalError):
        return FailureReason.FAL_UNREACHABLE
    if isinstance(exc, DeliveryFailed):
        return FailureReason.NO_CARD
    return FailureReason.INTERNAL
