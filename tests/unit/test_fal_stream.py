"""Reading fal's status stream: server-sent events to statuses, and every way a stream can end short."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.errors import FalApiError
from bot.fal.models import Completed, InProgress, Queued
from bot.fal.stream import MAX_EVENT_BYTES, StreamBroken, sse_data, status_stream

STATUS_URL = "https://queue.fal.run/fal-ai/kling-video/requests/r-1/status"


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


async def collected(source: AsyncIterator[str]) -> list[str]:
    return [data async for data in source]


async def test_events_are_their_data_lines_joined_and_comments_and_other_fields_skipped():
    source = lines(": keep-alive", "event: status", "id: 7", 'data: {"a":', "data:1}", "", "", "data: x", "")
    assert await collected(sse_data(source)) == ['{"a":\n1}', "x"]


async def test_the_last_event_counts_even_without_its_blank_line():
    assert await collected(sse_data(lines("data: one", "", "data: two"))) == ["one", "two"]


async def test_an_endless_event_is_refused():
    with pytest.raises(StreamBroken, match="longer than"):
        await collected(sse_data(lines(*["data: " + "x" * 1024] * (MAX_EVENT_BYTES // 1024 + 2))))


class Fal:
    """The part of the client a stream needs, over a scripted transport."""

    def __init__(self, handler) -> None:
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        self.auth_headers = {"Authorization": "Key k"}
        self.turns = 0
        self.seen: list[httpx.Request] = []

    async def read_turn(self) -> None:
        self.turns += 1

    @contextlib.asynccontextmanager
    async def stream_client(self) -> AsyncIterator[httpx.AsyncClient]:
        yield self.http


def sse(*events: str) -> bytes:
    return "".join(f"data: {event}\n\n" for event in events).encode()


async def statuses(fal: Fal) -> list:
    return [s async for s in status_stream(fal, STATUS_URL, stall=5.0)]


async def test_a_job_followed_to_its_end_through_one_request():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/requests/r-1/status/stream")
        assert request.url.params["logs"] == "0" and request.headers["authorization"] == "Key k"
        body = sse(
            '{"status": "IN_QUEUE", "queue_position": 2}',
            '{"status": "IN_QUEUE", "queue_position": 0}',
            '{"status": "IN_PROGRESS", "logs": null}',
            '{"status": "COMPLETED", "metrics": {"inference_time": 3.4}}',
        )
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    fal = Fal(handler)
    assert await statuses(fal) == [Queued(2), Queued(0), InProgress(), Completed(metrics={"inference_time": 3.4})]
    assert fal.turns == 1  # one read under the cap, however long the job


async def test_a_failed_run_ends_the_stream_with_its_error():
    fal = Fal(
        lambda _: httpx.Response(200, content=sse('{"status": "COMPLETED", "error_type": "runner_disconnected"}'))
    )
    (done,) = await statuses(fal)
    assert isinstance(done, Completed) and done.failed


async def test_a_stream_that_ends_before_completed_is_broken():
    fal = Fal(lambda _: httpx.Response(200, content=sse('{"status": "IN_PROGRESS"}')))
    got = []
    with pytest.raises(StreamBroken, match="ended before COMPLETED"):
        async for status in status_stream(fal, STATUS_URL, stall=5.0):
            got.append(status)
    assert got == [InProgress()]


@pytest.mark.parametrize("event", ["not json", '{"status": "PAUSED"}', '["IN_QUEUE"]'])
async def test_an_unreadable_event_is_broken(event: str):
    fal = Fal(lambda _: httpx.Response(200, content=sse(event)))
    with pytest.raises(StreamBroken, match="unreadable"):
        await statuses(fal)


async def test_a_refused_opening_keeps_fal_s_status_and_retry_after():
    fal = Fal(lambda _: httpx.Response(429, headers={"retry-after": "3"}, json={"detail": "slow down"}))
    with pytest.raises(FalApiError) as refused:
        await statuses(fal)
    assert refused.value.status == 429 and refused.value.retry_after == 3.0


async def test_a_connection_that_breaks_is_broken():
    def handler(_: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("reset by peer")

    with pytest.raises(StreamBroken, match="broke"):
        await statuses(Fal(handler))
