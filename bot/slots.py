"""A bound on concurrent work that says how many hold a slot and how many wait for one (for /metrics and tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Slots:
    def __init__(self, size: int) -> None:
        self._free = asyncio.Semaphore(size)
        self.waiting = 0
        self.held = 0

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        self.waiting += 1
        try:
            await self._free.acquire()
        finally:
            self.waiting -= 1
        self.held += 1
        try:
            yield
        finally:
            self.held -= 1
            self._free.release()
