"""Several small httpx clients behind one: filled in turn, never past the total, each request handed one client."""

from __future__ import annotations

import contextlib

import httpx

from bot.fal.pools import ClientPools


def pools(connections: int, per_client: int) -> tuple[ClientPools, list[httpx.Limits]]:
    made: list[httpx.Limits] = []

    def make(limits: httpx.Limits) -> httpx.AsyncClient:
        made.append(limits)
        return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200)), limits=limits)

    return ClientPools(make, connections, per_client), made


async def test_clients_are_made_as_needed_and_filled_in_turn():
    shared, made = pools(connections=10, per_client=4)
    async with contextlib.AsyncExitStack() as held:
        first = [await held.enter_async_context(shared.client()) for _ in range(4)]
        assert len(set(map(id, first))) == 1 and shared.clients == 1
        fifth = await held.enter_async_context(shared.client())
        assert fifth is not first[0] and shared.clients == 2
    assert [limits.max_connections for limits in made] == [4, 4]
    async with shared.client() as again:
        assert again is first[0]  # freed: the first client is used again, no new one
    await shared.aclose()


async def test_past_the_total_a_request_waits_in_the_least_busy_client():
    shared, made = pools(connections=5, per_client=2)
    async with contextlib.AsyncExitStack() as held:
        clients = [await held.enter_async_context(shared.client()) for _ in range(7)]
    assert shared.clients == 3 and len(made) == 3  # ceil(5 / 2): never more
    assert len({id(client) for client in clients}) == 3 and clients[6] is clients[0]
    async with shared.client() as client:
        assert (await client.get("http://fal.test/")).status_code == 200
    await shared.aclose()


async def test_a_client_held_while_the_pools_close_is_given_back_without_error():
    shared, _ = pools(connections=4, per_client=2)
    async with shared.client() as client:
        await shared.aclose()  # the process stops while a stream is still open
        assert client.is_closed
