"""Moderation: guild settings, lists and blocks (each audited), approvals and cancels. Every entry point
checks the moderator flag again and the guild the job belongs to."""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.db.connection import Database, Transaction
from bot.db.guilds import GuildRepo
from bot.db.jobs import JobRepo
from bot.errors import CannotCancel, DeliveryFailed, FalError, JobNotFound, NotModerator
from bot.fal import FalClient
from bot.models import (
    IN_FLIGHT,
    NOT_STARTED,
    FailureReason,
    GuildPolicy,
    Job,
    JobState,
    LogEvent,
    PotScope,
    PotState,
    Requester,
    Transition,
)
from bot.services.board import Board
from bot.services.budget import BudgetService
from bot.services.lifecycle import Lifecycle

log = logging.getLogger(__name__)

AT_FAL = (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class CancelOutcome:
    job: Job
    refunded: bool  # False: fal has it; its answer decides whether it is refunded or charged
    too_late: bool = False  # fal had already finished it: it will be posted and charged


@dataclass(frozen=True)
class BudgetChange:
    """A budget change and what it did to this period: the guild's pot before and after, at the guild's price."""

    policy: GuildPolicy
    before: PotState
    after: PotState
    price_per_second: float


class ModerationService:
    def __init__(
        self,
        db: Database,
        guilds: GuildRepo,
        lifecycle: Lifecycle,
        rows: JobRepo,
        budget: BudgetService,
        board: Board,
        fal: FalClient,
        *,
        start_waiting: Callable[[], Awaitable[object]],
        watch: Callable[[int], None],
    ) -> None:
        self._db = db
        self._guilds = guilds
        self._lifecycle = lifecycle
        self._rows = rows
        self._budget = budget
        self._board = board
        self._fal = fal
        self._start_waiting = start_waiting  # the job service's: a resume, new caps or an approval may free a slot
        self._watch = watch  # the tracker tells the member and frees the slot of a job ended here

    async def policy(self, guild_id: int) -> GuildPolicy:
        return await self._guilds.policy(guild_id)

    async def audit_log(self, guild_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """The guild's newest audit entries (who changed what, when)."""
        return await self._guilds.audit_log(guild_id, limit)

    # -- settings -----------------------------------------------------------------------------------------

    async def configure(self, who: Requester, action: str, **values: Any) -> GuildPolicy:
        """Change guild settings columns (budget, period, pause, tier, log channel, approval, caps)."""

        def was(before: GuildPolicy) -> dict[str, Any]:
            # The period after the change: a budget line reads "3600 s a week" in the period that now applies.
            return {
                "was": {k: _plain(getattr(before, k, None)) for k in values},
                "period": values.get("period", before.period),
            }

        return await self._change(who, action, values, lambda conn: self._guilds.set(conn, who.guild_id, **values), was)

    async def configure_budget(self, who: Requester, **values: Any) -> BudgetChange:
        """configure("budget"), and the server's pot as it was and as it is now: a moved period or reset hour
        changes which charges count."""
        _require(who)  # before the pot is read: a member learns nothing of it
        before = await self._budget.guild_pot(who.guild_id)
        policy = await self.configure(who, "budget", **values)
        after = await self._budget.guild_pot(who.guild_id)
        tier = await self._budget.price_for(who.guild_id)
        return BudgetChange(policy, before, after, tier.price_per_second)

    async def set_entry(self, who: Requester, list_name: str, key: Any, value: Any = None) -> GuildPolicy:
        """Add or update an entry of a guild list: role allowances, channel budgets, /tween channels, words."""
        detail = {"list": list_name, "key": key, "value": value}
        return await self._change(
            who,
            f"{list_name}.set",
            detail,
            lambda conn: self._guilds.put(conn, list_name, who.guild_id, key, value),
            lambda before: _entry_was(before, list_name, key),
        )

    async def remove_entry(self, who: Requester, list_name: str, key: Any) -> GuildPolicy:
        detail = {"list": list_name, "key": key}
        return await self._change(
            who,
            f"{list_name}.remove",
            detail,
            lambda conn: self._guilds.remove(conn, list_name, who.guild_id, key),
            lambda before: _entry_was(before, list_name, key),
        )

    async def block(self, who: Requester, user_id: int, reason: str | None) -> GuildPolicy:
        now = self._lifecycle.clock()
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
        await self._board.log_event(
            LogEvent(who.guild_id, action, who.user_id, detail={"subject": subject_id, "seconds": seconds}, pot=pot)
        )
        return pot

    # -- approvals and cancels ----------------------------------------------------------------------------

    async def decide(self, who: Requester, job_id: int, *, approve: bool) -> Job:
        """Approve (the job joins the queue) or deny (refunded) a job awaiting approval. The job as it is after
        the decision: an approved one already started if a slot was free."""
        _require(who)
        job = await self._job_of(who, job_id)
        if job.state is not JobState.AWAITING_APPROVAL:
            return job  # decided already (a second moderator's press): nothing changes
        if approve:
            now = self._lifecycle.clock()
            decided = await self._lifecycle.move(job, Transition.APPROVE, decided_by=who.user_id, waited_at=now)
        else:
            why = f"denied by <@{who.user_id}>"
            decided = await self._lifecycle.fail(
                job, FailureReason.DENIED, why, transition=Transition.DENY, decided_by=who.user_id
            )
        if decided is None:
            return await self._job_of(who, job_id)
        await self._after_decision(who, decided, approve)
        return await self._job_of(who, job_id) if approve else decided

    async def settle(self, who: Requester, job_id: int, *, billed: bool) -> Job:
        """Decide a job whose submit fate was unknown, after checking fal's dashboard: charge or refund it."""
        _require(who)
        job = await self._job_of(who, job_id)
        if job.state is not JobState.SUBMIT_UNKNOWN:
            raise CannotCancel("not_unknown")
        if billed:
            settled = await self._lifecycle.move(job, Transition.SETTLE_BILLED, finished_at=self._lifecycle.clock())
        else:
            settled = await self._lifecycle.fail(
                job,
                FailureReason.LOST,
                f"settled as not billed by <@{who.user_id}>",
                transition=Transition.SETTLE_UNBILLED,
                notified=True,
            )
        if settled is None:
            raise CannotCancel("moved_on")
        event = LogEvent(who.guild_id, "settle", who.user_id, job=settled, detail={"billed": billed})
        await self._board.log_event(event)
        await self._board.show_quietly(settled)
        await self._start_waiting()  # the slot the unknown submit held is free now
        return settled

    async def cancel(self, who: Requester, job_id: int) -> CancelOutcome:
        """Cancel one's own job (or any, as a moderator). Before fal has it, it ends and is refunded at once; once
        fal has it, fal is asked, and the job, its reservation and its slot stay until fal says how it ended."""
        job = await self._job_of(who, job_id)
        if job.user_id != who.user_id and not who.is_moderator:
            raise CannotCancel("not_yours")
        if job.state in NOT_STARTED:
            return await self._cancel_unstarted(who, job)
        if job.state not in IN_FLIGHT:
            raise CannotCancel("finished")
        if job.cancel_requested_by is not None:
            raise CannotCancel("already_requested")
        if job.state is JobState.SUBMITTING:
            # No request id yet: the job service sends the cancel as soon as fal answers the submit.
            noted = await self._lifecycle.note(job, while_in=[JobState.SUBMITTING], cancel_requested_by=who.user_id)
            if noted is not None:
                return CancelOutcome(noted, refunded=False)
            job = await self._job_of(who, job_id)
            if not job.state.at_fal:
                raise CannotCancel("moved_on")
        return await self._ask_fal_to_cancel(who, job)

    async def _ask_fal_to_cancel(self, who: Requester, job: Job) -> CancelOutcome:
        assert job.cancel_url is not None
        # Written before fal is asked: a look that sees fal's "cancelled" must know the member asked for it.
        noted = await self._lifecycle.note(job, while_in=AT_FAL, cancel_requested_by=who.user_id)
        if noted is None:
            raise CannotCancel("moved_on")
        try:
            answer = await self._fal.cancel(job.cancel_url)
        except FalError as exc:
            log.warning("job %d: cancel could not be asked of fal: %s", job.id, exc, extra=job.log_ids)
            await self._lifecycle.note(job, cancel_requested_by=None)
            raise CannotCancel("unreachable") from exc
        log.info("job %d: cancel asked of fal by %d: %s", job.id, who.user_id, answer, extra=job.log_ids)
        self._watch(job.id)  # a prompt look: fal's answer to the cancel decides charge or refund
        return CancelOutcome(noted, refunded=False, too_late=answer == "ALREADY_COMPLETED")

    async def _cancel_unstarted(self, who: Requester, job: Job) -> CancelOutcome:
        cancelled = await self._lifecycle.fail(
            job,
            FailureReason.CANCELLED,
            f"cancelled by <@{who.user_id}>",
            transition=Transition.CANCEL,
            cancel_requested_by=who.user_id,
        )
        if cancelled is None:
            raise CannotCancel("moved_on")
        await self._board.log_event(LogEvent(who.guild_id, "cancel", who.user_id, job=cancelled))
        self._watch(job.id)
        return CancelOutcome(cancelled, refunded=True)

    async def _after_decision(self, who: Requester, job: Job, approve: bool) -> None:
        await self._board.log_event(LogEvent(who.guild_id, "approve" if approve else "deny", who.user_id, job=job))
        if self._board.attached:
            try:
                await self._board.publisher.close_approval(job)
            except DeliveryFailed as exc:  # the decision stands; only its echo on the request failed
                log.warning("job %d: approval request not updated: %s", job.id, exc, extra=job.log_ids)
            await self._board.show_quietly(job)
        if approve:
            await self._start_waiting()
        else:
            self._watch(job.id)

    async def _job_of(self, who: Requester, job_id: int) -> Job:
        job = await self._rows.get(job_id)
        if job is None or job.guild_id != who.guild_id:
            raise JobNotFound(job_id)  # another guild's job does not exist, as far as this guild can tell
        return job

    async def _change(
        self,
        who: Requester,
        action: str,
        detail: dict[str, Any],
        apply: Callable[[Transaction], Awaitable[Any]],
        was: Callable[[GuildPolicy], dict[str, Any]] | None = None,
    ) -> GuildPolicy:
        _require(who)
        if was is not None:
            # The log line says what the setting was, so the moderators can tell what changed and undo it.
            detail = {**detail, **was(await self._guilds.policy(who.guild_id))}
        async with self._db.transaction() as conn:
            await apply(conn)
            await self._guilds.audit(conn, who.guild_id, who.user_id, action, detail, self._lifecycle.clock())
        log.info("guild %d: %s by %d: %s", who.guild_id, action, who.user_id, detail)
        await self._board.log_event(LogEvent(who.guild_id, action, who.user_id, detail=detail))
        if action in ("resume", "caps"):
            await self._start_waiting()
        return await self._guilds.policy(who.guild_id)


def _plain(value: object) -> object:
    """A policy value as the audit stores it: enums by their value, flags as 0 or 1."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


def _entry_was(before: GuildPolicy, list_name: str, key: Any) -> dict[str, Any]:
    """What an entry of a list was before it changed: the seconds of an allowance or pot, or None for none."""
    entries = getattr(before, list_name, None)
    old = entries.get(key) if isinstance(entries, dict) else None
    return {"was": old, "period": before.period}


def _require(who: Requester) -> None:
    if not who.is_moderator:
        raise NotModerator()


__all__ = ["CancelOutcome", "ModerationService"]
