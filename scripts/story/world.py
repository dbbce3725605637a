"""The stage: the fake Discord (recording) and the fake fal on 127.0.0.1, the cast, and the real bot, started
exactly as the e2e tests start them (tests/e2e/conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bot.app import TweenBot
from scripts.story.record import RecordingDiscord
from tests.e2e.conftest import World, run_bot
from tests.fakes.discord_fake import FakeUser
from tests.fakes.discord_fake.state import MANAGE_GUILD, MEMBER_PERMISSIONS
from tests.fakes.fal_server import FakeFal, JobScript

# fal's queue and run shortened to about a second each, long enough for the card to show each state.
PACE = JobScript(queue_seconds=0.9, queue_position=2, run_seconds=0.6)


@dataclass
class Cast:
    mira: FakeUser  # a new member
    jonas: FakeUser  # another member
    kai: FakeUser  # a member whose role (New) has no seconds
    ravi: FakeUser  # a moderator (Manage Server)
    new_role: int


@dataclass
class Stage:
    world: World
    cast: Cast

    @property
    def discord(self) -> RecordingDiscord:
        assert isinstance(self.world.discord, RecordingDiscord)
        return self.world.discord

    @property
    def fal(self) -> FakeFal:
        return self.world.fal


@contextlib.asynccontextmanager
async def stage(folder: Path) -> AsyncIterator[Stage]:
    """Both fakes running, the guild dressed as Pixel Garden with its people; the bot is not started yet."""
    async with RecordingDiscord() as discord_fake, FakeFal(key="story-fal-key", default_script=PACE) as fal:
        guild = discord_fake.guild
        guild.name = "Pixel Garden"
        new_role = discord_fake.add_role("New")
        cast = Cast(
            mira=discord_fake.add_member(guild, "mira"),
            jonas=discord_fake.add_member(guild, "jonas"),
            kai=discord_fake.add_member(guild, "kai", roles=[new_role]),
            ravi=discord_fake.add_member(
                guild, "ravi", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD, roles=[guild.mod_role_id]
            ),
            new_role=new_role,
        )
        yield Stage(World(discord_fake, fal, folder), cast)


@contextlib.asynccontextmanager
async def bot(stage: Stage, extra_toml: str = "") -> AsyncIterator[TweenBot]:
    async with run_bot(stage.world, extra_toml) as tween:
        yield tween


def names(stage: Stage) -> dict[str, dict[str, str]]:
    """How mentions are shown: each member's display name, each role's and channel's name."""
    fake, guild = stage.discord, stage.discord.guild
    users = {str(u.id): u.name.title() for u in guild.members}
    users[str(fake.bot_user.id)] = "Tween"
    roles = {str(guild.id): "@everyone", str(guild.mod_role_id): "Moderator"}
    roles |= {str(rid): name for rid, name in fake.extra_roles.items()}
    channels = {str(c.id): c.name for c in fake.channels.values()}
    return {"users": users, "roles": roles, "channels": channels}
