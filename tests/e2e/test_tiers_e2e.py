"""Every price a member sees is their server's own tier's, and the tiers come from the config table; through real
discord.py, the fake Discord (autocomplete included) and the fake fal."""

from __future__ import annotations

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World, run_bot
from tests.e2e.test_moderation_e2e import admin
from tests.e2e.test_sessions_e2e import first_video
from tests.e2e.test_tween_e2e import ephemeral_text, run_tween

pytestmark = pytest.mark.e2e

TURBO = """
[tiers.turbo]
endpoint = "fal-ai/kling-video/o1/turbo/image-to-video"
price_per_second = 0.05
min_duration = 4
max_duration = 6
default_duration = 5
input = "kling_o1"
"""


async def duration_suggestions(world: World, typed: str = "", guild=None) -> list[dict]:
    guild = guild or world.discord.guild
    typing = await world.discord.autocomplete("tween", user=guild.member, guild=guild, focused="duration", typed=typed)
    return await typing.wait_choices()


async def test_duration_picker_shows_the_servers_own_tier_prices(world: World, tween: TweenBot):
    await tween.tree.sync()
    pro = await duration_suggestions(world)
    assert [c["value"] for c in pro] == list(range(3, 11))
    assert pro[2] == {"name": "5 s · $0.56", "value": 5}
    assert "Model tier set to standard" in await admin(world, "settings", "tier", tier="standard")
    standard = await duration_suggestions(world)
    assert standard[2] == {"name": "5 s · $0.42", "value": 5}  # the pro price before the fix
    assert await duration_suggestions(world, "1") == [{"name": "10 s · $0.84", "value": 10}]
    other = world.discord.add_guild("Elsewhere")
    await world.discord.wait_for(lambda: tween.get_guild(other.id))
    assert (await duration_suggestions(world, "5", guild=other)) == [{"name": "5 s · $0.56", "value": 5}]
    assert world.discord.spec_violations == []


async def test_an_empty_budget_is_priced_at_the_servers_tier(world: World, tween: TweenBot):
    await admin(world, "settings", "tier", tier="standard")
    await admin(world, "budget", "set", seconds=4)
    refused = await run_tween(world, duration=5)
    text = await world.discord.wait_for(lambda: ephemeral_text(refused))
    assert "needs 5 s and the server's budget has 4 s ($0.336) left" in text  # $0.448 at the pro price before the fix
    assert world.fal.requests == []


async def test_the_tier_picker_lists_the_configured_tiers_and_a_new_one_is_only_config(world: World):
    async with run_bot(world, TURBO) as tween:
        await tween.tree.sync()
        typing = await world.discord.autocomplete(
            "tween-admin", user=world.discord.guild.admin, subcommand=("settings", "tier"), focused="tier"
        )
        assert await typing.wait_choices() == [
            {"name": "pro ($0.112/s)", "value": "pro"},
            {"name": "standard ($0.084/s)", "value": "standard"},
            {"name": "turbo ($0.05/s)", "value": "turbo"},
        ]
        text = await admin(world, "settings", "tier", tier="turbo")
        assert "Model tier set to turbo" in text and "60 s ($3.00)" in text
        assert await duration_suggestions(world) == [
            {"name": "4 s · $0.20", "value": 4},
            {"name": "5 s · $0.25", "value": 5},
            {"name": "6 s · $0.30", "value": 6},
        ]
        refused = await admin(world, "settings", "tier", tier="gold")
        assert "There is no tier called `gold` here. Pick one of: `pro`, `standard`, `turbo`." in refused
        assert (await tween.services.moderation.policy(world.discord.guild.id)).tier == "turbo"
        assert world.discord.spec_violations == []


async def test_the_remix_modal_names_the_servers_tier_range(world: World):
    async with run_bot(world, "[tiers.standard]\nmax_duration = 8\n"):
        await admin(world, "settings", "tier", tier="standard")
        _, video = await first_video(world)
        opened = await world.discord.click(video.id, "tween:remix:1", user=world.discord.guild.member)
        modal = await world.discord.wait_for(lambda: opened.modal())
        fields = {c["custom_id"]: c for row in modal["components"] for c in row.get("components", [])}
        assert fields["duration"]["label"] == "Duration in seconds (3–8, $0.084 each)"  # the tier's own price


async def test_buttons_get_the_same_refusals_as_commands(world: World):
    async with run_bot(world, "[abuse]\nactions = 2\nper_seconds = 60\n") as tween:
        _, video = await first_video(world)  # /tween is the member's first action
        member = world.discord.guild.member
        tween.closing = True
        try:
            closed = await world.discord.click(video.id, "tween:details:1", user=member)
            assert "Tween is restarting" in await world.discord.wait_for(lambda: ephemeral_text(closed))
        finally:
            tween.closing = False
        allowed = await world.discord.click(video.id, "tween:details:1", user=member)
        details = await world.discord.wait_for(lambda: allowed.original and allowed.original.embeds)
        assert "Tween #1" in details[0]["title"]
        throttled = await world.discord.click(video.id, "tween:details:1", user=member)
        text = await world.discord.wait_for(lambda: ephemeral_text(throttled))
        assert text.startswith("Slow down a little: you can use Tween again in")


async def test_typing_in_the_duration_picker_does_not_use_up_the_abuse_limit(world: World):
    async with run_bot(world, "[abuse]\nactions = 1\nper_seconds = 60\n") as tween:
        await tween.tree.sync()
        for typed in ("", "1", "5"):
            assert await duration_suggestions(world, typed)
        quota = await world.discord.slash("quota", user=world.discord.guild.member)
        assert (await world.discord.wait_for(lambda: quota.original)).embeds
