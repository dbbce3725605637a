"""The pure parts of shard leases and ownership: which rows a plan leases, what blocks it, the refusal line, the
SQL condition for owned guilds, and each process's share of fal's reads."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from bot.db.jobs import owned_sql
from bot.db.leases import EVERY_SHARD, Lease, blocking, gone_here, lease_keys, process_identity, refusal, shown
from bot.errors import ConfigError
from bot.sharding import ShardPlan, shard_of
from tests.support.settings import make_settings

UNTIL = datetime(2026, 12, 3, 10, 31, 5, tzinfo=UTC)
TWO = ShardPlan(2, None)


def lease(count: int, shard: int, holder: str = "box:4242:ab12") -> Lease:
    return Lease(count, shard, holder, UNTIL, UNTIL)


def guild_on(shard: int, count: int, n: int = 1) -> int:
    """A guild id (a snowflake) that Discord puts on `shard` of `count`."""
    return ((count * n + shard) << 22) | 12345


def test_lease_keys_for_each_kind_of_plan():
    assert lease_keys(ShardPlan()) == [(EVERY_SHARD, 0)]
    assert lease_keys(ShardPlan(2, None)) == [(2, 0), (2, 1)]
    assert lease_keys(ShardPlan(8, (2, 5))) == [(8, 2), (8, 5)]


def test_other_shards_of_the_same_count_do_not_block():
    assert blocking(ShardPlan(4, (0, 1)), [lease(4, 2), lease(4, 3)]) == []


def test_the_same_shard_blocks():
    held = [lease(4, 1), lease(4, 2)]
    assert blocking(ShardPlan(4, (0, 1)), held) == [held[0]]


def test_another_count_blocks_even_on_other_shards():
    held = [lease(2, 1)]
    assert blocking(ShardPlan(4, (0,)), held) == held


def test_a_lease_on_every_shard_blocks_any_plan_and_any_lease_blocks_one_on_every_shard():
    assert blocking(ShardPlan(4, (3,)), [lease(EVERY_SHARD, 0)]) == [lease(EVERY_SHARD, 0)]
    assert blocking(ShardPlan(), [lease(4, 3)]) == [lease(4, 3)]


def test_refusal_names_the_shards_the_holder_and_when_its_lease_ends():
    line = refusal(TWO, [lease(2, 0), lease(2, 1)])
    assert line == (
        "shards 0-1 of 2 are held by box:4242 (lease until 10:31:05 UTC); stop that process, or wait for its lease "
        "to expire"
    )


def test_refusal_for_one_shard_of_another_count_says_every_process_must_agree():
    line = refusal(ShardPlan(4, (0,)), [lease(2, 1)])
    assert line.startswith("shard 1 of 2 is held by box:4242 (lease until 10:31:05 UTC); this process wants")
    assert "shard 0 of 4, and every process must use the same TWEEN_SHARD_COUNT" in line


def test_refusal_of_a_process_on_every_shard_and_of_several_holders():
    line = refusal(ShardPlan(), [lease(2, 0, "a:1:x"), lease(2, 1, "b:2:y")])
    assert line.startswith("shard 0 of 2 is held by a:1 (lease until 10:31:05 UTC), and shard 1 of 2 is held by b:2")
    assert "this process wants every shard (no TWEEN_SHARD_COUNT)" in line
    assert line.endswith("stop those processes, or wait for their leases to expire")
    assert refusal(TWO, [lease(EVERY_SHARD, 0)]).startswith("every shard (Discord's recommended count) is held by")


def test_a_holder_names_host_and_pid_and_differs_per_process_start():
    first, second = process_identity(), process_identity()
    assert shown(first) == f"{socket.gethostname()}:{os.getpid()}"
    assert first != second


def test_only_a_dead_process_of_this_host_is_gone():
    host = socket.gethostname()
    assert gone_here(f"{host}:{os.getpid()}:x")  # an earlier process with this pid: a restarted container's pid 1
    assert not gone_here(f"{host}:{os.getppid()}:x")  # alive
    assert not gone_here(f"{host}-elsewhere:999999999:x")  # another host: only its lease's expiry tells
    assert gone_here(f"{host}:{_dead_pid()}:x")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("plan", [ShardPlan(), ShardPlan(4, None), None])
def test_a_plan_for_every_shard_owns_every_guild_in_sql(plan):
    assert owned_sql(plan) == "1 = 1"


def test_owned_sql_picks_the_guilds_discord_puts_on_the_plan_shards():
    guilds = [guild_on(shard, 4, n) for shard in range(4) for n in (0, 1, 7)] + [2**63 - 1]
    plan = ShardPlan(4, (1, 3))
    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE TABLE jobs (guild_id INTEGER)")
        conn.executemany("INSERT INTO jobs VALUES (?)", [(g,) for g in guilds])
        found = {g for (g,) in conn.execute(f"SELECT guild_id FROM jobs WHERE {owned_sql(plan)}")}
    assert found == {g for g in guilds if plan.owns(g)}
    assert {shard_of(g, 4) for g in found} == {1, 3}


def test_each_process_reads_fal_at_its_share_of_the_account_rate():
    assert ShardPlan().share(10.0) == 10.0
    assert ShardPlan(4, None).share(10.0) == 10.0
    assert ShardPlan(4, (0,)).share(10.0) == 2.5
    assert ShardPlan(4, (1, 2, 3)).share(10.0) == 7.5


def test_settings_give_the_fal_client_this_process_share():
    alone = make_settings(fal={"max_reads_per_second": 12.0})
    assert alone.fal_here.max_reads_per_second == 12.0
    part = make_settings(fal={"max_reads_per_second": 12.0}, discord={"shard_count": 4, "shard_ids": "0-2"})
    assert part.fal_here.max_reads_per_second == 9.0
    assert part.fal_here.key == part.fal.key


def test_lease_seconds_has_a_floor():
    assert make_settings().storage.lease_seconds == 30
    with pytest.raises(ConfigError, match=r"storage\.lease_seconds must be at least 3"):
        make_settings(storage={"lease_seconds": 1})


def test_refusal_between_two_processes_on_every_shard_is_plain():
    assert refusal(ShardPlan(), [lease(EVERY_SHARD, 0)]) == (
        "every shard (Discord's recommended count) is held by box:4242 (lease until 10:31:05 UTC); stop that process, "
        "or wait for its lease to expire"
    )
