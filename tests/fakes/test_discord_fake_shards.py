"""The fake gateway shards as Discord does: /gateway/bot, IDENTIFY's shard, each guild's events on its own shard,
4011 when a session would hold too many guilds and 4010 for a shard that cannot exist. Spoken raw, frame by frame."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.discord_fake.gateway import shard_of


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(shards=2, max_concurrency=2) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def connect(
    http: aiohttp.ClientSession, fake: FakeDiscord, shard: list[int] | None = None
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(fake.gateway_url)
    hello = await ws.receive_json(timeout=5)
    assert hello["op"] == 10
    identify: dict[str, Any] = {"token": fake.token, "intents": 1, "properties": {"os": "linux"}}
    if shard is not None:
        identify["shard"] = shard
    await ws.send_json({"op": 2, "d": identify})
    return ws


async def ready(ws: aiohttp.ClientWebSocketResponse) -> tuple[dict[str, Any], set[int]]:
    """READY's data and the ids of the GUILD_CREATEs that follow it (one per guild READY listed)."""
    first = await ws.receive_json(timeout=5)
    assert first["t"] == "READY", first
    created = {int((await ws.receive_json(timeout=5))["d"]["id"]) for _ in first["d"]["guilds"]}
    return first["d"], created


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> int:
    message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.CLOSE, message
    return int(message.data)


async def test_gateway_bot_recommends_shards_and_tells_the_session_start_limit(fake: FakeDiscord, http):
    headers = {"Authorization": f"Bot {fake.token}"}
    async with http.get(f"{fake.api_base}/gateway/bot", headers=headers) as response:
        body = await response.json()
    assert body["url"] == fake.gateway_url
    assert body["shards"] == 2
    assert body["session_start_limit"] == {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 2}
    async with http.get(f"{fake.api_base}/gateway/bot") as response:
        assert response.status == 401  # a bot token is required
    async with http.get(f"{fake.api_base}/gateway") as response:
        assert await response.json() == {"url": fake.gateway_url}  # no shards or limits without a bot token


async def test_each_shard_hears_only_its_own_guilds(fake: FakeDiscord, http):
    first = fake.guild
    other = fake.add_guild("Other Guild", shard=(1 - shard_of(first.id, 2), 2))
    by_shard = {shard_of(first.id, 2): first.id, shard_of(other.id, 2): other.id}
    sockets = {sid: await connect(http, fake, [sid, 2]) for sid in (0, 1)}
    for sid, ws in sockets.items():
        data, created = await ready(ws)
        assert data["shard"] == [sid, 2]
        assert [int(g["id"]) for g in data["guilds"]] == [by_shard[sid]]
        assert created == {by_shard[sid]}
    assert fake.gateway.ready_shards() == {(0, 2), (1, 2)}

    owner, bystander = sockets[shard_of(other.id, 2)], sockets[shard_of(first.id, 2)]
    await fake.gateway.dispatch("TYPING_START", {"guild_id": str(other.id), "channel_id": str(other.channel.id)})
    assert (await owner.receive_json(timeout=5))["t"] == "TYPING_START"
    await fake.gateway.dispatch("THREAD_LIST_SYNC", {"guild_id": str(first.id), "threads": [], "members": []})
    assert (await bystander.receive_json(timeout=5))["t"] == "THREAD_LIST_SYNC"  # the first it heard since READY
    await fake.gateway.dispatch("USER_UPDATE", {"id": "1"})  # no guild: shard 0
    assert (await sockets[0].receive_json(timeout=5))["t"] == "USER_UPDATE"
    for ws in sockets.values():
        await ws.close()


async def test_a_guild_added_later_arrives_on_its_shard_only(fake: FakeDiscord, http):
    sockets = {sid: await connect(http, fake, [sid, 2]) for sid in (0, 1)}
    for ws in sockets.values():
        await ready(ws)
    later = fake.add_guild("Later Guild", shard=(1, 2))
    created = await sockets[1].receive_json(timeout=5)
    assert (created["t"], int(created["d"]["id"])) == ("GUILD_CREATE", later.id)
    await fake.gateway.dispatch("USER_UPDATE", {"id": "1"})
    assert (await sockets[0].receive_json(timeout=5))["t"] == "USER_UPDATE"  # shard 0 never saw the new guild
    for ws in sockets.values():
        await ws.close()


async def test_no_shard_is_shard_0_of_1_with_every_guild(fake: FakeDiscord, http):
    fake.add_guild("Second Guild")
    ws = await connect(http, fake)
    data, created = await ready(ws)
    assert data["shard"] == [0, 1]
    assert created == set(fake.guilds)
    await ws.close()


@pytest.mark.parametrize("shard", [None, [0, 1]])
async def test_too_many_guilds_for_one_session_is_closed_with_4011(fake: FakeDiscord, http, shard):
    fake.add_guild("Second Guild")
    fake.gateway.sharding_required_at = 2
    ws = await connect(http, fake, shard)
    assert await closed_with(ws) == 4011
    assert fake.gateway.identified == 0
    assert fake.gateway.closes == [(4011, (0, 1))]


async def test_enough_shards_pass_where_one_session_would_not(fake: FakeDiscord, http):
    fake.add_guild("Second Guild", shard=(1 - shard_of(fake.guild.id, 2), 2))
    fake.gateway.sharding_required_at = 2
    sockets = [await connect(http, fake, [sid, 2]) for sid in (0, 1)]
    for ws in sockets:
        _, created = await ready(ws)
        assert len(created) == 1
        await ws.close()


@pytest.mark.parametrize("shard", [[2, 2], [0, 0], [-1, 2], ["0", 2], [0]])
async def test_a_shard_that_cannot_exist_is_closed_with_4010(fake: FakeDiscord, http, shard):
    ws = await connect(http, fake, shard)
    assert await closed_with(ws) == 4010
    assert fake.gateway.identified == 0


async def test_a_resumed_session_keeps_its_shard(fake: FakeDiscord, http):
    other = fake.add_guild("Other Guild", shard=(1, 2))
    ws = await connect(http, fake, [1, 2])
    data, _ = await ready(ws)
    await ws.close()
    await fake.wait_for(lambda: not fake.gateway.sessions)
    again = await http.ws_connect(fake.gateway_url)
    await again.receive_json(timeout=5)
    await again.send_json({"op": 6, "d": {"token": fake.token, "session_id": data["session_id"], "seq": 2}})
    assert (await again.receive_json(timeout=5))["t"] == "RESUMED"
    await fake.gateway.dispatch("TYPING_START", {"guild_id": str(other.id), "channel_id": str(other.channel.id)})
    assert (await again.receive_json(timeout=5))["t"] == "TYPING_START"
    await again.close()
