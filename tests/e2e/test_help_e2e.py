"""/help through real discord.py: private, with the member's allowance now, the frame rules and whom to ask."""

from __future__ import annotations

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World
from tests.e2e.test_moderation_e2e import admin
from tests.e2e.test_tween_e2e import run_tween

pytestmark = pytest.mark.e2e


async def help_fields(world: World, user=None) -> dict[str, str]:
    interaction = await world.discord.slash("help", user=user or world.discord.guild.member)
    embed = await world.discord.wait_for(
        lambda: interaction.original and interaction.original.embeds and interaction.original.embeds[0]
    )
    assert interaction.ephemeral and interaction.original.allowed_mentions == {"parse": []}
    return {f["name"]: f["value"] for f in embed["fields"]} | {"": embed["description"]}


async def test_help_explains_tween_and_the_members_allowance(world: World, tween: TweenBot):
    fields = await help_fields(world)
    assert "**start** frame (required)" in fields["Make a video"] and "/tween-again" in fields["Make a video"]
    assert "**@Image1** is your start frame" in fields["@Image1 and @Image2"]
    assert "10 MB" in fields["Frames"] and "at least 300 px a side" in fields["Frames"] and "0.40" in fields["Frames"]
    assert "You can make up to **30 s**" in fields["Your allowance now"]  # the member's 30 s of the server's 60
    price = next(v for k, v in fields.items() if k.startswith("Lengths and price"))
    assert "3–10 s" in price and "$0.112 per second" in price
    assert "Manage Server" in fields["Questions?"] and "approval" not in fields["Questions?"]


async def test_help_counts_what_was_spent_and_names_the_approval_rule(world: World, tween: TweenBot):
    guild = world.discord.guild
    await admin(world, "settings", "approval", policy="over", seconds=8)
    await admin(world, "settings", "log", channel=guild.log_channel)
    interaction = await run_tween(world, duration=5)
    await world.discord.wait_for(lambda: len(world.fal.submits) == 1)
    assert interaction is not None
    fields = await help_fields(world)
    assert "You can make up to **25 s**" in fields["Your allowance now"]
    asked = fields["Questions?"]
    assert "videos longer than 8 s wait for a moderator's approval before starting" in asked
    assert f"<#{guild.log_channel.id}>" in asked
