"""Shard leases: which running process serves which Discord shards, so two never track the same guild's jobs.

A process takes a lease row per shard of its plan when it starts (all of them or none), renews them every third of
the lease time, and gives them back when it stops. A lease that was not renewed in time has expired: the next
process to start takes it over, and the process that held it finds out at its next renewal and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.db.connection import Database, Transaction
from bot.errors import LeaseLost, ShardsHeld
from bot.periods import from_db, to_db, utcnow
from bot.sharding import ShardPlan

log = logging.getLogger(__name__)

# The shard_count of a lease on every shard of Discord's recommended count (one row, shard 0, stands for all).
EVERY_SHARD = 0

# Acquisitions take turns across processes (PostgreSQL: an advisory lock; SQLite's write lock already does it).
_LOCK = "tween:shard-leases"
_CLEAR = "DELETE FROM shard_leases WHERE expires_at <= ? OR holder = ?"
_LIVE = "SELECT * FROM shard_leases ORDER BY shard_count, shard_id"
_DROP = "DELETE FROM shard_leases WHERE holder = ?"
_TAKE = """
INSERT INTO shard_leases (shard_count, shard_id, holder, acquired_at, expires_at)
VALUES (:shard_count, :shard_id, :holder, :now, :until)
"""
_RENEW = "UPDATE shard_leases SET expires_at = ? WHERE holder = ?"


@dataclass(frozen=True)
class LeaseState:
    """For /health: which shards this process leases, and until when its last renewal holds them."""

    shards: str  # as the log says it: "shards 0-3 of 8", "every shard Discord recommends"
    until: datetime | None  # None before the first acquire
    lost: bool  # another process took them over

    def held(self, now: datetime) -> bool:
        return not self.lost and self.until is not None and self.until > now


@dataclass(frozen=True)
class Lease:
    shard_count: int  # EVERY_SHARD: the holder serves every shard Discord recommends
    shard_id: int
    holder: str
    acquired_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Lease:
        return cls(
            int(row["shard_count"]),
            int(row["shard_id"]),
            str(row["holder"]),
            from_db(row["acquired_at"]),
            from_db(row["expires_at"]),
        )


def process_identity() -> str:
    """host:pid:random: the host and pid name the holder to an operator; the random part tells restarts apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def shown(holder: str) -> str:
    """A holder as an operator looks for it: host:pid."""
    return holder.rpartition(":")[0] or holder


