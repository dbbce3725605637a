"""A webhook that reaches the wrong process: NOTIFY carries the request id to every process, and each hears it."""

from __future__ import annotations

import asyncio

from bot.db.pg_wake import PostgresWaker


async def test_a_wake_from_one_process_is_heard_by_the_others(postgres_url: str):
    heard: dict[str, asyncio.Queue[str]] = {"a": asyncio.Queue(), "b": asyncio.Queue()}

    def recorder(name: str):
        async def on_wake(request_id: str) -> None:
            await heard[name].put(request_id)

        return on_wake

    first, second = PostgresWaker(postgres_url, recorder("a")), PostgresWaker(postgres_url, recorder("b"))
    await first.start()
    await second.start()
    try:
        await first.wake("req-1")
        assert await asyncio.wait_for(heard["b"].get(), 10) == "req-1"
        assert await asyncio.wait_for(heard["a"].get(), 10) == "req-1"
    finally:
        await first.close()
        await second.close()


async def test_a_failing_handler_does_not_stop_the_listener(postgres_url: str):
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def flaky(request_id: str) -> None:
        if request_id == "boom":
            raise RuntimeError("lookup failed")
        await seen.put(request_id)

    waker = PostgresWaker(postgres_url, flaky)
    await waker.start()
    try:
        await waker.wake("boom")
        await waker.wake("fine")
        assert await asyncio.wait_for(seen.get(), 10) == "fine"
    finally:
        await waker.close()


async def test_a_listener_whose_connection_is_cut_listens_again(postgres_url: str):
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def record(request_id: str) -> None:
        await seen.put(request_id)

    waker = PostgresWaker(postgres_url, record)
    await waker.start()
    try:
        import asyncpg

        admin = await asyncpg.connect(postgres_url)
        try:
            cut = await admin.fetchval(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database() AND query LIKE 'LISTEN%'"
            )
            assert cut == 1

            async def heard_after_reconnect() -> str:
                while True:
                    await waker.wake("again")
                    try:
                        return await asyncio.wait_for(seen.get(), 0.5)
                    except TimeoutError:
                        continue

            assert await asyncio.wait_for(heard_after_reconnect(), 20) == "again"
        finally:
            await admin.close()
    finally:
        await waker.close()


async def test_a_freed_slot_is_heard_by_every_process_apart_from_finishes(tween_postgres_url: str):
    from bot.db.connection import open_database

    finishes: asyncio.Queue[str] = asyncio.Queue()
    freed: asyncio.Queue[None] = asyncio.Queue()

    async def on_wake(request_id: str) -> None:
        await finishes.put(request_id)

    async def on_freed() -> None:
        await freed.put(None)

    async with open_database(tween_postgres_url) as db:
        sender = PostgresWaker(tween_postgres_url, on_wake, db=db)  # sends through the bot's pool
        listener = PostgresWaker(tween_postgres_url, on_wake, on_freed=on_freed)
        await sender.start()
        await listener.start()
        try:
            await sender.freed()
            await asyncio.wait_for(freed.get(), 10)
            await sender.wake("req-2")
            assert await asyncio.wait_for(finishes.get(), 10) == "req-2"
            assert freed.empty()
        finally:
            await sender.close()
            await listener.close()
