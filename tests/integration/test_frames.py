"""Frames cost memory only when they may be used: cheap refusals come before a frame is read, frames are read and
decoded a bounded number at a time, and each is decoded once (the card's preview comes from that decode)."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field, replace
from io import BytesIO

import pytest
from PIL import Image

from bot.errors import BudgetExhausted, ImageRejected, InputRejected
from bot.models import JobState
from bot.services import RawFrame
from bot.services import frames as frames_module
from tests.fakes.fal_server import FakeFal
from tests.integration.conftest import member, open_stack, settings_for, tween_request
from tests.support.images import image_bytes, jpeg_bytes
from tests.support.waiting import read_until, wait_until

ROOMY = {"default_seconds": 1000, "member_seconds": 1000}
LIMIT = 10 * 1024 * 1024


@dataclass
class Reads:
    """RawFrames whose reads are recorded; `inside` holds the frames between their read and the end of their
    decode (the decode is watched by `HeldDecodes`)."""

    names: dict[bytes, str] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    inside: set[str] = field(default_factory=set)
    most_inside: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def frame(self, name: str, data: bytes) -> RawFrame:
        self.names[data] = name

        async def read() -> bytes:
            with self.lock:
                self.started.append(name)
                self.inside.add(name)
                self.most_inside = max(self.most_inside, len(self.inside))
            return data

        return RawFrame(f"{name}.png", len(data), read)

    def left(self, data: bytes) -> None:
        with self.lock:
            self.inside.discard(self.names.get(data, ""))


class HeldDecodes:
    """Every frame decode waits in its worker thread until `release()`; `reads` hears when each one ends."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, reads: Reads) -> None:
        self.gate = threading.Event()
        self.ended: list[bytes] = []
        real = frames_module.validate_frame

        def held(data: bytes, **kwargs: object) -> object:
            try:
                assert self.gate.wait(timeout=30), "the test never released the decodes"
                return real(data, **kwargs)
            finally:
                self.ended.append(data)
                reads.left(data)

        monkeypatch.setattr(frames_module, "validate_frame", held)

    def release(self) -> None:
        self.gate.set()


async def test_a_member_out_of_seconds_is_refused_before_a_frame_is_read(fake_fal: FakeFal, tmp_path):
    reads: list[str] = []

    def never(name: str) -> RawFrame:
        async def read() -> bytes:
            reads.append(name)
            return image_bytes()

        return RawFrame(f"{name}.png", 40_000, read)

    settings = settings_for(fake_fal, tmp_path, budget={"member_seconds": 4})
    async with open_stack(settings) as stack:
        request = replace(tween_request(duration=5), start=never("start"), end=never("end"))
        with pytest.raises(BudgetExhausted) as caught:
            await stack.services.jobs.submit(request)
        assert (caught.value.scope, caught.value.needed, caught.value.remaining) == ("member", 5, 4)
        assert await stack.db.fetch_all("SELECT * FROM jobs") == []
    assert reads == []
    assert fake_fal.requests == []


async def test_a_frame_declared_too_big_is_refused_without_a_read(fake_fal: FakeFal, tmp_path):
    async def read() -> bytes:
        raise AssertionError("read")

    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        request = replace(tween_request(), end=RawFrame("end.png", 10_000_001, read))
        with pytest.raises(ImageRejected) as caught:
            await stack.services.jobs.submit(request)
        assert (caught.value.reason, caught.value.frame) == ("too_large", "end")
        assert (stack.services.frames.decoding, stack.services.frames.waiting) == (0, 0)


@pytest.mark.parametrize("slots", [1, 2])
async def test_frames_are_read_and_decoded_no_more_than_max_decodes_at_once(
    fake_fal: FakeFal, tmp_path, monkeypatch, slots
):
    reads = Reads()
    decodes = HeldDecodes(monkeypatch, reads)
    settings = settings_for(fake_fal, tmp_path, frames={"max_decodes": slots}, budget=ROOMY)
    async with open_stack(settings) as stack:
        frames = stack.services.frames
        requests = [
            replace(
                tween_request(who=member(100 + n)),
                start=reads.frame(f"start-{n}", image_bytes(640, 360, colour=(n, 1, 1))),
                end=reads.frame(f"end-{n}", image_bytes(640, 360, colour=(n, 2, 2))),
            )
            for n in range(3)
        ]
        tweens = [asyncio.create_task(stack.services.jobs.submit(r)) for r in requests]
        # Every slot taken and the other tweens queued behind them: the most that can ever be inside at once.
        await wait_until(lambda: (frames.decoding, frames.waiting) == (slots, 3 - slots), what="slots full")
        assert len(reads.inside) == slots
        decodes.release()
        jobs = await asyncio.gather(*tweens)
    assert len(jobs) == 3 and len(decodes.ended) == 6
    assert reads.most_inside == slots
    assert (frames.decoding, frames.waiting) == (0, 0)


