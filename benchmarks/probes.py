"""Measuring tools the benchmarks share, small enough to import without pulling the bot or the fakes in."""

from __future__ import annotations

import asyncio
import time


class LagProbe:
    """How late a short sleep (10 ms unless told) wakes while the block runs: the event loop's lag."""

    def __init__(self, sleep: float = 0.01) -> None:
        self.lags: list[float] = []
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self._sleep)
            self.lags.append(time.perf_counter() - start - self._sleep)

    def __enter__(self) -> LagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def __aenter__(self) -> LagProbe:
        self.__enter__()
        await asyncio.sleep(0)  # the probe is running before the work starts
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()
