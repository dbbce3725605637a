"""Shards end to end: one process running every shard, a process running a slice, and Discord demanding sharding."""

from __future__ import annotations

import asyncio
import functools

import httpx
import pytest

import bot.app
from bot.identify import LocalIdentifyGate
from tests.e2e.conftest import World, bot_process, run_bot
from tests.e2e.test_ops_e2e import free_port
from tests.e2e.test_tween_e2e import PROMPT, frames
from tests.fakes.discord_fake import FakeGuild
from tests.fakes.discord_fake.gateway import shard_of
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def two_shards(world: World) -> FakeGuild:
    """Discord recommends 2 shards and lets both IDENTIFY at once; a second guild lands on the other shard."""
    world.discord.recommended_shards = 2
    world.discord.max_concurrency = 2
    return world.discord.add_guild("Second Guild", shard=(1 - shard_of(world.discord.guild.id, 2), 2))


async def tween_in(world: World, guild: FakeGuild) -> None:
    """/tween in that guild, through to the video in its thread."""
    options = {"prompt": PROMPT, "duration": 5}
    interaction = await world.discord.slash(
        "tween", user=guild.member, guild=guild, options=options, attachments=frames()
    )
    ack = await interaction.wait_acked()
    assert ack["type"] == 5
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads(guild.channel.id)), None))
    await world.discord.wait_for(lambda: any(m.attachments for m in world.discord.messages(thread.id)), timeout=15)


async def test_one_process_runs_every_recommended_shard_and_tween_works_on_both(world: World):
    second = two_shards(world)
    async with run_bot(world) as bot:
        await world.discord.wait_shards((0, 2), (1, 2))
        await bot.tree.sync()
        await tween_in(world, world.discord.guild)
        await tween_in(world, second)
        state = await world.discord.wait_for(lambda: (s := bot.gateway_state()).connected and s)
        assert [(s.id, s.connected) for s in state.shards] == [(0, True), (1, True)]
    assert sorted(i.shard for i in world.discord.gateway.identifies) == [(0, 2), (1, 2)]


async def test_shards_of_one_identify_bucket_start_spaced_and_other_buckets_do_not_wait(world: World, monkeypatch):
    # Discord's 5 s, shortened to 0.5 s so the test is quick; the rule is the same.
    monkeypatch.setattr(bot.app, "LocalIdentifyGate", functools.partial(LocalIdentifyGate, 0.5))
    two_shards(world)
    world.discord.max_concurrency = 1
    async with run_bot(world):
        await world.discord.wait_shards((0, 2), (1, 2))
    first, second = world.discord.gateway.identifies
    assert (first.shard, second.shard) == ((0, 2), (1, 2))
    assert second.at - first.at >= 0.5

    # Two buckets: a spacing longer than the wait below would hold shard 1 back if it were in shard 0's bucket.
    monkeypatch.setattr(bot.app, "LocalIdentifyGate", functools.partial(LocalIdentifyGate, 30.0))
    world.discord.max_concurrency = 2
    async with run_bot(world):
        await world.discord.wait_for(lambda: len(world.discord.gateway.identifies) == 4)
    assert [i.shard for i in world.discord.gateway.identifies[2:]] == [(0, 2), (1, 2)]


async def test_a_process_with_shard_ids_connects_only_its_shard(world: World, tmp_path):
    second = two_shards(world)
    mine = second if shard_of(second.id, 2) == 1 else world.discord.guild
    port = free_port()
    env = world.env() | {"TWEEN_SHARD_COUNT": "2", "TWEEN_SHARD_IDS": "1", "TWEEN_HTTP_PORT": str(port)}
    log = tmp_path / "bot.log"
    with bot_process(env, log):
        await world.discord.wait_shards((1, 2), timeout=30)
        await wait_until(lambda: "shard 1 of 2 ready with 1 guild(s)" in log.read_text(), 30, what="shard 1 ready")
        # A member of the guild on shard 1 reaches the bot; the other guild's events have no session to go to.
        other = world.discord.guild if mine is second else second
        assert world.discord.gateway.session_for(other.id) is None
        await tween_in(world, mine)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            gateway = (await http.get("/health")).json()["components"]["gateway"]
    assert gateway["ok"] and [s["id"] for s in gateway["shards"]] == [1]
    assert [i.shard for i in world.discord.gateway.identifies] == [(1, 2)]
    assert "this process runs shards 1 of 2" in log.read_text()


async def test_discord_demanding_shards_stops_the_bot_with_one_clear_line(world: World, tmp_path):
    world.discord.recommended_shards = 2
    world.discord.gateway.sharding_required_at = 1  # the one guild is already too many for an unsharded session
    log = tmp_path / "bot.log"
    with bot_process(world.env() | {"TWEEN_SHARD_COUNT": "1"}, log) as process:
        code = await asyncio.to_thread(process.wait, 30)
    text = log.read_text()
    assert code == 2, text
    assert world.discord.gateway.closes == [(4011, (0, 1))]
    assert "Traceback" not in text
    (line,) = [line for line in text.splitlines() if line.startswith("tween:")]
    assert line.startswith("tween: Discord refused shard 0 of 1 with 4011 Sharding required")
    assert "TWEEN_SHARD_COUNT=1 is below the 2 shards Discord recommends" in text  # warned before it connected
    assert "TWEEN_SHARD_COUNT" in line and "recommends 2" in line
