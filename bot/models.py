"""Domain types shared by the services, the database and the Discord adapters. No I/O here."""

from __future__ import annotations

import enum
from collections.abc import Iterable
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
    WAITING = "waiting"  # over a concurrency cap: in our own queue, frames uploaded, starts by itself
    AWAITING_APPROVAL = "awaiting_approval"  # a moderator must approve before it is sent

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def at_fal(self) -> bool:
        return self in (JobState.QUEUED, JobState.RUNNING)


_TERMINAL = frozenset(
    {JobState.DELIVERED, JobState.UNDELIVERABLE, JobState.FAILED, JobState.CANCELLED, JobState.SUBMIT_UNKNOWN}
)
# Sent to fal and not yet back: what the concurrency caps count.
IN_FLIGHT = frozenset({JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING})
# Not yet sent to fal: a cancel needs no word with fal.
NOT_STARTED = frozenset({JobState.RESERVED, JobState.UPLOADED, JobState.WAITING, JobState.AWAITING_APPROVAL})
# Holding a reservation and still on its way (an unknown submit holds one too, until a moderator settles it).
HOLDING = NOT_STARTED | IN_FLIGHT
# In Tween's own queue, in front of the caps or a moderator.
LOCALLY_QUEUED = frozenset({JobState.WAITING, JobState.AWAITING_APPROVAL})
# Ended without a video: the member is told once, and the tracker looks at these until they have been.
ANNOUNCED = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.SUBMIT_UNKNOWN})
# fal billed these: the seconds were charged.
CHARGED = frozenset({JobState.COMPLETED, JobState.DELIVERING, JobState.DELIVERED, JobState.UNDELIVERABLE})


class Money(enum.StrEnum):
    """What a transition does to the job's reservation, in the same transaction as the state change."""

    CHARGE = "charge"
    REFUND = "refund"


@dataclass(frozen=True)
class Step:
    sources: frozenset[JobState]
    target: JobState
    money: Money | None = None


def _step(sources: Iterable[JobState], target: JobState, money: Money | None = None) -> Step:
    return Step(frozenset(sources), target, money)


class Transition(enum.StrEnum):
    """Every way a job's state may change. The table below says from where; docs/ARCHITECTURE.md shows it."""

    UPLOAD = "upload"
    ENQUEUE = "enqueue"
    ASK_APPROVAL = "ask_approval"
    APPROVE = "approve"
    DENY = "deny"
    CLAIM = "claim"
    SUBMITTED = "submitted"
    SUBMIT_LOST = "submit_lost"
    REQUEUED = "requeued"
    START = "start"
    COMPLETE = "complete"
    RESULT_LOST = "result_lost"
    DELIVER = "deliver"
    DELIVERED = "delivered"
    GIVE_UP = "give_up"
    FAIL = "fail"
    CANCEL = "cancel"
    SETTLE_BILLED = "settle_billed"
    SETTLE_UNBILLED = "settle_unbilled"

    @property
    def step(self) -> Step:
        return TRANSITIONS[self]


S = JobState
TRANSITIONS: dict[Transition, Step] = {
    Transition.UPLOAD: _step([S.RESERVED], S.UPLOADED),
    Transition.ENQUEUE: _step([S.UPLOADED], S.WAITING),
    Transition.ASK_APPROVAL: _step([S.UPLOADED], S.AWAITING_APPROVAL),
    Transition.APPROVE: _step([S.AWAITING_APPROVAL], S.WAITING),
    Transition.DENY: _step([S.AWAITING_APPROVAL], S.FAILED, Money.REFUND),
    Transition.CLAIM: _step([S.WAITING], S.SUBMITTING),
    Transition.SUBMITTED: _step([S.SUBMITTING], S.QUEUED),
    Transition.SUBMIT_LOST: _step([S.SUBMITTING], S.SUBMIT_UNKNOWN),
    Transition.REQUEUED: _step([S.RUNNING], S.QUEUED),
    Transition.START: _step([S.QUEUED], S.RUNNING),
    Transition.COMPLETE: _step([S.QUEUED, S.RUNNING], S.COMPLETED, Money.CHARGE),
    Transition.RESULT_LOST: _step([S.QUEUED, S.RUNNING], S.UNDELIVERABLE, Money.CHARGE),
    Transition.DELIVER: _step([S.COMPLETED], S.DELIVERING),
    Transition.DELIVERED: _step([S.DELIVERING], S.DELIVERED),
    Transition.GIVE_UP: _step([S.DELIVERING], S.UNDELIVERABLE),
    Transition.FAIL: _step(HOLDING, S.FAILED, Money.REFUND),
    Transition.CANCEL: _step(NOT_STARTED | {S.QUEUED, S.RUNNING}, S.CANCELLED, Money.REFUND),
    Transition.SETTLE_BILLED: _step([S.SUBMIT_UNKNOWN], S.UNDELIVERABLE, Money.CHARGE),
    Transition.SETTLE_UNBILLED: _step([S.SUBMIT_UNKNOWN], S.FAILED, Money.REFUND),
}
del S


