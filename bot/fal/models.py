"""What fal's queue answers, as typed values. Parsers raise on shapes we do not understand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.errors import FalAccountProblem, FalApiError, FieldError
from bot.models import VideoResult

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Submitted:
    request_id: str
    status_url: str
    response_url: str
    cancel_url: str
    queue_position: int | None


@dataclass(frozen=True)
class Queued:
    position: int | None


@dataclass(frozen=True)
class InProgress:
    logs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completed:
    error: str | None = None
    error_type: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.error is not None or self.error_type is not None


QueueStatus = Queued | InProgress | Completed


class MalformedResponse(ValueError):
    """fal answered 2xx with a body we cannot read."""


def parse_submitted(body: Any, *, queue_url: str, endpoint: str) -> Submitted:
    if not isinstance(body, dict) or not isinstance(body.get("request_id"), str):
        raise MalformedResponse(f"submit answer without request_id: {str(body)[:200]}")
    request_id = body["request_id"]
    base = request_base(queue_url, endpoint, request_id)
    return Submitted(
        request_id=request_id,
        status_url=_str(body.get("status_url")) or f"{base}/status",
        response_url=_str(body.get("response_url")) or base,
        cancel_url=_str(body.get("cancel_url")) or f"{base}/cancel",
        queue_position=_int(body.get("queue_position")),
    )


# fal's documented request error types, in words a member can follow (reference §6).
ERROR_WORDS = {
    "request_timeout": "fal couldn't start it in time",
    "startup_timeout": "fal's machine took too long to start",
    "runner_scheduling_failure": "fal had no machine free to run it",
    "runner_connection_timeout": "fal lost the machine running it",
    "runner_disconnected": "fal lost the machine running it",
    "runner_connection_refused": "fal lost the machine running it",
    "runner_connection_error": "fal lost the machine running it",
    "runner_incomplete_response": "the machine running it stopped half-way",
    "runner_server_error": "the machine running it hit an error",
    "internal_error": "fal hit an internal error",
}


def failure_words(error: str | None, error_type: str | None) -> str:
    """Why fal says a run failed, in words (its own message when the type is not a documented one)."""
    words = ERROR_WORDS.get(error_type or "")
    if words and error:
        return f"{words} ({error})"
    return words or error or error_type or "fal reported an unknown error"


def request_base(queue_url: str, endpoint: str, request_id: str) -> str:
    """A request's URL in the owner/app form fal's clients build (fal says to prefer the URLs it returns)."""
    return f"{queue_url}/{'/'.join(endpoint.split('/')[:2])}/requests/{request_id}"


def parse_status(body: Any) -> QueueStatus:
    if not isinstance(body, dict):
        raise MalformedResponse(f"status answer is not an object: {str(body)[:200]}")
    status = body.get("status")
    if status == "IN_QUEUE":
        return Queued(position=_int(body.get("queue_position")))
    if status == "IN_PROGRESS":
        logs = body.get("logs") or []
        return InProgress(logs=tuple(str(e.get("message", "")) for e in logs if isinstance(e, dict)))
    if status == "COMPLETED":
        metrics = body.get("metrics")
        return Completed(
            error=_str(body.get("error")),
            error_type=_str(body.get("error_type")),
            metrics=metrics if isinstance(metrics, dict) else {},
        )
    raise MalformedResponse(f"unknown queue status {status!r}")


def parse_video(body: Any) -> VideoResult:
    video = body.get("video") if isinstance(body, dict) else None
    if not isinstance(video, dict) or not isinstance(video.get("url"), str):
        raise MalformedResponse(f"result without video.url: {str(body)[:200]}")
    return VideoResult(
        url=video["url"],
        size=_int(video.get("file_size")),
        content_type=_str(video.get("content_type")) or "video/mp4",
    )


# fal's answers about Tween's key (401) and account (403: locked, balance exhausted), not about a request.
ACCOUNT_STATUSES = frozenset({401, 403})


def api_error(status: int, body: Any, headers: dict[str, str], retry_after: float | None) -> FalApiError:
    """Turn an error answer into FalApiError, keeping fal's 422 field list and error_type."""
    detail: Any = body.get("detail") if isinstance(body, dict) else body
    field_errors: tuple[FieldError, ...] = ()
    if isinstance(detail, list):
        field_errors = tuple(
            FieldError(
                loc=tuple(str(p) for p in item.get("loc", [])),
                msg=str(item.get("msg", "")),
                type=str(item.get("type", "")),
            )
            for item in detail
            if isinstance(item, dict)
        )
        text = "; ".join(e.msg for e in field_errors) or "invalid input"
    else:
        text = str(detail or (body.get("status") if isinstance(body, dict) else "") or f"HTTP {status}")
    error_type = (body.get("error_type") if isinstance(body, dict) else None) or headers.get("x-fal-error-type")
    kind = FalAccountProblem if status in ACCOUNT_STATUSES else FalApiError
    return kind(status, text[:500], error_type=error_type, field_errors=field_errors, retry_after=retry_after)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def json_or_text(response: httpx.Response) -> Any:
    """An error answer's body: its JSON, or the start of its text."""
    try:
        return response.json()
    except ValueError:
        return response.text[:500]
