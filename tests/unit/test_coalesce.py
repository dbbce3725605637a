import asyncio
from types import SimpleNamespace

import pytest

from bot import coalesce
from bot.coalesce import Coalescer
from bot.ratelimit import RateLimiter
from tests.support.waiting import wait_until


async def test_rapid_updates_coalesce_and_the_latest_lands(monkeypatch: pytest.MonkeyPatch):
    # The pushes are "rapid" by the coalescer's clock, which stands still here: a busy machine pausing between
    # two pushes cannot make them an interval apart.
    monkeypatch.setattr(coalesce, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    sent: list[str] = []

    async def send(value: str) -> None:
        sent.append(value)

    cards = Coalescer(send, interval=0.05)
    await cards.push(1, "queued 3")
    for position in (2, 1, 0):
        await cards.push(1, f"queued {position}")
    assert sent == ["queued 3"]
    await wait_until(lambda: len(sent) == 2, what="the delayed send")
    assert sent == ["queued 3", "queued 0"]


async def test_final_update_goes_out_at_once_and_cancels_the_pending_one():
    sent: list[str] = []

    async def send(value: str) -> None:
        sent.append(value)

    cards = Coalescer(send, interval=10.0)
    await cards.push(1, "queued")
    await cards.push(1, "running")
    await cards.push(1, "done", final=True)
    await asyncio.sleep(0.01)
    assert sent == ["queued", "done"]
    await cards.close()


async def test_keys_are_independent():
    sent: list[tuple[int, str]] = []

    async def send(value: tuple[int, str]) -> None:
        sent.append(value)

    cards = Coalescer(send, interval=10.0)
    await cards.push(1, (1, "a"))
    await cards.push(2, (2, "b"))
    assert sent == [(1, "a"), (2, "b")]
    await cards.close()


async def test_rate_limiter_spaces_requests():
    limiter = RateLimiter(50.0, burst=1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(6):
        await limiter.acquire()
    assert loop.time() - start >= 5 / 50 * 0.9
