"""Moderation: guild settings, lists and blocks (each audited), approvals and cancels. Every entry point
checks the moderator flag again and the guild the job belongs to."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.db.connection import Database
from bot.db.guilds import GuildRepo
from bot.errors import CannotCancel, JobNotFound, NotModerator
from bot.fal import FalClient, Queued
from bot.models import FailureReason, GuildPolicy, Job, JobState, LogEvent, PotScope, PotState, Requester
from bot.services.budget import BudgetService
from bot.services.jobs import JobService

log = logging.getLogger(__name__)

NOT_STARTED = (JobState.RESERVED, JobState.UPLOADED, JobState.WAITING, JobState.AWAITING_APPROVAL)


@dataclass(frozen=True)
class CancelOutcome:
    job: Job
    refunded: bool  # False: fal had started it and may still bill


class ModerationService:
    def __init__(
        self, db: Database, guilds: GuildRepo, jobs: JobService, budget: BudgetService, fal: FalClient
    ) -> None:
        self._db = db
        self._guilds = guilds
        self._jobs = jobs
        self._budget = budget
        self._fal = fal

    async def policy(self, guild_id: int) -> GuildPolicy:
        return await self._guilds.policy(guild_id)

    async def audit_log(self, guild_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """The guild's newest audit entries (who changed what, when)."""
        return [dict(row) for row in await self._guilds.audit_log(guild_id, limit)]

    # -- settings -----------------------------------------------------------------------------------------

    async def configure(self, who: Requester, action: str, **values: Any) -> GuildPolicy:
        """Change guild settings columns (budget, period, pause, tier, log channel, approval, caps)."""
        return await self._change(who, action, values, lambda conn: self._guilds.set(conn, who.guild_id, **values))

    async def set_entry(self, who: Requester, list_name: str, key: Any, value: Any = None) -> GuildPolicy:
        """Add or update an entry of a guild list: role allowances, channel budgets, /tween channels, words."""
        detail = {"list": list_name, "key": key, "value": value}
        return await self._change(
            who, f"{list_name}.set", detail, lambda conn: self._guilds.put(conn, list_name, who.guild_id, key, value)
        )

    async def remove_entry(self, who: Requester, list_name: str, key: Any) -> GuildPolicy:
        detail = {"list": list_name, "key": key}
        return await self._change(
            who, f"{list_name}.remove", detail, lambda conn: self._guilds.remove(conn, list_name, who.guild_id, key)
        )

    async def block(self, who: Requester, user_id: int, reason: str | None) -> GuildPolicy:
        now = self._jobs.clock()
        return await self._change(
            who,
            "block",
            {"member": user_id, "reason": reason},
            lambda conn: self._guilds.block(conn, who.guild_id, user_id, who.user_id, reason, now),
        )

    async def unblock(self, who: Requester, user_id: int) -> GuildPolicy:
        return await self._change(
            who, "unblock", {"member": user_id}, lambda conn: self._guilds.unblock(conn, who.guild_id, user_id)
        )

    async def add_seconds(self, who: Requester, scope: PotScope, subject_id: int, seconds: int) -> PotState:
        """Top up the guild's pot, or grant a member extra seconds, for this period."""
        _require(who)
        pot = await self._budget.add(who.guild_id, scope, subject_id, seconds, who.user_id)
        action = "topup" if scope is PotScope.GUILD else "grant"
        await self._jobs.log_event(
            LogEvent(who.guild_id, action, who.user_id, detail={"subject": subject_id, "seconds": seconds}, pot=pot)
        )
        return pot

    # -- approvals and cancels ----------------------------------------------------------------------------

    async def decide(self, who: Requester, job_id: int, *, approve: bool) -> Job:
        """Approve (the job joins the queue) or deny (refunded) a job awaiting approval."""
        _require(who)
        job = await self._job_of(who, job_id)
        if approve:
            changed = await self._jobs.repo.update(
                job.id,
                expect=[JobState.AWAITING_APPROVAL],
                now=self._jobs.clock(),
                state=JobState.WAITING,
                decided_by=who.user_id,
                waited_at=self._jobs.clock(),
            )
        else:
            changed = await self._jobs.fail(
                job, FailureReason.DENIED, f"denied by <@{who.user_id}>", expect=[JobState.AWAITING_APPROVAL]
            )
            if changed:
                await self._jobs.repo.update(job.id, now=self._jobs.clock(), decided_by=who.user_id)
        job = await self._jobs.get(job.id)
        if changed:
            await self._after_decision(who, job, approve)
        return job

    async def settle(self, who: Requester, job_id: int, *, billed: bool) -> Job:
        """Decide a job whose submit fate was unknown, after checking fal's dashboard: charge or refund it."""
        _require(who)
        job = await self._job_of(who, job_id)
        if job.state is not JobState.SUBMIT_UNKNOWN:
            raise CannotCancel("not_unknown")
        if billed:
            changed = await self._jobs.settle_billed(job)
        else:
            changed = await self._jobs.fail(
                job,
                FailureReason.LOST,
                f"settled as not billed by <@{who.user_id}>",
                notified=True,
                expect=[JobState.SUBMIT_UNKNOWN],
            )
        if not changed:
            raise CannotCancel("moved_on")
        settled = await self._jobs.get(job.id)
        await self._jobs.log_event(
            LogEvent(who.guild_id, "settle", who.user_id, job=settled, detail={"billed": billed})
        )
        await self._jobs.show(settled)
        return settled

    async def cancel(self, who: Requester, job_id: int) -> CancelOutcome:
        """Cancel one's own job (or any, as a moderator). Refunded unless fal had already started it."""
        job = await self._job_of(who, job_id)
        if job.user_id != who.user_id and not who.is_moderator:
            raise CannotCancel("not_yours")
        if job.state in NOT_STARTED or (job.state is JobState.QUEUED and await self._still_queued(job)):
            return await self._cancel_unstarted(who, job)
        if job.state in (JobState.QUEUED, JobState.RUNNING, JobState.SUBMITTING):
            if job.cancel_url:
                await self._fal.cancel(job.cancel_url)
            await self._jobs.repo.update(job.id, now=self._jobs.clock(), cancel_requested_by=who.user_id)
            log.info("job %d: cancel requested at fal by %d while running", job.id, who.user_id, extra=job.log_ids)
            return CancelOutcome(await self._jobs.get(job.id), refunded=False)
        raise CannotCancel("finished")

    async def _cancel_unstarted(self, who: Requester, job: Job) -> CancelOutcome:
        if job.state is JobState.QUEUED and job.cancel_url:
            await self._fal.cancel(job.cancel_url)
        changed = await self._jobs.fail(
            job, FailureReason.CANCELLED, f"cancelled by <@{who.user_id}>", to=JobState.CANCELLED, expect=[job.state]
        )
        if not changed:
            raise CannotCancel("moved_on")
        await self._jobs.repo.update(job.id, now=self._jobs.clock(), cancel_requested_by=who.user_id)
        cancelled = await self._jobs.get(job.id)
        await self._jobs.log_event(LogEvent(who.guild_id, "cancel", who.user_id, job=cancelled))
        self._jobs.on_submitted(job.id)  # the tracker tells the thread and frees the slot
        return CancelOutcome(cancelled, refunded=True)

    async def _still_queued(self, job: Job) -> bool:
        if job.status_url is None:
            return True
        status = await self._fal.status(job.status_url)
        return isinstance(status, Queued)

    async def _after_decision(self, who: Requester, job: Job, approve: bool) -> None:
        await self._jobs.log_event(LogEvent(who.guild_id, "approve" if approve else "deny", who.user_id, job=job))
        publisher = self._jobs.publisher
        if publisher is not None:
            await publisher.close_approval(job)
            await publisher.update_card(job)
        if approve:
            await self._jobs.start_waiting()
        else:
            self._jobs.on_submitted(job.id)

    async def _job_of(self, who: Requester, job_id: int) -> Job:
        job = await self._jobs.repo.get(job_id)
        if job is None or job.guild_id != who.guild_id:
            raise JobNotFound(job_id)  # another guild's job does not exist, as far as this guild can tell
        return job

    async def _change(
        self,
        who: Requester,
        action: str,
        detail: dict[str, Any],
        apply: Callable[[aiosqlite.Connection], Awaitable[Any]],
    ) -> GuildPolicy:
        _require(who)
        async with self._db.transaction() as conn:
            await apply(conn)
            await self._guilds.audit(conn, who.guild_id, who.user_id, action, detail, self._jobs.clock())
        log.info("guild %d: %s by %d: %s", who.guild_id, action, who.user_id, detail)
        await self._jobs.log_event(LogEvent(who.guild_id, action, who.user_id, detail=detail))
        if action in ("resume", "caps"):
            await self._jobs.start_waiting()
        return await self._guilds.policy(who.guild_id)


def _require(who: Requester) -> None:
    if not who.is_moderator:
        raise NotModerator()


__all__ = ["CancelOutcome", "ModerationService"]
