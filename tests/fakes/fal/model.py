"""What tests hand the fake (scripts, faults) and what the fake hands back (records)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL = "fal-ai/kling-video/o1/image-to-video"
STANDARD_MODEL = "fal-ai/kling-video/o1/standard/image-to-video"
MODELS = frozenset({MODEL, STANDARD_MODEL})
# Status, result and cancel live under owner/app only (reference §0).
APP = "fal-ai/kling-video"

# fal's price per second of video (reference §9), in millionths of a dollar as Tween keeps prices.
PRICE_MICROS = {MODEL: 112_000, STANDARD_MODEL: 84_000}

# ok: a video. error: the status carries `error` and the result answers 500. invalid: a 422 at the result only.
# result_error: the status says COMPLETED without `error`; only the result answers 5xx (reference, Corrections).
OUTCOMES = frozenset({"ok", "error", "invalid", "result_error"})
# fal's request error types and the HTTP status each typically comes with (reference §6).
ERROR_TYPES = {
    "request_timeout": 504,
    "startup_timeout": 504,
    "runner_scheduling_failure": 503,
    "runner_connection_timeout": 503,
    "runner_disconnected": 503,
    "runner_connection_refused": 503,
    "runner_connection_error": 503,
    "runner_incomplete_response": 502,
    "runner_server_error": 500,
    "internal_error": 500,
    "client_disconnected": 499,
    "client_cancelled": 499,
    "bad_request": 400,
}
ROUTES = frozenset(
    {
        "submit",
        "status",
        "stream",
        "result",
        "cancel",
        "token",
        "cdn_upload",
        "initiate",
        "put_upload",
        "file",
        "video",
        "moved_file",
        "moved_video",
    }
)
# These answer by streaming, so there is no finished answer to swap for a fault afterwards.
STREAMED_ROUTES = frozenset({"stream", "video", "moved_video"})
# The reasons fal gives when it locks an account (live reports): every billable call answers 403.
EXHAUSTED_BALANCE = "Exhausted balance. Top up your balance at fal.ai/dashboard/billing."
ADMIN_LOCK = "Admin lock. Please contact support@fal.ai"


@dataclass
class JobScript:
    """How one submitted job behaves. A phase of None seconds lasts until `FakeFal.release(request_id)`."""

    queue_seconds: float | None = 0.05
    queue_position: int = 2
    run_seconds: float | None = 0.05
    outcome: str = "ok"
    error: str = "Runner disconnected"
    error_type: str = "runner_disconnected"
    # outcome="result_error" only: the result's HTTP status; None takes the one typical of error_type.
    result_status: int | None = None
    # The output: None makes a real MP4 of the duration asked for, from FakeFal.videos; a path serves that file (a
    # fixture from tests.support.media); video_size serves that many bytes of noise that only look like an MP4.
    video: Path | None = None
    video_size: int | None = None
    logs: list[str] = field(default_factory=lambda: ["Generating..."])
    # A cancel while IN_PROGRESS: fal signals the runner and, by default, the run goes on (and is billed).
    # True: the model app honours it and the job ends cancelled, unbilled.
    cancel_honoured: bool = False
    # A cancel while IN_QUEUE that crosses the job's start: answered 202, yet the job starts now and runs.
    cancel_races_start: bool = False
    # fal retried the run: the webhook's gateway_request_id names the last attempt, request_id stays the queue's.
    retried_at_fal: bool = False

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {self.outcome!r}")
        if (self.video_size is not None and self.video_size < 0) or self.queue_position < 0:
            raise ValueError("video_size and queue_position cannot be negative")
        if self.error_type not in ERROR_TYPES:
            raise ValueError(f"error_type must be one of fal's {sorted(ERROR_TYPES)}, not {self.error_type!r}")
        if self.outcome == "result_error" and not 500 <= self.failed_result_status <= 504:
            raise ValueError(f"a failed run answers the result with 500-504, not {self.failed_result_status}")

    @property
    def failed_result_status(self) -> int:
        return self.result_status if self.result_status is not None else ERROR_TYPES[self.error_type]


@dataclass
class Fault:
    """Applied to the next `times` requests of `route`, before (or, with after_effect, after) normal handling."""

    route: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    after_effect: bool = False
    times: int = 1
    # submit only: the answer carries `x-fal-request-id`, so it came from behind fal's ingress. With after_effect
    # it names the job fal queued; without, an id fal made up and never queued (a status look answers 404).
    carries_request_id: bool = False

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}; known: {sorted(ROUTES)}")
        if self.carries_request_id and self.route != "submit":
            raise ValueError("carries_request_id applies to submit faults only")
        if self.after_effect and self.route in STREAMED_ROUTES:
            raise ValueError(f"after_effect cannot apply to the streamed route {self.route!r}")
        if self.times < 1:
            raise ValueError("times must be at least 1")


@dataclass
class SubmitRecord:
    request_id: str
    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float
    webhook: str | None = None
    fetched_images: dict[str, bytes] = field(default_factory=dict)


@dataclass
class RequestRecord:
    route: str  # a name from ROUTES, or "unknown"
    method: str
    path: str
    query: dict[str, str]
    status: int  # 0 while unanswered, and for dropped connections
    at: float
    request_id: str | None = None


@dataclass
class StoredFile:
    data: bytes
    content_type: str
    file_name: str
    lifecycle: str | None = None  # the first lifecycle header the upload carried, either name
    lifecycle_headers: dict[str, str] = field(default_factory=dict)  # every lifecycle header, by its name


@dataclass(frozen=True)
class BillLine:
    """What fal charges for one run that produced a video."""

    request_id: str
    model: str
    seconds: int
    price_micros: int


@dataclass(frozen=True)
class JobHistory:
    """What became of one request id fal named, as of the moment it was asked."""

    request_id: str
    queued: bool  # False: fal named the id in an answer but never queued a job
    started: bool
    cancel_requested: bool
    cancelled: bool  # ended cancelled: never ran to a video, never billed
    timed_out: bool  # X-Fal-Request-Timeout passed before it started
    billed: bool

    @property
    def flags(self) -> frozenset[str]:
        """The names of the facts that hold, e.g. {"queued", "started", "billed"}: short to assert on."""
        return frozenset(f.name for f in dataclasses.fields(self) if getattr(self, f.name) is True)
