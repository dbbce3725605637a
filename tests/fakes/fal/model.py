"""What tests hand the fake (scripts, faults) and what the fake hands back (records)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODEL = "fal-ai/kling-video/o1/image-to-video"
STANDARD_MODEL = "fal-ai/kling-video/o1/standard/image-to-video"
MODELS = frozenset({MODEL, STANDARD_MODEL})
# Status, result and cancel live under owner/app only (reference §0).
APP = "fal-ai/kling-video"

OUTCOMES = frozenset({"ok", "error", "invalid"})
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
    video_size: int = 4096
    logs: list[str] = field(default_factory=lambda: ["Generating..."])

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {self.outcome!r}")
        if self.video_size < 0 or self.queue_position < 0:
            raise ValueError("video_size and queue_position cannot be negative")


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

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}; known: {sorted(ROUTES)}")
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
