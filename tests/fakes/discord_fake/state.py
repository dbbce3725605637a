"""The fake Discord's in-memory world: guilds, channels, members, messages, interactions, and a clock."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
MANAGE_GUILD = 1 << 5
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31) | (1 << 35) | (1 << 38)
BOT_PERMISSIONS = MEMBER_PERMISSIONS
TIER_LIMITS = {0: 10 * 1024 * 1024, 1: 10 * 1024 * 1024, 2: 50 * 1024 * 1024, 3: 100 * 1024 * 1024}


class Snowflakes:
    """Ids made from the clock, so discord.py's created_at and expiry maths see real times."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)


class FakeClock:
    """Real time plus an offset a test can push forward (for the 3 s and 15 min deadlines)."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds


@dataclass
class FakeUser:
    id: int
    name: str
    bot: bool = False
    permissions: int = MEMBER_PERMISSIONS
    roles: list[int] = field(default_factory=list)
    locale: str = "en-US"  # the language of their Discord client: sent as an interaction's `locale`


@dataclass
class FakeChannel:
    id: int
    guild_id: int
    name: str
    type: int = 0
    parent_id: int | None = None
    message_id: int | None = None  # the message a thread started from
    owner_id: int | None = None


@dataclass(frozen=True)
class RoleRef:
    """A role as a slash-command option value."""

    id: int


@dataclass
class FakeAttachment:
    id: int
    filename: str
    content_type: str | None
    data: bytes
    url: str
    description: str | None = None  # alt text

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[FakeAttachment] = field(default_factory=list)
    flags: int = 0
    allowed_mentions: dict[str, Any] | None = None
    ephemeral: bool = False
    deleted: bool = False
    edits: int = 0
    interaction_id: int | None = None


@dataclass
class FakeGuild:
    id: int
    name: str
    premium_tier: int
    upload_limit: int
    channel: FakeChannel
    log_channel: FakeChannel
    mod_role_id: int
    owner: FakeUser
    admin: FakeUser
    member: FakeUser
    bot_user: FakeUser
    members: list[FakeUser] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    locale: str = "en-US"  # the server's preferred locale (Community servers set it in their settings)

    @property
    def everyone_role_id(self) -> int:
        return self.id


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int
    user: FakeUser
    guild: FakeGuild | None
    channel_id: int
    created: float  # FakeClock time
    dispatched_at: float  # real monotonic time
    message_id: int | None = None
    responses: list[dict[str, Any]] = field(default_factory=list)
    acked_after: float | None = None
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    ephemeral: bool = False
    deferred: bool = False
    focused: dict[str, Any] | None = None  # for autocomplete: the synced definition of the option being typed in

    def modal(self) -> dict[str, Any] | None:
        return next((r.get("data") for r in self.responses if r.get("type") == 9), None)

    async def wait_choices(self, timeout: float = 3.0) -> list[dict[str, Any]]:
        """The suggestions the bot answered an autocomplete interaction with."""
        from tests.fakes.discord_fake.autocomplete import choices_of
        from tests.support.waiting import wait_until

        await wait_until(lambda: choices_of(self.responses) is not None, timeout, what=f"choices for {self.id}")
        return choices_of(self.responses) or []

    async def wait_acked(self, timeout: float = 3.0) -> dict[str, Any]:
        from tests.support.waiting import wait_until

        await wait_until(lambda: self.responses, timeout, what=f"interaction {self.id} to be acknowledged")
        return self.responses[0]
