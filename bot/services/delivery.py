"""Posting a finished video exactly once: look before posting again after a restart, retry with backoff, and give
up (charged, with the link in the log) when Discord will not take it."""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
from pathlib import Path

from bot.errors import DeliveryFailed, FalError
from bot.fal import FalClient
from bot.models import Job, JobState, LogEvent, Transition
from bot.services.board import Board
from bot.services.lifecycle import Lifecycle
from bot.settings import TrackerSettings

log = logging.getLogger(__name__)

TEMP_PREFIX = "tween-"
STALE_AFTER = 3600.0


class Delivery:
    def __init__(self, lifecycle: Lifecycle, board: Board, fal: FalClient, settings: TrackerSettings) -> None:
        self._lifecycle = lifecycle
        self._board = board
        self._fal = fal
        self._settings = settings

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
        with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as folder:
            try:
                video = await self._fetch_video(job, Path(folder))
                message_id = await self._board.publisher.deliver(job, video)
            except (DeliveryFailed, FalError) as exc:
                return await self._failed(job, exc)
        await self._delivered(job, message_id)
        return None

    async def _fetch_video(self, job: Job, folder: Path) -> Path | None:
        assert job.video_url is not None
        if job.video_size is not None and job.video_size > job.upload_limit:
            return None
        if job.delivery_attempts >= self._settings.max_delivery_attempts - 1:
            return None  # last try: a link beats nothing
        path = folder / f"tween-{job.id}.mp4"
        written = await self._fal.download(job.video_url, path, max_bytes=job.upload_limit)
        return path if written is not None else None

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
    """Remove video downloads a killed process left behind (older than an hour, so a live one is never touched)."""
    cutoff = time.time() - STALE_AFTER
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
