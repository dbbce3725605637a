"""fal's webhook reaches one process; the job may be another's. The receiver tells every process through
PostgreSQL's NOTIFY, and the one that owns the job looks at it at once.

A notice lost while a listener reconnects costs only speed: the owner's fallback poll still finds the finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "tween_fal_done"
RETRY_CAP = 30.0


class PostgresWaker:
    def __init__(self, url: str, on_wake: Callable[[str], Awaitable[object]]) -> None:
        self._url = url
        self._on_wake = on_wake
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._handling: set[asyncio.Task[object]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="tween-wake-listener")
        await self._listening.wait()

    async def wake(self, request_id: str) -> None:
        """Tell every process that fal finished `request_id`; its owner looks at it."""
        conn = await asyncpg.connect(self._url)
        try:
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, request_id)
        finally:
            await conn.close()

    async def _listen_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                conn = await asyncpg.connect(self._url)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("wake: cannot listen (%s); again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_CAP)
                continue
            delay = 0.5
            try:
                await self._listen(conn)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        await conn.add_listener(CHANNEL, self._heard)
        self._listening.set()
        await lost.wait()
        log.warning("wake: the listening connection closed; listening again")

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        task = asyncio.create_task(self._handle(payload))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, request_id: str) -> object:
        try:
            return await self._on_wake(request_id)
        except Exception:
            log.exception("wake: looking at %s failed", request_id)
            return None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._handling):
            task.cancel()
        await asyncio.gather(*self._handling, return_exceptions=True)
