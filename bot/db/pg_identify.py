"""IDENTIFY pacing shared by every process of the bot: a PostgreSQL advisory lock per bucket, held for the spacing.

A shard's turn starts when it holds its bucket's lock; the lock is let go `spacing` seconds later, so the next
IDENTIFY of that bucket, from whichever process, comes at least that long after. Each turn has a connection of its
own (not the pool's), so a shard waiting for its bucket never starves the bot's queries.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from bot.identify import IDENTIFY_SPACING, LocalIdentifyGate

log = logging.getLogger(__name__)

_KEY = "tween:identify"


class PostgresIdentifyGate:
    def __init__(self, url: str, spacing: float = IDENTIFY_SPACING) -> None:
        self._url = url
        self._spacing = spacing
        self._fallback = LocalIdentifyGate(spacing)
        self._releases: set[asyncio.Task[None]] = set()

    async def wait_turn(self, bucket: int) -> None:
        # discord.py ends the bot if this raises on a re-IDENTIFY: a store that cannot answer paces locally instead.
        try:
            conn = await asyncpg.connect(self._url)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("identify: the shared gate is unreachable (%s); pacing this process only", exc)
            await self._fallback.wait_turn(bucket)
            return
        try:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1), $2)", _KEY, bucket)
        except BaseException:
            await conn.close()
            raise
        release = asyncio.create_task(self._release_later(conn))
        self._releases.add(release)
        release.add_done_callback(self._releases.discard)

    async def _release_later(self, conn: asyncpg.Connection) -> None:
        try:
            await asyncio.sleep(self._spacing)
        finally:
            # Closing the session lets go of its advisory lock, even if the unlock itself were skipped.
            await conn.close()

    async def close(self) -> None:
        for task in list(self._releases):
            task.cancel()
        await asyncio.gather(*self._releases, return_exceptions=True)
