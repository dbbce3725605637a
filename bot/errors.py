"""The one error hierarchy. Errors carry data; cogs/errors.py turns them into words for members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


class TweenError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(TweenError):
    """The configuration or environment cannot start the bot."""


class ShardsHeld(ConfigError):
    """Another running process holds a lease on shards this process was set to serve; it starts once they are free."""


class LeaseLost(TweenError):
    """Another process took over this process's shards: it stopped tracking them and exits."""


class InputRejected(TweenError):
    """A member's input breaks a rule; nothing was spent."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class ImageRejected(InputRejected):
    """A frame is not an image fal would accept."""

    def __init__(self, frame: str, reason: str, **details: Any) -> None:
        super().__init__(reason, **details)
        self.frame = frame


class BudgetExhausted(TweenError):
    """A pot (the guild's, the member's or the channel's) cannot cover the seconds asked for."""

    def __init__(
        self,
        needed: int,
        remaining: int,
        resets_at: datetime,
        scope: str = "guild",
        price_per_second: float | None = None,
        *,
        fits: int | None = None,
        min_duration: int | None = None,
        total: int | None = None,
        role_id: int | None = None,
        subject_id: int | None = None,
    ) -> None:
        super().__init__(f"need {needed}s, {remaining}s left in the {scope} pot")
        self.needed = needed
        self.remaining = remaining
        self.resets_at = resets_at
        self.scope = scope
        self.price_per_second = price_per_second  # the guild's own tier price, for the member's answer
        self.fits = fits  # the longest video every pot drawn on could cover now
        self.min_duration = min_duration  # the tier's shortest video: advice below it would be refused too
        self.total = total  # the pot's seconds this period, extras included; 0 means it never had any
        self.role_id = role_id  # the role whose override set a member's allowance
        self.subject_id = subject_id  # the channel, for a channel's pot


class Refused(TweenError):
    """The guild's rules do not allow this now (paused, blocked, wrong channel, banned word); nothing spent."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class NotModerator(TweenError):
    """Only members with Manage Server may do this (checked again at run time)."""


class CannotCancel(TweenError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JobNotFound(TweenError):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} not found")
        self.job_id = job_id


@dataclass(frozen=True)
class FieldError:
    """One entry of fal's 422 `detail` list."""

    loc: tuple[str, ...]
    msg: str
    type: str


class FalError(TweenError):
    """Anything that went wrong talking to fal."""


class FalApiError(FalError):
    """fal answered with an error status."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        error_type: str | None = None,
        field_errors: tuple[FieldError, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"fal answered {status}: {detail}")
        self.status = status
        self.detail = detail
        self.error_type = error_type
        self.field_errors = field_errors
        self.retry_after = retry_after

    @property
    def is_validation(self) -> bool:
        return self.status == 422


class FalAccountProblem(FalApiError):
    """fal refused Tween's key (401) or its account (403: locked, balance exhausted). Only the operator can fix it;
    retrying does not help, and members are told so."""


class FalUnavailable(FalError):
    """fal could not be reached, or kept failing, before an answer was had."""


class SubmitFateUnknown(FalError):
    """The submit may have reached fal, but no answer came back: never re-send it."""


class SubmitMaybeQueued(FalError):
    """The submit's answer was an error or unreadable, but it carried fal's request id, so it came from behind fal's
    ingress: the job may be queued (and billed). Look it up by that id before deciding."""

    def __init__(self, request_id: str, why: str) -> None:
        super().__init__(f"{why} (request {request_id})")
        self.request_id = request_id


class MediaUnusable(TweenError):
    """fal's video cannot be posted as a file: it does not decode, has no picture, has the wrong length, or will
    not fit the upload limit however it is encoded. It is posted as a link instead, with this reason."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(f"{reason}: {details}" if details else reason)
        self.reason = reason
        self.details = details


class DeliveryFailed(TweenError):
    """Discord refused or failed a post; `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
