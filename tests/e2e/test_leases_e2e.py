"""The operator's view of shard leases: `python -m bot` refused while another process holds its shards, and stopped
(exit 1, for its supervisor to start again) when another process takes them over."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.db.connection import open_database
from bot.db.leases import ShardLease
from bot.periods import from_db
from bot.sharding import ShardPlan
from tests.e2e.conftest import World, bot_process
from tests.e2e.test_first_run_e2e import start_and_wait_for_exit

pytestmark = pytest.mark.e2e


async def test_a_second_process_for_the_same_shards_is_one_line_and_exit_1(world: World, tmp_path: Path):
    env = world.env()
    async with open_database(world.store) as db:
        await ShardLease(db, ShardPlan(), ttl=60, holder="tween-1.example:4242:abcd").acquire()
        row = await db.fetch_one("SELECT expires_at FROM shard_leases")
    assert row is not None
    until = from_db(row[0]).strftime("%H:%M:%S")
    code, err = await start_and_wait_for_exit(env)
    assert code == 1
    assert err.splitlines()[-1] == (
        f"tween: every shard (Discord's recommended count) is held by tween-1.example:4242 (lease until {until} UTC); "
        "stop that process, or wait for its lease to expire"
    )
    assert "Traceback" not in err and "tracker started" not in err
    assert not world.discord.gateway.identified  # refused before Discord


async def test_a_process_whose_shards_are_taken_over_stops_with_exit_1(world: World, tmp_path: Path):
    env = world.env("[storage]\nlease_seconds = 3\n")
    log = tmp_path / "bot.log"
    with bot_process(env, log) as process:
        await world.discord.wait_ready(timeout=30)
        async with open_database(world.store) as db:
            assert await db.execute("UPDATE shard_leases SET holder = 'tween-2.example:7:beef'") == 1
        code = await asyncio.to_thread(process.wait, 20)
    text = log.read_text()
    assert code == 1, text[-2000:]
    assert "another process took over every shard Discord recommends (this process's lease was not renewed" in text
    assert text.splitlines()[-1] == (
        "tween: another process took over every shard Discord recommends; stopped so that only one process serves them"
    )
    assert "Traceback" not in text
