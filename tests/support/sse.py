"""Read a server-sent event stream over httpx in tests: each event or comment as it arrives, and how the body ended.

A background task reads the body into a queue, so a test can wait for the next item with a timeout (a stalled
stream) and go on reading afterwards. Only what fal uses is parsed: `data:` lines (joined by newlines) and `:`
comments; other fields are kept by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class SseItem:
    kind: str  # "event", "comment" or "end"
    data: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    error: BaseException | None = None  # for "end": None when the body ended cleanly, else why it broke

    def json(self) -> Any:
        return json.loads(self.data)


class SseReader:
    """The items of one open SSE response, in order; ends with one item of kind "end"."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._items: asyncio.Queue[SseItem] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump())

    async def next(self, timeout: float = 5.0) -> SseItem:
        """The next item; TimeoutError when none comes within `timeout` seconds (the reader goes on)."""
        return await asyncio.wait_for(self._items.get(), timeout)

    async def next_event(self, timeout: float = 5.0) -> SseItem:
        """The next event or the end, skipping comments."""
        while (item := await self.next(timeout)).kind == "comment":
            pass
        return item

    async def events_to_end(self, timeout: float = 5.0) -> tuple[list[dict[str, Any]], SseItem]:
        """Every remaining event's JSON data, and the end item."""
        events = []
        while (item := await self.next_event(timeout)).kind == "event":
            events.append(item.json())
        return events, item

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _pump(self) -> None:
        data: list[str] = []
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line == "":
                    if data or fields:
                        await self._items.put(SseItem("event", "\n".join(data), fields))
                    data, fields = [], {}
                elif line.startswith(":"):
                    await self._items.put(SseItem("comment", line[1:].strip()))
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "data":
                        data.append(value)
                    else:
                        fields[name] = value
        except (httpx.TransportError, httpx.StreamError) as exc:
            await self._items.put(SseItem("end", error=exc))
            return
        await self._items.put(SseItem("end"))


@contextlib.asynccontextmanager
async def open_sse(
    client: httpx.AsyncClient, url: str, *, headers: dict[str, str], params: dict[str, str] | None = None
) -> AsyncIterator[SseReader]:
    """GET url as an event stream; the reader's response is there for the status code and headers."""
    async with client.stream("GET", url, headers={"Accept": "text/event-stream", **headers}, params=params) as answer:
        reader = SseReader(answer)
        try:
            yield reader
        finally:
            await reader.close()
