"""The page's live feed: every state of every message the bot showed, as the fake Discord recorded it, rendered to
HTML by the story's Discord-styled renderer and pushed to each open page as server-sent events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sandbox.stage import Sandbox
from scripts.story import html
from scripts.story.markdown import Context
from scripts.story.poster import first_frame
from scripts.story.record import Event

Item = dict[str, Any]


class Feed:
    def __init__(self, world: Sandbox) -> None:
        self.world = world
        self.used: dict[str, str] = {}  # interaction id -> the command the page ran, for the "used /tween" line
        self._seen = 0
        self._queues: list[asyncio.Queue[Item]] = []
        world.discord.listeners.append(self._changed)

    # -- what is there --------------------------------------------------------------------------------------------

    def items(self) -> list[Item]:
        """Each message as it looks now, in the order they first appeared."""
        return [self.item(event) for event in self.world.discord.recording.latest().values()]

    def item(self, event: Event) -> Item:
        files: html.Files = {}
        for attachment in event["attachments"]:
            files[attachment["id"]] = f"/files/{attachment['id']}"
            files[f"{attachment['id']}:poster"] = f"/files/{attachment['id']}/poster"
        shown = event | {"used": self.used.get(event.get("interaction") or "")}
        rendered = html.message(shown, Context(self.world.names(), now=event["at"]), files)
        channel = self.world.discord.channels.get(int(event["channel_id"]))
        return {
            "id": event["id"],
            "channel_id": event["channel_id"],
            "channel": event["channel"],
            "parent_id": str(channel.parent_id) if channel and channel.parent_id else None,
            "thread": event["thread"],
            "ephemeral": event["ephemeral"],
            "to": event["to"],
            "interaction": event["interaction"],
            "html": rendered,
            "buttons": buttons(event["components"]),
            "videos": [a["id"] for a in event["attachments"] if is_video(a)],
            "content": event["content"],
            "embeds": event["embeds"],
        }

    def channels(self) -> list[Item]:
        """#general, #mod-log and every thread, threads under their parent."""
        found = [
            {"id": str(c.id), "name": c.name, "thread": c.type == 11, "parent_id": str(c.parent_id or "")}
            for c in self.world.discord.channels.values()
            if c.guild_id == self.world.discord.guild.id
        ]
        return sorted(found, key=lambda c: (c["name"] != "general", c["thread"]))

    def file(self, attachment_id: str) -> tuple[bytes, str, str] | None:
        found = self.world.discord.recording.files.get(attachment_id)
        if found is None:
            return None
        return found.data, found.content_type or "application/octet-stream", found.filename

    def poster(self, attachment_id: str) -> Path | None:
        found = self.world.discord.recording.files.get(attachment_id)
        if found is None:
            return None
        folder = self.world.folder / "posters"
        folder.mkdir(exist_ok=True)
        video, poster = folder / f"{attachment_id}.mp4", folder / f"{attachment_id}.jpg"
        if not poster.exists():
            video.write_bytes(found.data)
            if not first_frame(video, poster):
                return None
        return poster

    # -- telling the pages ----------------------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[Item]:
        queue: asyncio.Queue[Item] = asyncio.Queue()
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Item]) -> None:
        self._queues.remove(queue)

    def _changed(self) -> None:
        events = self.world.discord.recording.events
        fresh = [e for e in events[self._seen :] if e["kind"] == "message"]
        self._seen = len(events)
        for event in fresh:
            self.publish({"type": "message", **self.item(event)})
        if fresh:
            self.publish({"type": "channels", "channels": self.channels()})

    def publish(self, item: Item) -> None:
        for queue in self._queues:
            queue.put_nowait(item)


def sse(item: Item) -> bytes:
    return f"data: {json.dumps(item, ensure_ascii=False)}\n\n".encode()


def buttons(rows: list[dict[str, Any]]) -> list[Item]:
    """Every component in the order the renderer draws them (one `.button` each), with what pressing it needs."""
    found = []
    for row in rows:
        for c in row.get("components", []) if row.get("type") == 1 else []:
            found.append(
                {
                    "type": c.get("type"),
                    "custom_id": c.get("custom_id"),
                    "url": c.get("url"),
                    "label": c.get("label") or (c.get("emoji") or {}).get("name", ""),
                    "disabled": bool(c.get("disabled")),
                }
            )
    return found


def is_video(attachment: dict[str, Any]) -> bool:
    name = attachment["filename"].lower()
    return name.endswith(html.VIDEO_TYPES) or str(attachment.get("content_type", "")).startswith("video/")