def gone_here(holder: str) -> bool:
    """Whether the holder is a process of this host that no longer runs (killed, crashed): its lease is stale now,
    not only once it expires. Another host's process, or a pid in use by another process, is not gone. A holder
    with this very pid (not this process's lease: the caller leaves that out) is an earlier process that had it,
    as a restarted container's pid 1 does."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def lease_keys(plan: ShardPlan) -> list[tuple[int, int]]:
    """The (shard_count, shard_id) rows a plan holds."""
    if plan.count is None:
        return [(EVERY_SHARD, 0)]
    ids = plan.ids if plan.ids is not None else tuple(range(plan.count))
    return [(plan.count, shard) for shard in ids]


def blocking(plan: ShardPlan, others: Sequence[Lease]) -> list[Lease]:
    """Live leases of other processes this plan cannot run beside: the same shards, another shard count (every
    process must agree on it), or a lease on every shard (on either side)."""
    wanted = {shard for _, shard in lease_keys(plan)}
    return [
        lease
        for lease in others
        if plan.count is None
        or lease.shard_count == EVERY_SHARD
        or lease.shard_count != plan.count
        or lease.shard_id in wanted
    ]


def refusal(plan: ShardPlan, held: Sequence[Lease]) -> str:
    """One line for the operator: who holds what until when, and what to do."""
    by_holder: dict[str, list[Lease]] = {}
    for lease in held:
        by_holder.setdefault(lease.holder, []).append(lease)
    clauses = [_held_by(holder, leases) for holder, leases in by_holder.items()]
    line = ", and ".join(clauses)
    if plan.count is None:
        if any(lease.shard_count != EVERY_SHARD for lease in held):
            line += "; this process wants every shard (no TWEEN_SHARD_COUNT): give each process the same count"
    elif any(lease.shard_count != plan.count for lease in held):
        wanted = _shards(plan.count, [shard for _, shard in lease_keys(plan)])
        line += f"; this process wants {wanted}, and every process must use the same TWEEN_SHARD_COUNT"
    several = len(by_holder) > 1
    stop = "stop those processes, or wait for their leases" if several else "stop that process, or wait for its lease"
    return f"{line}; {stop} to expire"


def _held_by(holder: str, leases: Sequence[Lease]) -> str:
    until = max(lease.expires_at for lease in leases).strftime("%H:%M:%S UTC")
    count = leases[0].shard_count
    if count == EVERY_SHARD:
        what = "every shard (Discord's recommended count) is"
    else:
        what = f"{_shards(count, [lease.shard_id for lease in leases])} {'is' if len(leases) == 1 else 'are'}"
    return f"{what} held by {shown(holder)} (lease until {until})"


def _shards(count: int, ids: Sequence[int]) -> str:
    if len(ids) == 1:
        return f"shard {ids[0]} of {count}"
    return ShardPlan(count, tuple(sorted(ids))).describe()


class ShardLease:
    """This process's leases on the shards of its plan."""

    def __init__(
        self,
        db: Database,
        plan: ShardPlan,
        *,
        ttl: float,
        clock: Callable[[], datetime] = utcnow,
        holder: str | None = None,
        gone: Callable[[str], bool] = gone_here,
    ) -> None:
        self._db = db
        self.plan = plan
        self.ttl = ttl
        self._clock = clock
        self.holder = holder or process_identity()
        self._gone = gone
        self.lost = False
        self.until: datetime | None = None  # as far as the last acquire or renewal holds the shards
        self.on_lost: Callable[[], object] | None = None  # called once, when another process took the shards over

    async def acquire(self) -> None:
        """Take every shard of the plan in one transaction, or none: ShardsHeld names who holds what."""
        now = self._clock()
        async with self._db.transaction(lock=_LOCK) as tx:
            await tx.execute(_CLEAR, (to_db(now), self.holder))
            others = await self._stale_removed(tx, await _leases(tx))
            if held := blocking(self.plan, others):
                raise ShardsHeld(refusal(self.plan, held))
            until = now + timedelta(seconds=self.ttl)
            for count, shard in lease_keys(self.plan):
                values = {"shard_count": count, "shard_id": shard, "holder": self.holder, "now": to_db(now)}
                await tx.execute(_TAKE, {**values, "until": to_db(until)})
        self.until = until
        log.info("leased %s as %s for %.0f s at a time", self.plan.describe(), shown(self.holder), self.ttl)

    async def _stale_removed(self, tx: Transaction, leases: list[Lease]) -> list[Lease]:
        """The leases left once those of processes known to be dead on this host are removed."""
        dead = {lease.holder for lease in leases if lease.holder != self.holder and self._gone(lease.holder)}
        for holder in sorted(dead):
            log.warning("taking over the shard leases of %s, which no longer runs", shown(holder))
            await tx.execute(_DROP, (holder,))
        return [lease for lease in leases if lease.holder not in dead]

    async def renew(self) -> bool:
        """Push every lease of this process a lease time on; False when another process has taken any over."""
        until = self._clock() + timedelta(seconds=self.ttl)
        renewed = await self._db.execute(_RENEW, (to_db(until), self.holder))
        if renewed == len(lease_keys(self.plan)):
            self.until = until
            return True
        return False

    def state(self) -> LeaseState:
        return LeaseState(self.plan.describe(), self.until, self.lost)

    async def release(self) -> None:
        """Give the shards back, so a restart need not wait for the leases to expire."""
        await self._db.execute(_DROP, (self.holder,))
        log.info("released the lease on %s", self.plan.describe())

    async def keep(self) -> None:
        """Renew every third of the lease time until cancelled, or until the shards are lost."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                kept = await self.renew()
            except Exception as exc:  # the database away for a moment: the next renewal tells
                log.warning("could not renew the shard lease (%r); trying again in %.0f s", exc, self.ttl / 3)
                continue
            if not kept:
                self.lost = True
                log.error(
                    "another process took over %s (this process's lease was not renewed in time): stopping, so that "
                    "only one process tracks their jobs",
                    self.plan.describe(),
                )
                if self.on_lost is not None:
                    self.on_lost()
                return


async def _leases(tx: Transaction) -> list[Lease]:
    async with tx.execute(_LIVE) as cursor:
        return [Lease.of(row) for row in await cursor.fetchall()]


@asynccontextmanager
async def held_shards(
    db: Database, plan: ShardPlan, *, ttl: float, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[ShardLease]:
    """Acquire (or raise ShardsHeld), renew while inside, release on the way out. Raises LeaseLost on the way out
    when another process took the shards over meanwhile, so the caller can exit for its supervisor to restart."""
    lease = ShardLease(db, plan, ttl=ttl, clock=clock)
    await lease.acquire()
    keeper = asyncio.create_task(lease.keep(), name="shard-lease")
    try:
        yield lease
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        try:
            await lease.release()
        except Exception as exc:  # the leases then expire by themselves
            log.warning("could not release the shard lease (%r); it expires in %.0f s", exc, ttl)
    if lease.lost:
        raise LeaseLost(f"another process took over {plan.describe()}; stopped so that only one process serves them")
