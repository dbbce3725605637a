"""Wait for a condition by looking often (10 ms), never by sleeping a guessed amount."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := predicate()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)
    return result


async def read_until(
    read: Callable[[], Awaitable[T]], accept: Callable[[T], object], timeout: float = 10.0, what: str = "condition"
) -> T:
    """Read something only an await can reach (a database row) every 10 ms until `accept` holds for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not accept(value := await read()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last read {value!r}")
        await asyncio.sleep(0.01)
    return value
