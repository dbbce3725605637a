"""The one home of a job's state changes and the money that moves with them.

Every change of `jobs.state` goes through `move` (or `open`/`claim`), checked against `TRANSITIONS` beside
`JobState`; a reservation is charged or refunded in the same transaction as the state that says so. Each write
returns the row as written, so no caller reads it back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.db import pots
from bot.db.connection import Database, Transaction
from bot.db.jobs import Caps, JobRepo
from bot.models import FailureReason, GuildPolicy, Job, JobState, Money, PotState, Requester, Transition
from bot.services.budget import BudgetService

log = logging.getLogger(__name__)


class IllegalTransition(RuntimeError):
    """A caller asked for a state change the table does not allow: a bug, never a member's doing."""

    def __init__(self, job: Job, transition: Transition) -> None:
        step = transition.step
        allowed = ", ".join(sorted(s.value for s in step.sources))
        super().__init__(f"job {job.id}: {transition} is not allowed from {job.state} (only from {allowed})")


@dataclass(frozen=True)
class Draft:
    """A job about to be reserved: what was asked, by whom, at what price."""

    requester: Requester
    prompt: str
    duration: int
    price_micros: int
    model: str
    upload_limit: int
    session_id: int | None = None
    parent_job_id: int | None = None
    origin: str = "tween"

    def row(self) -> dict[str, Any]:
        who = self.requester
        return {
            "guild_id": who.guild_id,
            "channel_id": who.channel_id,
            "user_id": who.user_id,
            "prompt": self.prompt,
            "duration": self.duration,
            "price_micros": self.price_micros,
            "model": self.model,
            "upload_limit": self.upload_limit,
            "session_id": self.session_id,
            "parent_job_id": self.parent_job_id,
            "origin": self.origin,
        }


class Lifecycle:
    def __init__(self, db: Database, rows: JobRepo, budget: BudgetService, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._rows = rows
        self._budget = budget
        self.clock = clock

    async def open(self, draft: Draft, policy: GuildPolicy) -> Job:
        """Write the RESERVED row and hold its seconds in every pot that applies, in one transaction, or raise
        BudgetExhausted naming the pot that explains the refusal best (and nothing is written)."""
        # Two versions of one session asked at once still get distinct numbers: the guild pot's row lock, taken by
        # the reservation below, makes the second transaction wait for the first (test_postgres_store).
        async with self._db.transaction() as tx:
            held = await self._reserve(tx, policy, draft.requester, draft.duration)
            job = await self._rows.insert(tx, job=draft.row(), now=self.clock())
            assert job is not None
            for pot in held:
                await pots.link_job(tx, job.id, pot.id, draft.duration)
                await self._record(tx, job, pot.id, "reserve", draft.duration)
        log.info("job %d: reserved %ds", job.id, job.duration, extra=job.log_ids)
        return job

    async def move(self, job: Job, transition: Transition, **changes: Any) -> Job | None:
        """Take the step if the row is still in one of its source states; the new row, or None if the job had
        moved on. Raises IllegalTransition if the state the caller holds is not a source of this step."""
        step = transition.step
        if job.state not in step.sources:
            raise IllegalTransition(job, transition)
        if transition is Transition.CLAIM:
            raise ValueError("a job is claimed only under the caps: use claim()")
        columns = {**changes, "state": step.target}
        if step.money is None:
            return await self._rows.update(job.id, expect=step.sources, now=self.clock(), **columns)
        try:
            async with self._db.transaction() as tx:
                moved = await self._rows.update(job.id, expect=step.sources, now=self.clock(), tx=tx, **columns)
                if moved is not None:
                    await self._settle(tx, moved, step.money)
        finally:
            self._rows.wrote(job.id)  # committed (or rolled back): a row read meanwhile may predate it
        return moved

    async def fail(
        self,
        job: Job,
        reason: FailureReason,
        detail: str,
        *,
        transition: Transition = Transition.FAIL,
        notified: bool = False,
        **changes: Any,
    ) -> Job | None:
        """End the job without a video (failed, cancelled, denied): its reservation is refunded."""
        ended = await self.move(
            job,
            transition,
            failure=reason,
            failure_detail=detail[:500],
            failure_notified=notified,
            finished_at=self.clock(),
            queue_position=None,
            **changes,
        )
        if ended is not None:
            what = (ended.state, reason, detail, job.duration)
            log.info("job %d %s (%s): %s; %ds refunded", job.id, *what, extra=ended.log_ids)
        return ended

    async def submit_lost(self, job: Job, **changes: Any) -> Job | None:
        """SUBMITTING → SUBMIT_UNKNOWN. `finished_at` marks when Tween lost sight of it: the slot it may hold at fal
        is counted from then, and no later note (such as "member told") moves that."""
        return await self.move(job, Transition.SUBMIT_LOST, finished_at=self.clock(), **changes)

    async def note(self, job: Job, *, while_in: Iterable[JobState] | None = None, **changes: Any) -> Job | None:
        """Record facts that are not a state change (card ids, queue position, attempts, 'member told'); with
        `while_in`, only if the job is still in one of those states."""
        if "state" in changes:
            raise ValueError("a state change is a transition: use move()")
        return await self._rows.update(job.id, expect=while_in, now=self.clock(), **changes)

    async def claim(self, job: Job, caps: Caps) -> Job | None:
        """WAITING → SUBMITTING, only while every concurrency cap has room (counted in the same statement)."""
        if job.state not in Transition.CLAIM.step.sources:
            raise IllegalTransition(job, Transition.CLAIM)
        return await self._rows.claim(job.id, caps, self.clock())

    async def _reserve(self, tx: Transaction, policy: GuildPolicy, who: Requester, seconds: int) -> list[PotState]:
        held = []
        drawn_on = await self._budget.pots_for(tx, policy, who)
        for pot in drawn_on:
            if not await pots.reserve(tx, pot.id, seconds):
                # The states were read in this transaction before any hold, so they say what each pot has.
                short = [p for p in drawn_on if p.remaining_seconds < seconds] or [pot]
                raise self._budget.exhausted(policy, who, seconds, drawn_on, short)
            held.append(pot)
        return held

    async def _settle(self, tx: Transaction, job: Job, money: Money) -> None:
        """Turn every reservation the job holds into spending (charge) or release it (refund)."""
        move = _MOVES[money]
        for pot_id, seconds in await pots.job_pots(tx, job.id):
            if not await move(tx, pot_id, seconds):
                log.error("job %d: %s of %ds found pot %d short; ledger kept", job.id, money, seconds, pot_id)
            await self._record(tx, job, pot_id, money.value, seconds)

    async def _record(self, tx: Transaction, job: Job, pot_id: int, kind: str, seconds: int) -> None:
        await pots.record(
            tx, guild_id=job.guild_id, job_id=job.id, pot_id=pot_id, kind=kind, seconds=seconds, at=self.clock()
        )


_MOVES: Mapping[Money, Callable[[Transaction, int, int], Any]] = {Money.CHARGE: pots.charge, Money.REFUND: pots.refund}

__all__ = ["Caps", "Draft", "IllegalTransition", "Lifecycle"]
