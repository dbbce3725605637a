"""A token bucket shared by every caller, so many jobs cannot add up to a request storm."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most `rate` acquisitions per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, *, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self._capacity
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until a request may be sent. Callers are served in arrival order."""
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self._rate)
                self._refill()
            self._tokens -= 1

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now


class MemberThrottle:
    """At most `actions` commands or button presses per member in any `per` seconds (a sliding window)."""

    def __init__(self, actions: int, per: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._actions = actions
        self._per = per
        self._clock = clock
        self._hits: dict[tuple[int, int], deque[float]] = {}

    def check(self, guild_id: int, user_id: int) -> float | None:
        """Record an action and return None, or return the seconds to wait (recording nothing)."""
        now = self._clock()
        hits = self._hits.setdefault((guild_id, user_id), deque())
        while hits and hits[0] <= now - self._per:
            hits.popleft()
        if len(hits) >= self._actions:
            return hits[0] + self._per - now
        hits.append(now)
        if len(self._hits) > 10_000:
            self._forget(now)
        return None

    def _forget(self, now: float) -> None:
        stale = [k for k, v in self._hits.items() if not v or v[-1] <= now - self._per]
        for key in stale:
            del self._hits[key]
