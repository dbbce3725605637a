"""Coalesces rapid updates per key: at most one send per interval, and the latest value always lands."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Coalescer(Generic[T]):
    def __init__(self, send: Callable[[T], Awaitable[None]], interval: float) -> None:
        self._send = send
        self._interval = interval
        self._last: dict[int, float] = {}
        self._latest: dict[int, T] = {}
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def push(self, key: int, value: T, *, final: bool = False) -> None:
        """Send now if allowed (or `final`), else remember it and send once the interval has passed."""
        self._latest[key] = value
        wait = self._last.get(key, 0.0) + self._interval - time.monotonic()
        if final or wait <= 0:
            await self._flush(key, forget=final)
        elif key not in self._timers:
            self._timers[key] = asyncio.create_task(self._later(key, wait))

    async def _later(self, key: int, wait: float) -> None:
        await asyncio.sleep(wait)
        self._timers.pop(key, None)
        try:
            await self._flush(key, forget=False)
        except Exception as exc:
            log.warning("delayed update for %d failed: %r", key, exc)

    async def _flush(self, key: int, *, forget: bool) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            value = self._latest.pop(key, None)
            if value is not None:
                self._last[key] = time.monotonic()
                await self._send(value)
        if forget:
            if (timer := self._timers.pop(key, None)) is not None:
                timer.cancel()
            self._last.pop(key, None)
            self._locks.pop(key, None)

    async def forget(self, key: int) -> None:
        """Drop what waits to be sent for `key`, and wait out a send in flight: what the caller sends next lands
        last."""
        if (timer := self._timers.pop(key, None)) is not None:
            timer.cancel()
        self._latest.pop(key, None)
        if (lock := self._locks.get(key)) is not None:
            async with lock:
                pass
        self._last.pop(key, None)

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
