"""Shard leases on a real SQLite file and on PostgreSQL, with two stores opened on one database standing for two
processes: acquire, refuse, expire, take over, renew, lose, release."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest

from bot.__main__ import running_bot
from bot.db import leases
from bot.db.connection import Database, open_database
from bot.db.leases import ShardLease, held_shards, shown
from bot.errors import LeaseLost, ShardsHeld
from bot.sharding import ShardPlan
from tests.support.settings import make_settings
from tests.support.waiting import read_until

TTL = 30.0
TWO = ShardPlan(2, None)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 10, 30, 35, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def dbs(store: str | None, tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two stores opened on one database (the SQLite file, or PostgreSQL): what two processes see."""
    target = store or str(tmp_path / "tween.sqlite3")
    async with open_database(target) as first, open_database(target) as second:
        yield first, second


_PROCESSES = itertools.count(1)


def lease(db: Database, plan: ShardPlan, clock: Clock, **kwargs: object) -> ShardLease:
    """A lease as one more process takes it. Each gets a host of its own: two leases of this one test process would
    share its host and pid, which marks the older as a dead predecessor (a restarted container's pid 1)."""
    kwargs.setdefault("holder", f"tween-{next(_PROCESSES)}.test:4242:{secrets.token_hex(2)}")
    return ShardLease(db, plan, ttl=TTL, clock=clock, **kwargs)  # type: ignore[arg-type]


async def holders(db: Database) -> list[tuple[int, int, str]]:
    rows = await db.fetch_all("SELECT shard_count, shard_id, holder FROM shard_leases ORDER BY shard_count, shard_id")
    return [(r[0], r[1], r[2]) for r in rows]


async def test_a_second_process_for_the_same_shards_is_refused_in_one_line(dbs, clock):
    first, second = dbs
    held = lease(first, TWO, clock)
    await held.acquire()
    with pytest.raises(ShardsHeld) as refused:
        await lease(second, TWO, clock).acquire()
    assert str(refused.value) == (
        f"shards 0-1 of 2 are held by {shown(held.holder)} (lease until 10:31:05 UTC); stop that process, or wait "
        "for its lease to expire"
    )


async def test_two_processes_starting_at_once_for_the_same_shards_get_one_winner(dbs, clock):
    first, second = dbs
    for _ in range(5):
        a, b = lease(first, TWO, clock), lease(second, TWO, clock)
        outcomes = await asyncio.gather(a.acquire(), b.acquire(), return_exceptions=True)
        assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "ShardsHeld"], outcomes
        await (a if outcomes[0] is None else b).release()


async def test_processes_on_other_shards_of_one_count_run_side_by_side(dbs, clock):
    first, second = dbs
    a, b = lease(first, ShardPlan(4, (0, 1)), clock), lease(second, ShardPlan(4, (2, 3)), clock)
    await a.acquire()
    await b.acquire()
    assert await holders(first) == [(4, 0, a.holder), (4, 1, a.holder), (4, 2, b.holder), (4, 3, b.holder)]


async def test_acquiring_is_all_shards_or_none(dbs, clock):
    first, second = dbs
    held = lease(first, ShardPlan(4, (1,)), clock)
    await held.acquire()
    with pytest.raises(ShardsHeld, match=r"^shard 1 of 4 is held by"):
        await lease(second, ShardPlan(4, (0, 1)), clock).acquire()
    assert await holders(second) == [(4, 1, held.holder)]  # shard 0 was not taken either
    await lease(second, ShardPlan(4, (0,)), clock).acquire()


@pytest.mark.parametrize(
    ("running", "starting", "says"),
    [
        (ShardPlan(2, (1,)), ShardPlan(4, (3,)), "every process must use the same TWEEN_SHARD_COUNT"),
        (ShardPlan(), ShardPlan(4, (3,)), "every shard (Discord's recommended count) is held by"),
        (ShardPlan(4, (3,)), ShardPlan(), "this process wants every shard (no TWEEN_SHARD_COUNT)"),
    ],
)
async def test_another_count_or_a_process_on_every_shard_refuses(dbs, clock, running, starting, says):
    first, second = dbs
    await lease(first, running, clock).acquire()
    with pytest.raises(ShardsHeld, match=r"wait for its lease to expire$") as refused:
        await lease(second, starting, clock).acquire()
    assert says in str(refused.value)


