"""A page without a browser: sends what the page sends (the same HTTP endpoints) and reads the same live feed. Used by
`make demo-smoke`, the screenshots script and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import aiohttp

T = TypeVar("T")
Item = dict[str, Any]
Files = dict[str, tuple[str, bytes, str]]


class Page:
    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session
        self.messages: dict[str, Item] = {}  # message id -> its latest state, in order of first appearance
        self.channels: list[Item] = []
        self._changed = asyncio.Event()

    async def _listen(self) -> None:
        async with self.session.get(f"{self.base_url}/events", timeout=aiohttp.ClientTimeout(total=None)) as answer:
            async for raw in answer.content:
                line = raw.decode().strip()
                if not line.startswith("data: "):
                    continue
                item = json.loads(line[len("data: ") :])
                if item["type"] == "message":
                    self.messages[item["id"]] = item
                elif item["type"] == "channels":
                    self.channels = item["channels"]
                self._changed.set()

    async def wait_for(self, predicate: Callable[[], T], within: float = 30.0, what: str = "the page") -> T:
        """Look each time the feed changes until `predicate` holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not (found := predicate()):
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"timed out after {within:g} s waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return found

    # -- what the page sends ------------------------------------------------------------------------------------------

    async def command(
        self,
        command: str,
        *,
        as_: str = "member",
        options: dict[str, Any] | None = None,
        files: Files | None = None,
        channel: str | None = None,
    ) -> str:
        form = aiohttp.FormData()
        form.add_field("as", as_)
        if channel is not None:
            form.add_field("channel", channel)
        form.add_field("command", command)
        for name, value in (options or {}).items():
            form.add_field(f"opt:{name}", str(value))
        for name, (filename, data, content_type) in (files or {}).items():
            form.add_field(f"file:{name}", data, filename=filename, content_type=content_type)
        async with self.session.post(f"{self.base_url}/api/command", data=form) as answer:
            if answer.status != 200:
                raise AssertionError(f"/{command}: {answer.status} {await answer.text()}")
            return str((await answer.json())["interaction"])

    async def click(self, message: Item, label: str, *, as_: str = "member") -> Item:
        """Press the button whose label (or emoji) contains `label`."""
        button = next((b for b in message["buttons"] if label in b["label"] and b["custom_id"]), None)
        if button is None:
            raise AssertionError(f"no button {label!r} on {message['id']}: {[b['label'] for b in message['buttons']]}")
        body = {"as": as_, "message_id": message["id"], "custom_id": button["custom_id"]}
        return await self._post("/api/click", body)

    async def submit(self, opened: Item, values: dict[str, str], *, as_: str = "member") -> Item:
        return await self._post("/api/modal", {"as": as_, "interaction": opened["interaction"], "values": values})

    async def _post(self, path: str, body: Item) -> Item:
        async with self.session.post(f"{self.base_url}{path}", json=body) as answer:
            if answer.status != 200:
                raise AssertionError(f"{path}: {answer.status} {await answer.text()}")
            return dict(await answer.json())

    async def fetch(self, path: str) -> bytes:
        async with self.session.get(f"{self.base_url}{path}") as answer:
            answer.raise_for_status()
            return await answer.read()

    # -- what the page shows ------------------------------------------------------------------------------------------

    def answers_to(self, interaction: str) -> str:
        """The text of the private answers to one interaction (content and embeds)."""
        shown = [m for m in self.messages.values() if m["ephemeral"] and m.get("interaction") == interaction]
        return " ".join(text_of(m) for m in shown)

    def card(self) -> Item | None:
        return next((m for m in self.messages.values() if not m["ephemeral"] and m["embeds"] and not m["thread"]), None)

    def video(self) -> Item | None:
        return next((m for m in self.messages.values() if m["thread"] and m["videos"]), None)

    def in_channel(self, name: str) -> list[Item]:
        return [m for m in self.messages.values() if m["channel"] == name and not m["ephemeral"]]


def text_of(message: Item) -> str:
    parts = [message["content"]]
    for embed in message["embeds"]:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f.get('name', '')} {f.get('value', '')}" for f in embed.get("fields", [])]
    return " ".join(p for p in parts if p)


@contextlib.asynccontextmanager
async def page(base_url: str) -> AsyncIterator[Page]:
    """A page open on the sandbox: the feed is read in the background until the end."""
    async with aiohttp.ClientSession() as session:
        opened = Page(base_url, session)
        listening = asyncio.create_task(opened._listen())
        await opened.wait_for(lambda: opened.channels, 10, "the feed to open")
        try:
            yield opened
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await listening
