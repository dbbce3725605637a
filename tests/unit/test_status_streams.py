"""Following jobs through fal's status stream: what is heard goes to the tracker, and every failure falls back to
polling without losing the job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.errors import FalApiError
from bot.fal.models import Completed, InProgress, Queued, QueueStatus
from bot.fal.stream import StreamBroken
from bot.services.streams import StatusStreams
from tests.support.settings import make_settings
from tests.support.waiting import wait_until

FAL = make_settings().fal


class Recorder:
    def __init__(self) -> None:
        self.heard: list[tuple[int, QueueStatus]] = []
        self.lost: list[int] = []

    def streams(self, open_stream, **fal) -> StatusStreams:
        settings = replace(FAL, **fal)
        return StatusStreams(settings, open_stream, lambda j, s: self.heard.append((j, s)), self.lost.append)


def scripted(*items: QueueStatus | Exception, hold: asyncio.Event | None = None):
    opened: list[str] = []

    async def open_stream(url: str) -> AsyncIterator[QueueStatus]:
        opened.append(url)
        for item in items:
            if isinstance(item, Exception):
                raise item
            yield item
        if hold is not None:
            await hold.wait()

    return open_stream, opened


async def test_every_status_heard_goes_to_the_tracker_and_completed_ends_it_cleanly():
    rec = Recorder()
    open_stream, opened = scripted(Queued(1), InProgress(), Completed())
    streams = rec.streams(open_stream)
    streams.follow(7, "https://fal/requests/r/status")
    await wait_until(lambda: not streams.live(7), what="the stream done")
    assert rec.heard == [(7, Queued(1)), (7, InProgress()), (7, Completed())]
    assert rec.lost == [] and opened == ["https://fal/requests/r/status"]


@pytest.mark.parametrize("failure", [StreamBroken("stalled"), FalApiError(503, "busy"), FalApiError(429, "slow")])
async def test_a_stream_that_fails_hands_the_job_to_polling_and_waits_before_reopening(failure: Exception):
    rec = Recorder()
    open_stream, opened = scripted(Queued(0), failure)
    streams = rec.streams(open_stream, stream_retry=3600.0)
    streams.follow(7, "u")
    await wait_until(lambda: rec.lost == [7], what="the job handed to polling")
    assert rec.heard == [(7, Queued(0))] and not streams.live(7)
    streams.follow(7, "u")  # the next look, moments later: polled, not streamed again yet
    assert not streams.live(7) and len(opened) == 1


async def test_a_stream_fal_refuses_outright_is_never_asked_for_again():
    rec = Recorder()
    open_stream, opened = scripted(FalApiError(403, "no streams for you"))
    streams = rec.streams(open_stream, stream_retry=0.001)
    streams.follow(7, "u")
    await wait_until(lambda: rec.lost == [7], what="polling")
    await asyncio.sleep(0.01)  # past stream_retry: only the refusal keeps it closed
    streams.follow(7, "u")
    assert not streams.live(7) and len(opened) == 1


async def test_at_most_max_streams_are_open_and_the_rest_are_polled():
    rec = Recorder()
    hold = asyncio.Event()
    open_stream, opened = scripted(Queued(3), hold=hold)
    streams = rec.streams(open_stream, max_streams=2)
    for job_id in (1, 2, 3):
        streams.follow(job_id, f"u{job_id}")
    assert [streams.live(j) for j in (1, 2, 3)] == [True, True, False]
    await wait_until(lambda: len(rec.heard) == 2, what="both open streams heard")
    assert opened == ["u1", "u2"]
    await streams.close()
    assert rec.lost == [] and not streams.live(1)


async def test_a_job_that_left_fal_has_its_stream_closed_without_a_poll():
    rec = Recorder()
    hold = asyncio.Event()
    open_stream, _ = scripted(InProgress(), hold=hold)
    streams = rec.streams(open_stream)
    streams.follow(7, "u")
    await wait_until(lambda: rec.heard, what="the first status")
    streams.forget(7)
    assert not streams.live(7)
    await asyncio.sleep(0)  # the cancelled task ends
    assert rec.lost == []


async def test_off_means_polling_only():
    rec = Recorder()
    open_stream, opened = scripted(Completed())
    streams = rec.streams(open_stream, status_stream=False)
    streams.follow(7, "u")
    assert not streams.live(7) and opened == []
