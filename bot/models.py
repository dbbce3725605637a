"""Domain types shared by the services, the database and the Discord adapters. No I/O here."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class JobState(enum.StrEnum):
    RESERVED = "reserved"  # row + reservation written; frames not yet on fal storage
    UPLOADED = "uploaded"  # frames on fal storage, URLs saved; nothing submitted
    SUBMITTING = "submitting"  # committed just before the POST
    SUBMIT_UNKNOWN = "submit_unknown"  # the POST may have reached fal; never re-sent
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"  # video URL saved, seconds charged, not yet posted
    DELIVERING = "delivering"  # about to post; after a restart, look before posting again
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"  # charged, but Discord would not take the post
    FAILED = "failed"  # refunded
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def at_fal(self) -> bool:
        return self in (JobState.QUEUED, JobState.RUNNING)


_TERMINAL = frozenset(
    {JobState.DELIVERED, JobState.UNDELIVERABLE, JobState.FAILED, JobState.CANCELLED, JobState.SUBMIT_UNKNOWN}
)


class FailureReason(enum.StrEnum):
    """Why a job failed, in terms the renderer can put into plain words."""

    FAL_ERROR = "fal_error"  # fal ran it and reported an error
    FAL_REJECTED = "fal_rejected"  # fal refused the input (422)
    FAL_UNREACHABLE = "fal_unreachable"  # could not reach fal to submit or upload
    RESTARTED = "restarted"  # the bot restarted before the job reached fal
    LOST = "lost"  # fal no longer knows the request
    NO_CARD = "no_card"  # the job card could not be posted in the channel
    INTERNAL = "internal"  # a bug on our side


@dataclass(frozen=True)
class Frame:
    """A validated image, ready to upload."""

    data: bytes
    content_type: str
    width: int
    height: int
    filename: str


@dataclass(frozen=True)
class Job:
    id: int
    guild_id: int
    channel_id: int
    user_id: int
    prompt: str
    duration: int
    price_micros: int  # USD millionths, so per-second prices never round
    model: str
    state: JobState
    created_at: datetime
    updated_at: datetime
    upload_limit: int
    start_url: str | None = None
    end_url: str | None = None
    request_id: str | None = None
    status_url: str | None = None
    response_url: str | None = None
    cancel_url: str | None = None
    queue_position: int | None = None
    submitted_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    video_url: str | None = None
    video_size: int | None = None
    card_message_id: int | None = None
    thread_id: int | None = None
    result_message_id: int | None = None
    failure: FailureReason | None = None
    failure_detail: str | None = None
    failure_notified: bool = False
    delivery_attempts: int = 0

    @property
    def destination_id(self) -> int:
        """Where results go: the job's thread, or its channel when no thread could be opened."""
        return self.thread_id or self.channel_id


@dataclass(frozen=True)
class BudgetState:
    guild_id: int
    limit_seconds: int
    reserved_seconds: int
    spent_seconds: int
    period_start: datetime
    period_end: datetime

    @property
    def remaining_seconds(self) -> int:
        return max(0, self.limit_seconds - self.reserved_seconds - self.spent_seconds)


@dataclass(frozen=True)
class VideoResult:
    url: str
    size: int | None
    content_type: str
