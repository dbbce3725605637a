"""Budgets in video-seconds. A job reserves from every pot that applies (guild, member, channel) in one
transaction; it is charged on success and refunded on failure, cancel or denial. No pot goes below zero."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.db import pots
from bot.db.connection import Database
from bot.db.guilds import GuildRepo
from bot.errors import BudgetExhausted
from bot.models import GuildPolicy, Job, PotScope, PotState, Requester
from bot.periods import period_bounds, utcnow
from bot.settings import Settings, Tier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuotaView:
    """What /quota shows a member."""

    guild: PotState
    member: PotState
    channel: PotState | None
    member_in_flight: int
    guild_in_flight: int
    guild_waiting: int


class BudgetService:
    def __init__(
        self, db: Database, guilds: GuildRepo, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._db = db
        self._guilds = guilds
        self._settings = settings
        self._clock = clock

    async def reserve(
        self, conn: aiosqlite.Connection, policy: GuildPolicy, requester: Requester, seconds: int
    ) -> list[PotState]:
        """Hold `seconds` in every pot that applies, or raise BudgetExhausted naming the first short one.
        Runs inside the caller's transaction, so a refusal leaves every pot as it was."""
        held = []
        for pot in await self._pots(conn, policy, requester):
            if not await pots.reserve(conn, pot.id, seconds):
                raise BudgetExhausted(
                    needed=seconds,
                    remaining=pot.remaining_seconds,
                    resets_at=pot.period_end,
                    scope=pot.scope,
                    price_per_second=self._settings.tier(policy.tier).price_per_second,
                )
            held.append(pot)
        return held

    async def link(self, conn: aiosqlite.Connection, job_id: int, held: list[PotState], seconds: int) -> None:
        """Remember which pots a job holds, with a ledger line for each."""
        for pot in held:
            await pots.link_job(conn, job_id, pot.id, seconds)
            await pots.record(
                conn,
                guild_id=pot.guild_id,
                job_id=job_id,
                pot_id=pot.id,
                kind="reserve",
                seconds=seconds,
                at=self._clock(),
            )

    async def charge(self, conn: aiosqlite.Connection, job: Job) -> None:
        """fal billed the job: every reservation it holds becomes spending."""
        await self._settle(conn, job, "charge", pots.charge)

    async def refund(self, conn: aiosqlite.Connection, job: Job) -> None:
        """The job will not be billed: release every reservation it holds."""
        await self._settle(conn, job, "refund", pots.refund)

    async def _settle(
        self,
        conn: aiosqlite.Connection,
        job: Job,
        kind: str,
        move: Callable[[aiosqlite.Connection, int, int], Awaitable[bool]],
    ) -> None:
        for pot_id, seconds in await pots.job_pots(conn, job.id):
            if not await move(conn, pot_id, seconds):
                log.error(
                    "job %d: %s of %ds found pot %d short; ledger still records it", job.id, kind, seconds, pot_id
                )
            await pots.record(
                conn, guild_id=job.guild_id, job_id=job.id, pot_id=pot_id, kind=kind, seconds=seconds, at=self._clock()
            )

    async def add(self, guild_id: int, scope: PotScope, subject_id: int, seconds: int, actor_id: int) -> PotState:
        """A one-off top-up (guild) or grant (member) for this period, audited."""
        async with self._db.transaction() as conn:
            policy = await self._guilds.policy(guild_id, conn)
            limit = policy.guild_seconds if scope is PotScope.GUILD else policy.member_seconds
            pot = await self._pot(conn, policy, scope, subject_id, limit)
            await pots.add_extra(conn, pot.id, seconds)
            kind = "topup" if scope is PotScope.GUILD else "grant"
            await pots.record(
                conn, guild_id=guild_id, pot_id=pot.id, actor_id=actor_id, kind=kind, seconds=seconds, at=self._clock()
            )
            await self._guilds.audit(
                conn,
                guild_id,
                actor_id,
                kind,
                {"scope": scope.value, "subject": subject_id, "seconds": seconds},
                self._clock(),
            )
            fresh = await pots.peek(conn, guild_id, scope, subject_id)
        assert fresh is not None
        return fresh

    async def price_for(self, guild_id: int) -> Tier:
        """The model tier this guild uses, with its price: the one answer to every price question."""
        return self._settings.tier((await self._guilds.policy(guild_id)).tier)

    async def guild_pot(self, guild_id: int) -> PotState:
        async with self._db.transaction() as conn:
            policy = await self._guilds.policy(guild_id, conn)
            return await self._pot(conn, policy, PotScope.GUILD, guild_id, policy.guild_seconds)

    async def overview(self, requester: Requester) -> QuotaView:
        """The guild's, the member's and (if it has one) the channel's pot, and what is in flight."""
        async with self._db.transaction() as conn:
            policy = await self._guilds.policy(requester.guild_id, conn)
            found = {p.scope: p for p in await self._pots(conn, policy, requester)}
            counts = await _counts(conn, requester)
        return QuotaView(found[PotScope.GUILD], found[PotScope.MEMBER], found.get(PotScope.CHANNEL), *counts)

    async def warning_due(self, guild_id: int) -> PotState | None:
        """The guild pot, the first time in a period it passes the warning threshold; else None."""
        async with self._db.transaction() as conn:
            pot = await pots.peek(conn, guild_id, PotScope.GUILD, guild_id)
            if pot is None or pot.used_fraction < self._settings.budget.warn_at:
                return None
            return pot if await pots.mark_warned(conn, pot.id) else None

    async def _pots(self, conn: aiosqlite.Connection, policy: GuildPolicy, requester: Requester) -> list[PotState]:
        found = [
            await self._pot(conn, policy, PotScope.GUILD, policy.guild_id, policy.guild_seconds),
            await self._pot(
                conn, policy, PotScope.MEMBER, requester.user_id, policy.member_allowance(requester.role_ids)
            ),
        ]
        channel_limit = policy.channel_budgets.get(requester.home_channel_id)
        if channel_limit is not None:
            found.append(await self._pot(conn, policy, PotScope.CHANNEL, requester.home_channel_id, channel_limit))
        return found

    async def _pot(
        self, conn: aiosqlite.Connection, policy: GuildPolicy, scope: PotScope, subject_id: int, limit: int
    ) -> PotState:
        now = self._clock()
        bounds = period_bounds(now, policy.period, policy.reset_hour)
        return await pots.current(conn, policy.guild_id, scope, subject_id, limit=limit, now=now, bounds=bounds)


_IN_FLIGHT = "('submitting', 'queued', 'running')"


async def _counts(conn: aiosqlite.Connection, requester: Requester) -> tuple[int, int, int]:
    sql = f"""
    SELECT
      SUM(state IN {_IN_FLIGHT} AND user_id = :u),
      SUM(state IN {_IN_FLIGHT}),
      SUM(state IN ('waiting', 'awaiting_approval'))
    FROM jobs WHERE guild_id = :g
    """
    async with conn.execute(sql, {"u": requester.user_id, "g": requester.guild_id}) as cursor:
        row = await cursor.fetchone()
    return tuple(int(v or 0) for v in row) if row else (0, 0, 0)  # type: ignore[return-value]
