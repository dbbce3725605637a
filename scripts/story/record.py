"""What the bot showed: every message it posted, edited or answered privately, as plain dicts, in order.

The fake Discord answers every create, edit and followup with `message_json`; the recording fake hooks there, so
each state of a message is kept the moment Discord would have shown it (a card that changes five times is five
snapshots, even if the bot edits faster than anyone could poll)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.discord_fake import FakeDiscord, FakeMessage
from tests.fakes.discord_fake.state import FakeAttachment

LOADING = 128  # a deferred "thinking…" answer: nothing to show yet

Event = dict[str, Any]


@dataclass
class Recording:
    """The story as events: {"kind": "step" | "action" | "message" | "modal" | "note" | "terminal", ...}."""

    events: list[Event] = field(default_factory=list)
    files: dict[str, FakeAttachment] = field(default_factory=dict)  # attachment id -> bytes, for the pictures
    names: dict[str, dict[str, str]] = field(default_factory=lambda: {"users": {}, "roles": {}, "channels": {}})
    _last: dict[int, Event] = field(default_factory=dict)

    def add(self, kind: str, **fields: Any) -> Event:
        event = {"kind": kind, "at": time.time(), **fields}
        self.events.append(event)
        return event

    def messages(self) -> list[Event]:
        return [e for e in self.events if e["kind"] == "message"]

    def latest(self) -> dict[int, Event]:
        """Each message as it looks at the end."""
        return dict(self._last)

    def saw(self, fake: FakeDiscord, message: FakeMessage) -> None:
        if message.flags & LOADING:
            return
        shown = snapshot(fake, message)
        before = self._last.get(message.id)
        if before is not None and _same(before, shown):
            return
        for attachment in message.attachments:
            self.files[str(attachment.id)] = attachment
        event = self.add("message", edit=before is not None, **shown)
        self._last[message.id] = event


def snapshot(fake: FakeDiscord, message: FakeMessage) -> dict[str, Any]:
    channel = fake.channels.get(message.channel_id)
    interaction = fake.interactions.get(message.interaction_id or 0)
    return {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "channel": channel.name if channel else "?",
        "thread": bool(channel and channel.type == 11),
        "author": "Tween",
        "content": message.content,
        "embeds": copy.deepcopy(message.embeds),
        "components": copy.deepcopy(message.components),
        "attachments": [
            {"id": str(a.id), "filename": a.filename, "size": a.size, "content_type": a.content_type or ""}
            for a in message.attachments
        ],
        "ephemeral": message.ephemeral,
        "to": interaction.user.name if interaction else None,
        "interaction": str(interaction.id) if interaction else None,
    }


def _same(a: Event, b: dict[str, Any]) -> bool:
    keys = ("content", "embeds", "components", "attachments", "channel_id")
    return all(a.get(k) == b.get(k) for k in keys)


class RecordingDiscord(FakeDiscord):
    """The e2e tests' fake Discord, unchanged, plus a recording of every message state it answered with, and
    extra guild roles (the fake's guild has only @everyone and a moderator role)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recording = Recording()
        self.extra_roles: dict[int, str] = {}

    def add_role(self, name: str) -> int:
        role_id = self.ids.next()
        self.extra_roles[role_id] = name
        return role_id

    def message_json(self, message: FakeMessage) -> dict[str, Any]:
        self.recording.saw(self, message)
        return super().message_json(message)

    def _guild_json(self, guild: Any) -> dict[str, Any]:
        data = super()._guild_json(guild)
        template = data["roles"][0]
        data["roles"] += [
            template | {"id": str(rid), "name": name, "position": 1 + n}
            for n, (rid, name) in enumerate(self.extra_roles.items())
        ]
        return data
