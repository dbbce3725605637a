"""Make a downloaded video postable: as it is when it fits, re-encoded just under the limit when it does not, or
refused (MediaUnusable) with the reason, so the caller posts a link and says why."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import MediaUnusable
from bot.media.memory import give_back_freed_memory, map_large_blocks
from bot.media.plan import Plan, plan_fit
from bot.media.probe import VideoInfo, probe
from bot.media.transcode import transcode
from bot.settings import MediaSettings
from bot.slots import Slots

log = logging.getLogger(__name__)
T = TypeVar("T")
Transcoder = Callable[[Path, Path, Plan], None]


@dataclass(frozen=True)
class Fitted:
    path: Path
    original_size: int
    size: int
    height: int
    reencoded: bool


class VideoFitter:
    """At most media.max_transcodes re-encodes at once across the process; each in its own worker thread."""

    def __init__(self, settings: MediaSettings, *, transcoder: Transcoder | None = None) -> None:
        self._settings = settings
        self._transcoder = transcoder or self._transcode
        map_large_blocks()
        self._slots = Slots(settings.max_transcodes)
        self._workers = ThreadPoolExecutor(max_workers=settings.max_transcodes + 1, thread_name_prefix="tween-media")
        self._stop = threading.Event()

    @property
    def waiting(self) -> int:
        """Re-encodes queued behind media.max_transcodes."""
        return self._slots.waiting

    @property
    def running(self) -> int:
        return self._slots.held

    def close(self) -> None:
        """Abandon running transcodes at their next frame; their files are removed."""
        self._stop.set()
        self._workers.shutdown(wait=False, cancel_futures=True)

    async def fit(self, src: Path, *, limit: int, duration: int) -> Fitted:
        """`src` checked against the `duration` asked for and, when over `limit`, re-encoded beside it."""
        info = await self._run(probe, src)
        if abs(info.duration - duration) > self._settings.duration_tolerance:
            raise MediaUnusable("wrong_duration", seconds=round(info.duration, 2), expected=duration)
        if info.size <= limit:
            return Fitted(src, info.size, info.size, info.height, reencoded=False)
        async with self._slots.hold():
            return await self._reencode(src, info, limit)

    async def _reencode(self, src: Path, info: VideoInfo, limit: int) -> Fitted:
        dst = src.with_name(f"{src.stem}-fit.mp4")
        squeeze = 1.0
        for attempt in range(1, self._settings.max_attempts + 1):
            plan = plan_fit(info, limit, self._settings, squeeze=squeeze)
            await self._run(self._transcoder, src, dst, plan)
            made = await self._run(probe, dst)
            if made.size <= limit and abs(made.duration - info.duration) <= 1 / float(info.fps):
                log.info(
                    "re-encoded %s from %d to %d bytes (%dp, %d kbit/s, attempt %d) for a %d-byte limit",
                    src.name, info.size, made.size, made.height, plan.video_bps // 1000, attempt, limit,
                )  # fmt: skip
                return Fitted(dst, info.size, made.size, made.height, reencoded=True)
            if made.size <= limit:
                # Our re-encode lost time, not fal's video: members are told it could not be made to fit, not that
                # fal sent the wrong length.
                log.error("re-encode of %s lasts %.2f s, not %.2f s", src.name, made.duration, info.duration)
                dst.unlink(missing_ok=True)
                raise MediaUnusable("does_not_fit", size=info.size, limit=limit)
            log.warning(
                "re-encode of %s overshot: %d bytes for a %d-byte limit (attempt %d)",
                src.name, made.size, limit, attempt,
            )  # fmt: skip
            squeeze *= plan.target_bytes / made.size * 0.97
        dst.unlink(missing_ok=True)
        raise MediaUnusable("does_not_fit", size=info.size, limit=limit)

    def _transcode(self, src: Path, dst: Path, plan: Plan) -> None:
        try:
            transcode(src, dst, plan, preset=self._settings.preset, threads=self._settings.threads, stop=self._stop)
        finally:
            give_back_freed_memory()

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._workers, func, *args)
