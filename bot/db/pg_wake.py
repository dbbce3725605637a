"""What one process learns that another must act on, told through PostgreSQL's NOTIFY to every process:

- fal's webhook reaches one process; the job may be another's. The owner looks at it at once (`wake`).
- a slot at fal freed in one process; `concurrency.total` is shared, so a job waiting in another may start (`freed`).

A notice lost while a listener reconnects costs only speed: owners poll fal anyway, and every process re-checks its
waiting jobs now and then (bot/ops/wiring.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from bot.db.types import Database

log = logging.getLogger(__name__)

CHANNEL = "tween_fal_done"
FREED_CHANNEL = "tween_slot_freed"
RETRY_CAP = 30.0
START_WAIT = 10.0  # past this the bot starts anyway: until the listener is up, owners find finishes by polling


class PostgresWaker:
    def __init__(
        self,
        url: str,
        on_wake: Callable[[str], Awaitable[object]],
        *,
        on_freed: Callable[[], Awaitable[object]] | None = None,
        db: Database | None = None,
    ) -> None:
        self._url = url
        self._db = db  # the bot's pool, for sending; without it each notice opens a connection of its own
        self._handlers: dict[str, Callable[[str], Awaitable[object]]] = {CHANNEL: on_wake}
        if on_freed is not None:
            self._handlers[FREED_CHANNEL] = lambda _payload: on_freed()
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._handling: set[asyncio.Task[object]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="tween-wake-listener")
        try:
            await asyncio.wait_for(self._listening.wait(), START_WAIT)
        except TimeoutError:
            log.warning("wake: not listening yet; what other processes pass on is found by polling meanwhile")

    async def wake(self, request_id: str) -> None:
        """Tell every process that fal finished `request_id`; its owner looks at it."""
        await self._notify(CHANNEL, request_id)

    async def freed(self) -> None:
        """Tell every process that a slot at fal is free: each starts what of its own waits and fits."""
        await self._notify(FREED_CHANNEL, "")

    async def _notify(self, channel: str, payload: str) -> None:
        if self._db is not None:
            await self._db.fetch_one("SELECT pg_notify(?, ?)", (channel, payload))
            return
        conn = await asyncpg.connect(self._url)
        try:
            await conn.execute("SELECT pg_notify($1, $2)", channel, payload)
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
        for channel in self._handlers:
            await conn.add_listener(channel, self._heard)
        self._listening.set()
        await lost.wait()
        log.warning("wake: the listening connection closed; listening again")

    def _heard(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        task = asyncio.create_task(self._handle(channel, payload))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, channel: str, payload: str) -> object:
        try:
            return await self._handlers[channel](payload)
        except Exception:
            log.exception("wake: acting on %s %r failed", channel, payload)
            return None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._handling):
            task.cancel()
        await asyncio.gather(*self._handling, return_exceptions=True)
