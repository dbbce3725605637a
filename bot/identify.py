"""Pacing of gateway IDENTIFYs, so many shards (in one process or several) start without Discord refusing them.

Discord lets a bot start `max_concurrency` sessions per 5 seconds: shard `id` belongs to bucket
`id % max_concurrency`, and each bucket may IDENTIFY once per 5 s. Buckets do not wait for each other.

How discord.py 2.7.1 fits in (read in .venv/.../discord/):
* `DiscordWebSocket.identify` (gateway.py) awaits the client's `before_identify_hook(shard_id, initial=...)` right
  before it sends op 2, for the first IDENTIFY of each shard and for every re-IDENTIFY after an INVALID_SESSION or a
  failed RESUME. The default hook only sleeps 5 s when `initial` is False, which knows nothing of buckets or of
  other processes. `initial` is True only for the first shard of `shard_ids` (shard.py `launch_shards`), so it
  cannot tell a re-IDENTIFY from another shard's first one: the pacer remembers which shards it let through.
* `AutoShardedClient.launch_shards` (shard.py) launches the shards one after another; each `launch_shard` returns
  once that shard has sent its IDENTIFY (not once it is READY), so a gate that holds a bucket holds only the shards
  of that bucket.
* discord.py never uses `session_start_limit.max_concurrency`: `launch_shards` reads `GET /gateway/bot`
  (http.py `get_bot_gateway`) only for the shard count and drops the limit. TweenBot asks for it once itself
  before launching (see bot/app.py) and tells the pacer.
* An exception from the hook is the IDENTIFY failing: at launch `launch_shard` logs it with a traceback, sleeps 5 s
  and tries that shard again, forever; on a later re-IDENTIFY (`Shard.reidentify`) anything but a network error
  (OSError, aiohttp, timeout: reconnected with backoff) ends the whole bot. A shared gate should therefore wait (and
  retry its store) rather than raise.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

# Discord's window: one IDENTIFY per bucket per 5 seconds.
IDENTIFY_SPACING = 5.0


def bucket_of(shard_id: int, max_concurrency: int) -> int:
    """Discord's rate-limit key for a shard's IDENTIFY."""
    return shard_id % max(1, max_concurrency)


class IdentifyGate(Protocol):
    """Where shards queue for their turn to IDENTIFY. A process-local gate paces the shards of one process; a shared
    one (a lock per bucket held for the spacing, e.g. a PostgreSQL advisory lock) paces every process of the bot."""

    async def wait_turn(self, bucket: int) -> None:
        """Return when one IDENTIFY of `bucket` may be sent now; no other may pass for the next spacing seconds."""
        ...


class LocalIdentifyGate:
    """Paces the shards of this process only: enough when one process runs every shard."""

    def __init__(
        self,
        spacing: float = IDENTIFY_SPACING,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._spacing = spacing
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[int, asyncio.Lock] = {}
        self._free_at: dict[int, float] = {}

    async def wait_turn(self, bucket: int) -> None:
        # The lock keeps the queue in arrival order; the time keeps the bucket's IDENTIFYs `spacing` apart.
        async with self._locks.setdefault(bucket, asyncio.Lock()):
            wait = self._free_at.get(bucket, -math.inf) - self._clock()
            if wait > 0:
                await self._sleep(wait)
            self._free_at[bucket] = self._clock() + self._spacing


class IdentifyPacer:
    """Turns a shard id into its bucket (once /gateway/bot said `max_concurrency`) and waits at the gate."""

    def __init__(
        self,
        gate: IdentifyGate,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pause: Callable[[], float] = lambda: random.uniform(1.0, 5.0),
    ) -> None:
        self.gate = gate
        # Until Discord says otherwise, assume the strictest limit: one IDENTIFY at a time.
        self.max_concurrency = 1
        self._sleep = sleep
        self._pause = pause
        self._started: set[int] = set()

    def learn(self, max_concurrency: int) -> None:
        self.max_concurrency = max(1, int(max_concurrency))

    async def wait(self, shard_id: int | None) -> int:
        """Wait for this shard's turn; returns its bucket."""
        shard = shard_id or 0
        if shard in self._started:
            # A fresh IDENTIFY for a shard that had a session (INVALID_SESSION, a failed RESUME): Discord asks for a
            # random 1-5 s pause first, which discord.py's own hook approximated with 5 s.
            await self._sleep(self._pause())
        self._started.add(shard)
        bucket = bucket_of(shard, self.max_concurrency)
        await self.gate.wait_turn(bucket)
        return bucket