class FailureReason(enum.StrEnum):
    """Why a job failed, in terms the renderer can put into plain words."""

    FAL_ERROR = "fal_error"  # fal ran it and reported an error
    FAL_REJECTED = "fal_rejected"  # fal refused the input (422)
    FAL_UNREACHABLE = "fal_unreachable"  # could not reach fal to submit or upload
    FAL_ACCOUNT = "fal_account"  # fal refused Tween's key or account: the operator must act
    RESTARTED = "restarted"  # the bot restarted before the job reached fal
    LOST = "lost"  # fal no longer knows the request
    NO_CARD = "no_card"  # the job card could not be posted in the channel
    DENIED = "denied"  # a moderator denied it
    CANCELLED = "cancelled"  # its member or a moderator cancelled it before fal started it
    STUCK = "stuck"  # waited in fal's queue past the deadline; cancelled there
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
    approval_message_id: int | None = None
    decided_by: int | None = None
    cancel_requested_by: int | None = None
    waited_at: datetime | None = None
    session_id: int | None = None
    version: int | None = None
    parent_job_id: int | None = None
    origin: str = "tween"  # how it was asked for: tween, reroll, remix or swap
    posted_size: int | None = None  # bytes of the file members got (smaller than video_size when re-encoded)
    posted_height: int | None = None
    video_problem: str | None = None  # why fal's file went out as a link: a MediaUnusable reason

    @property
    def reencoded(self) -> bool:
        """The attachment is a re-encode of fal's file, made to fit the upload limit."""
        return self.posted_size is not None and self.video_size is not None and self.posted_size != self.video_size

    @property
    def destination_id(self) -> int:
        """Where results go: the job's thread, or its channel when no thread could be opened."""
        return self.thread_id or self.channel_id

    @property
    def log_ids(self) -> dict[str, object]:
        """The ids a log line about this job carries (fields of their own in JSON logs)."""
        ids = {"job_id": self.id, "guild_id": self.guild_id, "user_id": self.user_id, "state": self.state.value}
        return ids | ({"request_id": self.request_id} if self.request_id else {})


class PotScope(enum.StrEnum):
    GUILD = "guild"
    MEMBER = "member"
    CHANNEL = "channel"


@dataclass(frozen=True)
class PotState:
    """One budget pot for the current period: a guild's, a member's or a channel's."""

    id: int
    guild_id: int
    scope: PotScope
    subject_id: int
    limit_seconds: int
    extra_seconds: int
    reserved_seconds: int
    spent_seconds: int
    period_start: datetime
    period_end: datetime

    @property
    def total_seconds(self) -> int:
        return self.limit_seconds + self.extra_seconds

    @property
    def remaining_seconds(self) -> int:
        return max(0, self.total_seconds - self.reserved_seconds - self.spent_seconds)

    @property
    def used_fraction(self) -> float:
        total = self.total_seconds
        return 1.0 if total == 0 else min(1.0, (self.reserved_seconds + self.spent_seconds) / total)


class Approval(enum.StrEnum):
    OFF = "off"
    OVER = "over"  # jobs longer than approval_seconds
    WITHOUT_ROLE = "without_role"  # members lacking approval_role_id
    ALWAYS = "always"


@dataclass(frozen=True)
class GuildPolicy:
    """A guild's moderation settings, with the operator's defaults filled in."""

    guild_id: int
    paused: bool
    guild_seconds: int
    member_seconds: int
    period: str
    reset_hour: int
    tier: str
    log_channel_id: int | None
    approval: Approval
    approval_seconds: int | None
    approval_role_id: int | None
    member_concurrency: int
    guild_concurrency: int
    role_allowances: dict[int, int]
    channel_budgets: dict[int, int]
    tween_channels: frozenset[int]
    banned_words: tuple[str, ...]
    approver_role_id: int | None = None  # pinged with each approval request
    seconds_only: bool = False  # members see seconds, no dollars; moderators always see both

    def member_allowance(self, role_ids: frozenset[int]) -> int:
        """Seconds per period for a member: the best of their roles' overrides, else the default share."""
        overrides = [self.role_allowances[r] for r in role_ids if r in self.role_allowances]
        return max(overrides) if overrides else self.member_seconds

    def needs_approval(self, duration: int, role_ids: frozenset[int]) -> bool:
        if self.approval is Approval.ALWAYS:
            return True
        if self.approval is Approval.OVER:
            return self.approval_seconds is not None and duration > self.approval_seconds
        if self.approval is Approval.WITHOUT_ROLE:
            return self.approval_role_id not in role_ids
        return False


@dataclass(frozen=True)
class Requester:
    """Who is asking, and from where: what policy checks need to know about a member."""

    guild_id: int
    user_id: int
    channel_id: int
    parent_channel_id: int | None = None  # the channel a thread belongs to
    role_ids: frozenset[int] = frozenset()
    is_moderator: bool = False

    @property
    def home_channel_id(self) -> int:
        """The channel rules apply to: a thread counts as its parent channel."""
        return self.parent_channel_id or self.channel_id


@dataclass(frozen=True)
class Session:
    """A job thread as a shared workspace: the inputs the next version starts from."""

    id: int
    guild_id: int
    thread_id: int
    channel_id: int
    created_by: int
    start_url: str
    end_url: str | None
    prompt: str
    duration: int
    last_job_id: int | None


@dataclass(frozen=True)
class LogEvent:
    """Something moderators should see in the log channel: an admin change, a job's outcome, a warning."""

    guild_id: int
    action: str
    actor_id: int | None = None
    job: Job | None = None
    detail: dict[str, object] | None = None
    pot: PotState | None = None


@dataclass(frozen=True)
class VideoResult:
    url: str
    size: int | None
    content_type: str
