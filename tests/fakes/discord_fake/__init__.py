"""A fake Discord (REST + gateway + CDN) on 127.0.0.1 that the real discord.py 2.7.1 client talks to."""

from tests.fakes.discord_fake.server import FakeDiscord, RecordedRequest
from tests.fakes.discord_fake.state import FakeChannel, FakeGuild, FakeInteraction, FakeMessage, FakeUser, RoleRef

__all__ = [
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMessage",
    "FakeUser",
    "RecordedRequest",
    "RoleRef",
]
