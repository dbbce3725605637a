"""Frames on their way in: a member's attachment is read only when its turn comes, then checked and decoded by the
rules in bot/images.py, at most `frames.max_decodes` at once for the whole bot (what bounds the memory /tween may
use); and the job card's preview, from the tiles those decodes cut."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from PIL.Image import Image

from bot.errors import ImageRejected
from bot.fal import FalClient
from bot.images import CheckedFrame, make_preview, stored_tile, validate_frame
from bot.settings import Settings
from bot.slots import Slots
from bot.validation import image_rules

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RawFrame:
    """A frame the member attached, read only when its turn to be checked comes: a /tween refused before then never
    downloads it."""

    filename: str
    size: int  # as Discord declared it; the bytes read are measured again
    read: Callable[[], Awaitable[bytes]] = field(repr=False, compare=False)

    @classmethod
    def of(cls, data: bytes, filename: str) -> RawFrame:
        """A frame already in memory (tests, benchmarks)."""

        async def read() -> bytes:
            return data

        return cls(filename, len(data), read)


@dataclass(frozen=True)
class StoredFrame:
    """A frame already on fal storage (a session's), reused without uploading again."""

    url: str


FrameInput = RawFrame | StoredFrame
Checked = CheckedFrame | StoredFrame


class FrameReader:
    """Reads, checks and previews frames; one per bot, so its decode slots are counted for the whole process."""

    def __init__(self, fal: FalClient, settings: Settings) -> None:
        self._fal = fal
        self._rules = image_rules(settings)
        self._slots = Slots(settings.frames.max_decodes)
        # Decodes run on these threads only, not on asyncio's shared pool: glibc gives each thread its own heap and
        # keeps what a decode freed there, so decodes spread over many threads would each leave tens of MB behind.
        self._threads = ThreadPoolExecutor(settings.frames.max_decodes, thread_name_prefix="tween-frames")

    @property
    def waiting(self) -> int:
        """Requests waiting for a decode slot."""
        return self._slots.waiting

    @property
    def decoding(self) -> int:
        """Slots taken: requests whose frames are being downloaded or decoded now, one frame at a time each."""
        return self._slots.held

    async def check(self, start: FrameInput, end: FrameInput | None) -> tuple[Checked, Checked | None]:
        """A request's new frames read and checked, one after the other in one slot (one decode each, off the event
        loop), so that a request holds its frames' bytes no longer than it must; stored frames passed before."""
        for name, given in (("start", start), ("end", end)):
            if isinstance(given, RawFrame) and given.size > self._rules.max_bytes:  # no download, no slot
                raise ImageRejected(name, "too_large", size=given.size, limit=self._rules.max_bytes)
        if isinstance(start, StoredFrame) and not isinstance(end, RawFrame):
            return start, end
        async with self._slots.hold():
            return await self._checked(start, "start"), await self._checked(end, "end") if end else None

    async def _checked(self, given: FrameInput, name: str) -> Checked:
        if isinstance(given, StoredFrame):
            return given
        data = await given.read()
        return await self._off_loop(validate_frame, data, frame=name, rules=self._rules)

    async def preview(self, start: Checked, end: Checked | None) -> bytes:
        """The job card's picture: both frames side by side."""
        start_tile = await self._tile(start)
        end_tile = await self._tile(end) if end is not None else None
        return await self._off_loop(make_preview, start_tile, end_tile)

    async def _tile(self, checked: Checked) -> Image:
        """A new frame's tile was cut when it was checked; a stored one is fetched and decoded by the same rules."""
        if isinstance(checked, CheckedFrame):
            return checked.tile
        async with self._slots.hold():
            data = await self._fal.fetch(checked.url, max_bytes=self._rules.max_bytes)
            return await self._off_loop(stored_tile, data, max_pixels=self._rules.max_pixels)

    async def _off_loop(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run image work on the frame threads. A caller cancelled meanwhile still waits for it to end, so the slot
        it holds, and the memory behind it, is given back only when the work is really over."""
        loop = asyncio.get_running_loop()
        running = loop.run_in_executor(self._threads, functools.partial(work, *args, **kwargs))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            log.debug("cancelled while in %s: the slot stays taken until it ends", work.__name__)
            await asyncio.wait([running])
            if not running.cancelled():
                running.exception()  # retrieved: nobody is left to hear how it ended
            raise
