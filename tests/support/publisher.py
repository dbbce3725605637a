"""An in-memory JobPublisher: records what the services asked the chat side to show."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import DeliveryFailed
from bot.models import GuildPolicy, Job, LogEvent
from bot.services import CardPlacement


@dataclass
class Delivery:
    job_id: int
    message_id: int
    video: bytes | None
    link: str | None


@dataclass
class RecordingPublisher:
    cards: dict[int, list[Job]] = field(default_factory=dict)
    previews: dict[int, bytes] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    notices: list[Job] = field(default_factory=list)
    approvals: dict[int, int | None] = field(default_factory=dict)
    closed_approvals: list[Job] = field(default_factory=list)
    logs: list[tuple[int, LogEvent]] = field(default_factory=list)
    fail_card: bool = False
    fail_deliveries: int = 0
    fail_updates: int = 0  # card edits that fail, as Discord's do now and then
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    async def open_card(self, job: Job, preview: bytes) -> CardPlacement:
        if self.fail_card:
            raise DeliveryFailed("no permission", permanent=True)
        assert preview.startswith(b"\xff\xd8")  # a JPEG
        self.cards[job.id] = [job]
        self.previews[job.id] = preview
        # Like Discord: no thread inside a session thread; the result goes to the thread itself.
        thread = None if job.session_id is not None else next(self._ids)
        return CardPlacement(card_message_id=next(self._ids), thread_id=thread)

    async def update_card(self, job: Job) -> None:
        if self.fail_updates:
            self.fail_updates -= 1
            raise DeliveryFailed("discord is having a moment")
        self.cards.setdefault(job.id, []).append(job)

    async def find_delivery(self, job: Job) -> int | None:
        return next((d.message_id for d in self.deliveries if d.job_id == job.id), None)

    async def deliver(self, job: Job, video: Path | None) -> int:
        if self.fail_deliveries:
            self.fail_deliveries -= 1
            raise DeliveryFailed("discord is having a moment")
        data = video.read_bytes() if video else None
        self.deliveries.append(Delivery(job.id, next(self._ids), data, None if data else job.video_url))
        return self.deliveries[-1].message_id

    async def notify(self, job: Job) -> None:
        self.notices.append(job)

    async def request_approval(self, job: Job, policy: GuildPolicy, preview: bytes) -> int:
        assert preview.startswith(b"\xff\xd8")  # a JPEG: the frames the moderators judge
        self.approvals[job.id] = policy.log_channel_id
        return next(self._ids)

    async def close_approval(self, job: Job) -> None:
        self.closed_approvals.append(job)

    async def post_log(self, channel_id: int, event: LogEvent) -> None:
        self.logs.append((channel_id, event))

    def latest(self, job_id: int) -> Job:
        return self.cards[job_id][-1]
