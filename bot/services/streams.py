"""Following jobs through fal's status stream: one task per job at fal, each handing what it hears to the tracker.

The stream replaces polling, not the tracker's rules: every status heard becomes an ordinary look (money, cards,
deadlines as before), just without its status read. When a stream is refused, breaks or stalls, the job is polled
at once and its stream opened again after `fal.stream_retry`; a job whose stream fal refuses outright (4xx other
than 429), or beyond `fal.max_streams` open at once, is polled for the rest of its life.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

from bot.errors import FalApiError, FalError
from bot.fal.models import QueueStatus
from bot.fal.retry import should_retry_status
from bot.settings import FalSettings

log = logging.getLogger(__name__)


class StatusStreams:
    def __init__(
        self,
        settings: FalSettings,
        open_stream: Callable[[str], AsyncIterator[QueueStatus]],
        heard: Callable[[int, QueueStatus], None],
        lost: Callable[[int], None],
    ) -> None:
        self._settings = settings
        self._open = open_stream
        self._heard = heard  # a status for the job's next look
        self._lost = lost  # the stream ended short: poll the job now
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._not_before: dict[int, float] = {}  # monotonic time before which a broken stream is not reopened
        self._refused: set[int] = set()  # fal will not stream these: polled to the end

    def live(self, job_id: int) -> bool:
        return job_id in self._tasks

    def follow(self, job_id: int, status_url: str) -> None:
        """Open the job's stream unless one is open, it broke moments ago, fal refused it, or too many are open."""
        if not self._settings.status_stream or job_id in self._tasks or job_id in self._refused:
            return
        if time.monotonic() < self._not_before.get(job_id, 0.0) or len(self._tasks) >= self._settings.max_streams:
            return
        self._tasks[job_id] = asyncio.create_task(self._follow(job_id, status_url), name=f"fal-stream-{job_id}")

    def retry_in(self, job_id: int) -> float | None:
        """Seconds until a broken stream of the job may be opened again; None when none waits to be."""
        if not self._settings.status_stream or job_id in self._tasks or job_id in self._refused:
            return None
        if (at := self._not_before.get(job_id)) is None:
            return None
        return max(at - time.monotonic(), 0.0)

    def forget(self, job_id: int) -> None:
        """The job left fal: its stream, if still open, is closed."""
        self._not_before.pop(job_id, None)
        self._refused.discard(job_id)
        if (task := self._tasks.pop(job_id, None)) is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, job_id: int, status_url: str) -> None:
        ended_short = True
        try:
            async for status in self._open(status_url):
                self._heard(job_id, status)
            ended_short = False  # the stream ends itself only after COMPLETED
        except FalApiError as exc:
            if not should_retry_status(exc.status):
                self._refused.add(job_id)
            log.info("job %d: fal refused its status stream (%s); polling", job_id, exc)
        except FalError as exc:
            log.info("job %d: its status stream broke (%s); polling until it is back", job_id, exc)
        except Exception:
            log.exception("job %d: following its status stream failed; polling", job_id)
        finally:
            if self._tasks.get(job_id) is asyncio.current_task():
                del self._tasks[job_id]
        if ended_short:
            self._not_before[job_id] = time.monotonic() + self._settings.stream_retry
            self._lost(job_id)
