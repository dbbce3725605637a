"""What members and moderators see of a job: its card, its thread's notices, and the guild's log channel."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.db.guilds import GuildRepo
from bot.db.jobs import JobRepo
from bot.models import Job, JobState, LogEvent
from bot.services.ports import JobPublisher, PublisherSocket

log = logging.getLogger(__name__)


class Board:
    def __init__(self, socket: PublisherSocket, jobs: JobRepo, guilds: GuildRepo) -> None:
        self._socket = socket
        self._jobs = jobs
        self._guilds = guilds

    @property
    def attached(self) -> bool:
        return self._socket.attached

    @property
    def publisher(self) -> JobPublisher:
        """The Discord side; DeliveryFailed while it is not attached."""
        return self._socket.current

    async def show(self, job: Job) -> None:
        """Update the job's card; a waiting job shows its place in the guild's queue (0 = next)."""
        if job.state is JobState.WAITING:
            job = replace(job, queue_position=await self._jobs.waiting_ahead(job))
        await self.publisher.update_card(job)

    async def show_quietly(self, job: Job) -> None:
        """show(), for callers that must not stall on it: the card is a courtesy, and the next state shows anyway."""
        try:
            await self.show(job)
        except Exception as exc:
            log.warning("job %d: card update failed: %r", job.id, exc, extra=job.log_ids)

    async def log_event(self, event: LogEvent) -> None:
        """Post to the guild's log channel, if it has one. A courtesy: failures are only logged."""
        if not self._socket.attached:
            return
        policy = await self._guilds.policy(event.guild_id)
        if policy.log_channel_id is None:
            return
        try:
            await self.publisher.post_log(policy.log_channel_id, event)
        except Exception as exc:
            log.warning("guild %d: could not post %s to the log channel: %r", event.guild_id, event.action, exc)
