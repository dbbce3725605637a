"""fal's status stream: one long-lived GET per job (`{status_url}/stream`), server-sent events each carrying a status
of the same shape as the status endpoint's, ended by fal after COMPLETED.

A stream that closes before COMPLETED, goes silent past the stall timeout, or sends what cannot be read raises
StreamBroken: the caller falls back to polling, which loses nothing. Opening one counts as one read against the
read cap; it is never retried here (the caller decides when to open another).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Protocol

import httpx

from bot.errors import FalError
from bot.fal.models import Completed, MalformedResponse, QueueStatus, api_error, json_or_text, parse_status
from bot.fal.retry import parse_retry_after

# Lines longer than this are not a status: a broken or hostile stream must not grow memory without bound.
MAX_EVENT_BYTES = 64 * 1024


class StreamBroken(FalError):
    """The status stream ended, stalled or said something unreadable before COMPLETED: poll instead."""


class StreamOpener(Protocol):
    """What the stream needs of the fal client: its HTTP client, its auth, and a turn under the read cap."""

    @property
    def auth_headers(self) -> dict[str, str]: ...

    def stream_client(self) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]: ...

    async def read_turn(self) -> None: ...


async def status_stream(
    fal: StreamOpener, status_url: str, *, stall: float, connect: float = 10.0
) -> AsyncIterator[QueueStatus]:
    """Each status fal sends for the job, ending after COMPLETED. Raises FalApiError when fal refuses the stream
    (429/5xx with Retry-After kept), StreamBroken as above."""
    await fal.read_turn()
    timeout = httpx.Timeout(connect, read=stall)  # httpx's read timeout is the stall: no byte for that long
    try:
        async with (
            fal.stream_client() as http,
            http.stream(
                "GET", f"{status_url}/stream", params={"logs": "0"}, headers=fal.auth_headers, timeout=timeout
            ) as response,
        ):
            if not response.is_success:
                await response.aread()
                raise api_error(
                    response.status_code,
                    json_or_text(response),
                    dict(response.headers),
                    parse_retry_after(response.headers.get("retry-after")),
                )
            async for data in sse_data(response.aiter_lines()):
                status = _status(data)
                yield status
                if isinstance(status, Completed):
                    return
    except httpx.ReadTimeout as exc:
        raise StreamBroken(f"no event for {stall:g} s") from exc
    except httpx.RequestError as exc:
        raise StreamBroken(f"the stream broke: {exc!r}") from exc
    raise StreamBroken("the stream ended before COMPLETED")


async def sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The data of each server-sent event, its `data:` lines joined (the SSE rules: comments and other fields
    skipped, one space after the colon dropped, an event dispatched at a blank line)."""
    parts: list[str] = []
    size = 0
    async for line in lines:
        if not line:
            if parts:
                yield "\n".join(parts)
            parts, size = [], 0
            continue
        if line.startswith(":"):
            continue  # a comment: a keep-alive
        name, _, value = line.partition(":")
        if name != "data":
            continue
        value = value[1:] if value.startswith(" ") else value
        size += len(value)
        if size > MAX_EVENT_BYTES:
            raise StreamBroken(f"an event longer than {MAX_EVENT_BYTES} bytes")
        parts.append(value)
    if parts:
        yield "\n".join(parts)  # the last event, cut off by the end of the stream without its blank line


def _status(data: str) -> QueueStatus:
    try:
        return parse_status(json.loads(data))
    except (ValueError, MalformedResponse) as exc:
        raise StreamBroken(f"an unreadable event: {data[:200]!r}") from exc
