"""What the services need from the chat side, as protocols; the Discord adapter in cogs/ implements them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.errors import DeliveryFailed
from bot.models import GuildPolicy, Job, LogEvent


@dataclass(frozen=True)
class CardPlacement:
    card_message_id: int
    thread_id: int | None  # None when no thread could be opened: results then go to the channel


class JobPublisher(Protocol):
    async def open_card(self, job: Job, preview: bytes) -> CardPlacement:
        """Post the public job card in the job's channel and open its thread. Raise DeliveryFailed if impossible."""
        ...

    async def update_card(self, job: Job) -> None:
        """Show the job's new state on its card (the adapter may coalesce rapid updates)."""
        ...

    async def find_delivery(self, job: Job) -> int | None:
        """The id of a result message already posted for this job, if any."""
        ...

    async def deliver(self, job: Job, video: Path | None) -> int:
        """Post the result (the file, or a link when `video` is None); return the message id."""
        ...

    async def notify(self, job: Job) -> None:
        """Tell the job's thread that it failed, or that its fate is unknown."""
        ...

    async def request_approval(self, job: Job, policy: GuildPolicy, preview: bytes) -> int:
        """Post Approve / Deny for moderators, with the job's frames (in the log channel, else the job's channel;
        pinging the guild's approver role if it has one); return the message id."""
        ...

    async def close_approval(self, job: Job) -> None:
        """Show the decision on the approval request and remove its buttons."""
        ...

    async def post_log(self, channel_id: int, event: LogEvent) -> None:
        """Post an audit line or warning in the guild's log channel."""
        ...


class PublisherSocket:
    """Where the Discord side plugs its publisher in once it can post. Built with the services and handed to each
    one that posts, so none of them holds a publisher of its own or reaches into another for it."""

    def __init__(self) -> None:
        self._publisher: JobPublisher | None = None

    def attach(self, publisher: JobPublisher | None) -> None:
        self._publisher = publisher

    @property
    def attached(self) -> bool:
        return self._publisher is not None

    @property
    def current(self) -> JobPublisher:
        """The attached publisher; DeliveryFailed (permanent) while there is none."""
        if self._publisher is None:
            raise DeliveryFailed("no publisher attached", permanent=True)
        return self._publisher
