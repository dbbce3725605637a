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


async def test_forget_drops_a_pending_update_and_waits_out_one_in_flight():
    sent: list[str] = []
    entered, release = asyncio.Event(), asyncio.Event()

    async def send(value: str) -> None:
        if value == "slow":
            entered.set()
            await release.wait()
        sent.append(value)

    cards = Coalescer(send, interval=10.0)
    in_flight = asyncio.create_task(cards.push(1, "slow"))
    await entered.wait()
    await cards.push(1, "pending")  # within the interval: it would go out later
    forgetting = asyncio.create_task(cards.forget(1))
    await asyncio.sleep(0)
    assert not forgetting.done()  # the send in flight is waited for
    release.set()
    await asyncio.gather(in_flight, forgetting)
    assert sent == ["slow"]  # the pending one is gone: whatever the caller sends now lands last
    await cards.push(1, "result", final=True)
    assert sent == ["slow", "result"]
