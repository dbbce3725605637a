"""Posting a finished video exactly once: look before posting again after a restart, fit fal's file to the server's
upload limit, retry with backoff, and give up (charged, with the link in the log) when Discord will not take it."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from bot.errors import DeliveryFailed, FalError, MediaUnusable
from bot.fal import FalClient
from bot.media import VideoFitter
from bot.models import Job, JobState, LogEvent, Transition
from bot.services.board import Board
from bot.services.lifecycle import Lifecycle
from bot.settings import MediaSettings, TrackerSettings

log = logging.getLogger(__name__)

TEMP_PREFIX = "tween-"
STALE_AFTER = 3600.0


class Delivery:
    def __init__(
        self, lifecycle: Lifecycle, board: Board, fal: FalClient, settings: TrackerSettings, media: MediaSettings
    ) -> None:
        self._lifecycle = lifecycle
        self._board = board
        self._fal = fal
        self._settings = settings
        self._media = media
        self.fitter = VideoFitter(media)

    def close(self) -> None:
        self.fitter.close()

    async def run(self, job: Job) -> float | None:
        """Deliver a COMPLETED (or interrupted DELIVERING) job; the delay before the next try, or None when done."""
        if job.state is JobState.DELIVERING:
            try:
                found = await self._board.publisher.find_delivery(job)
            except DeliveryFailed as exc:
                # Unable to read the thread back (no Read Message History?): posting blind could post twice.
                return await self._failed(job, exc)
            if found is not None:
                log.info("job %d: already delivered as message %d", job.id, found, extra=job.log_ids)
                await self._delivered(job, found)
                return None
        else:
            moved = await self._lifecycle.move(job, Transition.DELIVER)
            if moved is None:
                return None
            job = moved
        # The folder names this process, so a later start knows a crash left it (sweep_stale_downloads).
        with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-") as folder:
            try:
                job, video = await self._prepare(job, Path(folder))
                message_id = await self._board.publisher.deliver(job, video)
            except (DeliveryFailed, FalError) as exc:
                return await self._failed(job, exc)
        await self._delivered(job, message_id)
        return None

    async def _prepare(self, job: Job, folder: Path) -> tuple[Job, Path | None]:
        """fal's file, streamed to disk and fitted to the upload limit; None (post a link) when it cannot be."""
        assert job.video_url is not None
        if job.delivery_attempts >= self._settings.max_delivery_attempts - 1:
            return job, None  # last try: a link beats nothing
        path = folder / f"tween-{job.id}.mp4"
        written = await self._fal.download(job.video_url, path, max_bytes=self._media.max_download_bytes)
        try:
            if written is None:
                raise MediaUnusable("too_big_to_fetch", limit=self._media.max_download_bytes)
            fitted = await self.fitter.fit(path, limit=job.upload_limit, duration=job.duration)
        except MediaUnusable as exc:
            log.warning("job %d: posting fal's link instead of the file: %s", job.id, exc, extra=job.log_ids)
            return await self._noted(job, video_problem=exc.reason), None
        facts = {"video_size": fitted.original_size, "posted_size": fitted.size, "posted_height": fitted.height}
        return await self._noted(job, video_problem=None, **facts), fitted.path

    async def _noted(self, job: Job, **facts: object) -> Job:
        return await self._lifecycle.note(job, while_in=[JobState.DELIVERING], **facts) or job

    async def _failed(self, job: Job, exc: Exception) -> float | None:
        attempts = job.delivery_attempts + 1
        permanent = isinstance(exc, DeliveryFailed) and exc.permanent
        if permanent or attempts >= self._settings.max_delivery_attempts:
            log.error("job %d: giving up delivery after %d attempt(s): %s", job.id, attempts, exc, extra=job.log_ids)
            given_up = await self._lifecycle.move(job, Transition.GIVE_UP, delivery_attempts=attempts)
            if given_up is not None:
                await self._board.show_quietly(given_up)
                await self._board.log_event(LogEvent(job.guild_id, "job", job=given_up))
            return None
        await self._lifecycle.note(job, delivery_attempts=attempts)
        delay = min(self._settings.running_interval * 2**attempts, self._settings.error_backoff_cap)
        log.warning(
            "job %d: delivery attempt %d failed (%s); retry in %.1fs", job.id, attempts, exc, delay, extra=job.log_ids
        )
        return delay

    async def _delivered(self, job: Job, message_id: int) -> None:
        delivered = await self._lifecycle.move(job, Transition.DELIVERED, result_message_id=message_id)
        if delivered is None:
            return
        log.info("job %d: delivered as message %d", job.id, message_id, extra=job.log_ids)
        await self._board.show_quietly(delivered)
        await self._board.log_event(LogEvent(job.guild_id, "job", job=delivered))


def sweep_stale_downloads() -> None:
    """Remove the downloads and re-encodes a killed process left behind: folders of a process that is gone, and any
    older than an hour (a live process never keeps one that long)."""
    cutoff = time.time() - STALE_AFTER
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if folder.is_dir() and (not _owner_alive(folder.name) or folder.stat().st_mtime < cutoff):
                shutil.rmtree(folder, ignore_errors=True)


def _owner_alive(name: str) -> bool:
    pid = name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
    if not pid.isdigit():
        return True  # not named by a process: left to the age rule
    if int(pid) == os.getpid():
        return False  # this process is only starting: nothing of its own is in use yet
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