async def test_an_expired_lease_is_taken_over_and_its_holder_learns_at_its_next_renewal(dbs, clock):
    first, second = dbs
    old = lease(first, TWO, clock)
    await old.acquire()
    clock.advance(TTL + 1)  # the old process hung: no renewal in time
    new = lease(second, TWO, clock)
    await new.acquire()
    assert not await old.renew()
    assert await new.renew()
    assert {h for _, _, h in await holders(first)} == {new.holder}


async def test_renewing_keeps_the_shards_past_the_first_lease_time(dbs, clock):
    first, second = dbs
    running = lease(first, TWO, clock)
    await running.acquire()
    clock.advance(TTL * 2 / 3)
    assert await running.renew()
    clock.advance(TTL * 2 / 3)  # past the first lease's end, within the renewed one
    with pytest.raises(ShardsHeld, match=r"lease until 10:31:25 UTC"):
        await lease(second, TWO, clock).acquire()


async def test_a_released_lease_lets_a_restart_in_at_once(dbs, clock):
    first, second = dbs
    stopping = lease(first, TWO, clock)
    await stopping.acquire()
    await stopping.release()
    assert await holders(first) == []
    await lease(second, TWO, clock).acquire()


async def test_a_killed_process_of_this_host_is_taken_over_before_its_lease_expires(dbs, clock):
    first, second = dbs
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await child.wait()  # a pid that no longer runs, as a SIGKILLed bot's
    await lease(first, TWO, clock, holder=f"{socket.gethostname()}:{child.pid}:dead").acquire()
    await lease(second, TWO, clock).acquire()
    other_host = lease(first, ShardPlan(), clock, holder=f"elsewhere:{child.pid}:x")
    with pytest.raises(ShardsHeld):
        await other_host.acquire()  # a process of another host is only known gone once its lease expires


async def test_a_process_whose_shards_were_taken_stops_and_says_so(dbs):
    first, second = dbs
    lost = asyncio.Event()
    with pytest.raises(LeaseLost, match=r"^another process took over shards 0-1 of 2; stopped"):
        async with held_shards(first, TWO, ttl=0.3) as held:  # renewed every 0.1 s
            held.on_lost = lost.set
            await second.execute("UPDATE shard_leases SET holder = 'thief:1:x'")
            async with asyncio.timeout(10):
                await lost.wait()
            assert held.lost
    assert {h for _, _, h in await holders(first)} == {"thief:1:x"}  # the release gave back only its own


async def test_held_shards_renews_while_inside_and_releases_on_the_way_out(dbs):
    first, _ = dbs

    async def expiry() -> str:
        row = await first.fetch_one("SELECT expires_at FROM shard_leases WHERE shard_id = 0")
        assert row is not None
        return str(row[0])

    async with held_shards(first, TWO, ttl=0.3) as held:
        taken = await expiry()
        await read_until(expiry, lambda now: now > taken, what="a renewal")
        assert not held.lost
    assert await holders(first) == []


@pytest.fixture
def discord_globals() -> Iterator[None]:
    """running_bot points discord.py at the configured hosts; put them back for the tests after this one."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


async def test_the_bot_takes_its_lease_as_it_opens_and_a_second_is_refused(tmp_path, discord_globals, monkeypatch):
    # Two bots in one test process share its pid: each is given a host of its own, as two processes would differ.
    monkeypatch.setattr(leases, "process_identity", lambda: f"tween-{next(_PROCESSES)}.test:4242:beef")
    settings = make_settings(storage={"db_path": str(tmp_path / "tween.sqlite3")})
    async with running_bot(settings):
        with pytest.raises(ShardsHeld, match=r"^every shard \(Discord's recommended count\) is held by"):
            async with running_bot(settings):
                pass
    async with running_bot(settings):  # released on the way out: a restart starts at once
        pass
