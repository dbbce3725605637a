"""Budgets in video-seconds: which pots apply to a member, what is left, top-ups and grants, the warning.
A job's own money (reserve, charge, refund) moves with its state, in bot/services/lifecycle.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.db import pots
from bot.db.connection import Database, Transaction
from bot.db.guilds import GuildRepo
from bot.db.jobs import JobRepo
from bot.errors import BudgetExhausted
from bot.models import GuildPolicy, PotScope, PotState, Requester
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


@dataclass(frozen=True)
class Standing:
    """What /help tells a member about their server right now: their pots, its rules and its tier."""

    quota: QuotaView
    policy: GuildPolicy
    tier: Tier


class BudgetService:
    def __init__(
        self,
        db: Database,
        guilds: GuildRepo,
        jobs: JobRepo,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._guilds = guilds
        self._jobs = jobs
        self._settings = settings
        self._clock = clock

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
        return self.tier_of(await self._guilds.policy(guild_id))

    async def dollars_shown(self, guild_id: int) -> bool:
        """Whether this guild's members see dollars beside seconds (moderators always do)."""
        return not await self._guilds.seconds_only(guild_id)

    def tier_of(self, policy: GuildPolicy) -> Tier:
        return self._settings.tier(policy.tier)

    async def guild_pot(self, guild_id: int) -> PotState:
        async with self._db.transaction() as conn:
            policy = await self._guilds.policy(guild_id, conn)
            return await self._pot(conn, policy, PotScope.GUILD, guild_id, policy.guild_seconds)

    async def overview(self, requester: Requester) -> QuotaView:
        """The guild's, the member's and (if it has one) the channel's pot, and what is in flight."""
        async with self._db.transaction() as conn:
            policy = await self._guilds.policy(requester.guild_id, conn)
            found = {p.scope: p for p in await self.pots_for(conn, policy, requester)}
        counts = await self._jobs.in_flight(requester.guild_id, requester.user_id)
        return QuotaView(found[PotScope.GUILD], found[PotScope.MEMBER], found.get(PotScope.CHANNEL), *counts)

    async def standing(self, requester: Requester) -> Standing:
        """The member's pots with the guild's policy and tier, for /help."""
        view = await self.overview(requester)
        policy = await self._guilds.policy(requester.guild_id)
        return Standing(view, policy, self.tier_of(policy))

    async def ensure_affordable(self, policy: GuildPolicy, requester: Requester, seconds: int) -> None:
        """Raise the BudgetExhausted the reservation would raise if a pot this member draws on cannot cover `seconds`
        now. Advisory and free: nothing is held, so a /tween that cannot be paid for downloads and decodes nothing;
        the reservation (Lifecycle.open) still decides."""
        async with self._db.transaction() as tx:
            # The pots come up to the current period as /quota brings them; no money moves.
            drawn_on = await self.pots_for(tx, policy, requester)
            short = [pot for pot in drawn_on if pot.remaining_seconds < seconds]
        if short:
            raise self.exhausted(policy, requester, seconds, drawn_on, short)

    def exhausted(
        self, policy: GuildPolicy, requester: Requester, seconds: int, drawn_on: list[PotState], short: list[PotState]
    ) -> BudgetExhausted:
        """The refusal for the pot that explains it best, with what would work: a member's allowance a role set to
        nothing comes first (no wait or shorter video helps), else the pot with the least left."""
        never = [p for p in short if p.scope is PotScope.MEMBER and p.total_seconds <= 0]
        pot = never[0] if never else min(short, key=lambda p: p.remaining_seconds)
        tier = self.tier_of(policy)
        return BudgetExhausted(
            needed=seconds,
            remaining=max(0, pot.remaining_seconds),
            resets_at=pot.period_end,
            scope=pot.scope,
            price_per_second=None if policy.seconds_only else tier.price_per_second,
            fits=max(0, min(p.remaining_seconds for p in drawn_on)),
            min_duration=tier.min_duration,
            total=pot.total_seconds,
            role_id=allowance_role(policy, requester.role_ids) if pot.scope is PotScope.MEMBER else None,
            subject_id=pot.subject_id if pot.scope is PotScope.CHANNEL else None,
        )

    async def paid_from(self, job_id: int) -> list[PotState]:
        """The pots a job draws on, with what each has left now: for the answer to its submit."""
        async with self._db.transaction() as tx:
            return await pots.of_job(tx, job_id)

    async def warning_due(self, guild_id: int) -> PotState | None:
        """The guild pot, the first time in a period it passes the warning threshold; else None."""
        async with self._db.transaction() as conn:
            pot = await pots.peek(conn, guild_id, PotScope.GUILD, guild_id)
            if pot is None or pot.used_fraction < self._settings.budget.warn_at:
                return None
            return pot if await pots.mark_warned(conn, pot.id) else None

    async def pots_for(self, tx: Transaction, policy: GuildPolicy, requester: Requester) -> list[PotState]:
        """Every pot a job of this member here draws on, for the current period: guild, member and channel."""
        found = [
            await self._pot(tx, policy, PotScope.GUILD, policy.guild_id, policy.guild_seconds),
            await self._pot(
                tx, policy, PotScope.MEMBER, requester.user_id, policy.member_allowance(requester.role_ids)
            ),
        ]
        channel_limit = policy.channel_budgets.get(requester.home_channel_id)
        if channel_limit is not None:
            found.append(await self._pot(tx, policy, PotScope.CHANNEL, requester.home_channel_id, channel_limit))
        return found

    async def _pot(
        self, conn: Transaction, policy: GuildPolicy, scope: PotScope, subject_id: int, limit: int
    ) -> PotState:
        now = self._clock()
        bounds = period_bounds(now, policy.period, policy.reset_hour)
        return await pots.current(conn, policy.guild_id, scope, subject_id, limit=limit, now=now, bounds=bounds)


def allowance_role(policy: GuildPolicy, role_ids: frozenset[int]) -> int | None:
    """The role whose override sets this member's allowance (the best one, as `member_allowance` picks), if any."""
    overrides = [r for r in sorted(role_ids) if r in policy.role_allowances]
    return max(overrides, key=lambda r: policy.role_allowances[r]) if overrides else None