async def test_a_cancelled_tween_keeps_its_decode_slot_until_its_decode_ends(
    fake_fal: FakeFal, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG, logger=frames_module.__name__)
    reads = Reads()
    decodes = HeldDecodes(monkeypatch, reads)
    settings = settings_for(fake_fal, tmp_path, frames={"max_decodes": 1}, budget=ROOMY)
    async with open_stack(settings) as stack:
        frames = stack.services.frames
        first = replace(tween_request(end=False), start=reads.frame("first", image_bytes(640, 360, colour=(1, 1, 1))))
        second = replace(
            tween_request(end=False, who=member(7)),
            start=reads.frame("second", image_bytes(640, 360, colour=(2, 2, 2))),
        )
        cancelled = asyncio.create_task(stack.services.jobs.submit(first))
        await wait_until(lambda: frames.decoding == 1, what="the first frame decoding")
        waiting = asyncio.create_task(stack.services.jobs.submit(second))
        await wait_until(lambda: frames.waiting == 1, what="the second frame queued")
        cancelled.cancel()
        await wait_until(lambda: "slot stays taken" in caplog.text, what="the cancel to reach the decode")
        assert (frames.decoding, frames.waiting, reads.started) == (1, 1, ["first"])
        decodes.release()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        job = await waiting
    assert reads.started == ["first", "second"] and reads.most_inside == 1
    assert job.user_id == 7


async def test_an_attachment_discord_will_not_hand_over_costs_nothing_and_frees_its_slot(fake_fal: FakeFal, tmp_path):
    async def read() -> bytes:
        raise InputRejected("unreadable_attachment")

    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        with pytest.raises(InputRejected):
            await stack.services.jobs.submit(replace(tween_request(), end=RawFrame("end.png", 1000, read)))
        assert (stack.services.frames.decoding, stack.services.frames.waiting) == (0, 0)
        assert await stack.db.fetch_all("SELECT * FROM jobs") == []
    assert fake_fal.requests == []


async def test_each_new_frame_is_decoded_once_and_the_card_is_made_from_those_decodes(
    fake_fal: FakeFal, tmp_path, monkeypatch
):
    decoders: list[str] = []
    real = Image._getdecoder

    def counted(mode: str, decoder_name: str, *args: object, **kwargs: object) -> object:
        decoders.append(decoder_name)
        return real(mode, decoder_name, *args, **kwargs)

    monkeypatch.setattr(Image, "_getdecoder", counted)
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request())  # a PNG start frame, a JPEG end frame
        assert decoders == ["zip", "jpeg"]
        preview = stack.publisher.previews[job.id]
    with Image.open(BytesIO(preview)) as card:
        assert card.size == (427 + 48 + 427, 240)


async def test_a_reroll_tiles_its_stored_frames_one_decode_slot_at_a_time(fake_fal: FakeFal, tmp_path, monkeypatch):
    settings = settings_for(fake_fal, tmp_path, frames={"max_decodes": 1}, budget=ROOMY)
    async with open_stack(settings) as stack:
        first = await stack.services.sessions.tween(
            member(), prompt="p", duration=5, start=tween_request().start, end=tween_request().end, upload_limit=LIMIT
        )
        await read_until(lambda: stack.services.jobs.get(first.id), lambda j: j.state is JobState.DELIVERED)
        slots_taken: list[int] = []
        real = frames_module.stored_tile

        def watched(data: bytes, **kwargs: object) -> object:
            slots_taken.append(stack.services.frames.decoding)
            return real(data, **kwargs)

        monkeypatch.setattr(frames_module, "stored_tile", watched)
        reroll = await stack.services.sessions.follow_up(member(), first.id, "reroll", upload_limit=LIMIT)
        preview = stack.publisher.previews[reroll.id]
    assert slots_taken == [1, 1]  # both stored frames fetched back and decoded, each inside the one slot
    assert fake_fal.count("file") >= 2
    with Image.open(BytesIO(preview)) as card:
        assert card.size == (427 + 48 + 427, 240)


async def test_fal_gets_a_jpeg_above_the_cap_at_the_reduced_size_it_was_decoded_at(fake_fal: FakeFal, tmp_path):
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        job = await stack.services.jobs.submit(tween_request(start_data=jpeg_bytes(8000, 8000)))
    stored = fake_fal.uploads[job.start_url]
    assert stored.content_type == "image/jpeg"
    with Image.open(BytesIO(stored.data)) as sent:
        assert (sent.format, sent.size) == ("JPEG", (4000, 4000))
