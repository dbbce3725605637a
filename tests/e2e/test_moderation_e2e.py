"""Budgets and moderation as members and moderators meet them, through real discord.py and the fake Discord."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World, run_bot
from tests.e2e.test_tween_e2e import ephemeral_text, frames, run_tween
from tests.fakes.fal_server import JobScript

pytestmark = pytest.mark.e2e


async def admin(world: World, *path: str, user=None, guild=None, **options):
    """Run /tween-admin <group> <command> as the guild's admin (or `user`) and return the private answer."""
    guild = guild or world.discord.guild
    interaction = await world.discord.slash(
        "tween-admin", user=user or guild.admin, guild=guild, subcommand=path, options=options
    )
    return await world.discord.wait_for(lambda: ephemeral_text(interaction))


def log_lines(world: World) -> list[str]:
    return [m.content for m in world.discord.messages(world.discord.guild.log_channel.id)]


def buttons(message) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row.get("components", [])]


async def test_quota_shows_what_is_left_and_when_it_resets(world: World, tween: TweenBot):
    interaction = await world.discord.slash("quota", user=world.discord.guild.member)
    embed = await world.discord.wait_for(
        lambda: interaction.original and interaction.original.embeds and interaction.original.embeds[0]
    )
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "60 s ($6.72)" in fields["Server budget"] and "█" * 20 in fields["Server budget"]
    assert "30 s ($3.36)" in fields["Your allowance"]
    assert "<t:" in fields["Resets"]
    assert interaction.ephemeral


async def test_members_without_manage_server_are_refused_at_run_time(world: World, tween: TweenBot):
    member = world.discord.guild.member
    text = await admin(world, "budget", "set", user=member, seconds=5)
    assert "Manage Server" in text
    usage = await world.discord.slash("usage", user=member)
    assert "Manage Server" in await world.discord.wait_for(lambda: ephemeral_text(usage))
    policy = await tween.services.moderation.policy(world.discord.guild.id)
    assert policy.guild_seconds == 60
    assert await tween.services.moderation.audit_log(world.discord.guild.id) == []


async def test_admin_changes_are_applied_audited_and_logged(world: World, tween: TweenBot):
    guild = world.discord.guild
    assert "Log channel updated" in await admin(world, "settings", "log", channel=guild.log_channel)
    text = await admin(world, "budget", "set", seconds=120, period="week")
    assert "Budget updated" in text and "120 s ($13.44) per week" in text
    await admin(world, "budget", "topup", seconds=30)
    await admin(world, "access", "block", member=guild.member, reason="spamming")
    await world.discord.wait_for(lambda: len(log_lines(world)) >= 3)
    lines = "\n".join(log_lines(world))
    assert "set the server budget to 120 s a week (was: 60 s a day)" in lines and "30 extra seconds" in lines
    assert f"blocked <@{guild.member.id}> from Tween (reason: spamming)" in lines and "=" not in lines
    for message in world.discord.messages(guild.log_channel.id):
        assert message.allowed_mentions == {"parse": []}, message.allowed_mentions  # mentions render, nobody pinged
    refused = await run_tween(world)
    assert "blocked" in await world.discord.wait_for(lambda: ephemeral_text(refused))
    assert world.fal.requests == []
    pot = await tween.services.budget.guild_pot(guild.id)
    assert (pot.limit_seconds, pot.extra_seconds) == (120, 30)


async def test_approval_buttons_approve_runs_deny_refunds(world: World, tween: TweenBot):
    guild = world.discord.guild
    await admin(world, "settings", "log", channel=guild.log_channel)
    await admin(world, "settings", "approval", policy="always")
    first = await run_tween(world)
    assert "approval" in await world.discord.wait_for(lambda: ephemeral_text(first))
    request = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(guild.log_channel.id) if m.components), None)
    )
    assert buttons(request) == ["tween:approve:1", "tween:deny:1"]
    assert world.fal.submits == []

    sneaky = await world.discord.click(request.id, "tween:approve:1", user=guild.member)
    assert "Manage Server" in await world.discord.wait_for(lambda: ephemeral_text(sneaky))
    await world.discord.click(request.id, "tween:approve:1", user=guild.admin)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads(guild.channel.id)), None))
    await world.discord.wait_for(lambda: any(m.attachments for m in world.discord.messages(thread.id)), timeout=15)
    assert request.components == []  # the decision closed the request

    await run_tween(world, duration=7)
    second = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(guild.log_channel.id) if "tween:deny:2" in buttons(m)), None)
    )
    await world.discord.click(second.id, "tween:deny:2", user=guild.admin)
    # Nothing was made: the card shrinks to one line (no frames, no buttons) and its empty thread goes away.
    card = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(guild.channel.id) if "denied" in m.content), None)
    )
    assert card.content == f"-# 🚫 Tween #2 by <@{guild.member.id}> was denied by <@{guild.admin.id}> · 7 s refunded"
    assert (card.embeds, card.attachments, card.components) == ([], [], [])
    await world.discord.wait_for(lambda: [t.id for t in world.discord.threads(guild.channel.id)] == [thread.id])
    assert len(world.fal.submits) == 1
    pot = await tween.services.budget.guild_pot(guild.id)
    assert (pot.spent_seconds, pot.reserved_seconds) == (5, 0)


async def test_queue_shows_waiting_jobs_and_the_card_cancel_button_refunds(world: World, tween: TweenBot):
    guild = world.discord.guild
    await admin(world, "settings", "caps", per_member=1, per_server=4)
    world.fal.script_next(JobScript(run_seconds=None))
    await run_tween(world)
    await world.discord.wait_for(lambda: world.fal.submits)
    waiting = await run_tween(world)
    assert "free slot" in await world.discord.wait_for(lambda: ephemeral_text(waiting))
    shown = await world.discord.slash("queue", user=guild.member, subcommand=("show",))
    embed = await world.discord.wait_for(lambda: shown.original and shown.original.embeds and shown.original.embeds[0])
    assert "#1" in embed["description"] and "#2" in embed["description"] and "Waiting" in embed["description"]

    card = next(m for m in world.discord.messages(guild.channel.id) if m.embeds[0]["title"].startswith("🎬 Tween #2"))
    assert buttons(card) == ["tween:cancel:2"]
    stranger = await world.discord.click(card.id, "tween:cancel:2", user=guild.owner)
    assert "only cancel your own" in await world.discord.wait_for(lambda: ephemeral_text(stranger))
    mine = await world.discord.click(card.id, "tween:cancel:2", user=guild.member)
    assert "refunded" in await world.discord.wait_for(lambda: ephemeral_text(mine))
    await world.discord.wait_for(lambda: "was cancelled by" in card.content and card.components == [])
    assert card.embeds == [] and card.attachments == []  # nothing was made: one line is left of the card
    world.fal.release(world.fal.submits[0].request_id)
    pot = await tween.services.budget.guild_pot(guild.id)
    assert pot.reserved_seconds in (0, 5) and len(world.fal.submits) == 1


async def test_usage_sends_a_chart_and_a_csv(world: World, tween: TweenBot):
    await run_tween(world)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    await world.discord.wait_for(lambda: any(m.attachments for m in world.discord.messages(thread.id)), timeout=15)
    usage = await world.discord.slash("usage", user=world.discord.guild.admin)
    message = await world.discord.wait_for(lambda: usage.original and usage.original.attachments and usage.original)
    files = {a.filename: a for a in message.attachments}
    assert files["usage.png"].data.startswith(b"\x89PNG")
    csv_text = files["tween-usage.csv"].data.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("job,asked_at_utc") and ",delivered," in csv_text
    assert "5 s" in message.content


async def test_fifty_members_at_once_against_a_budget_for_ten(world: World):
    guild = world.discord.guild
    members = [world.discord.add_member(guild, f"fan{n}") for n in range(50)]
    async with run_bot(world, "[budget]\ndefault_seconds = 50\n") as tween:
        interactions = await asyncio.gather(*(run_tween(world, user=m, files=frames()) for m in members))
        texts = await world.discord.wait_for(
            lambda: all(ephemeral_text(i) for i in interactions) and [ephemeral_text(i) for i in interactions],
            timeout=60,
        )
        accepted = [t for t in texts if "reserved" in t or "on its way" in t]
        refused = [t for t in texts if "This video needs 5 s and" in t]
        assert (len(accepted), len(refused)) == (10, 40)
        await world.discord.wait_for(lambda: len(world.fal.submits) == 10, timeout=60)
        pot = await tween.services.budget.guild_pot(guild.id)
        assert pot.reserved_seconds + pot.spent_seconds == 50 and pot.remaining_seconds == 0
    assert len(world.fal.submits) == 10


async def test_another_guild_cannot_touch_this_guilds_jobs(world: World, tween: TweenBot):
    world.fal.script_next(JobScript(queue_seconds=None))
    await run_tween(world)
    await world.discord.wait_for(lambda: world.fal.submits)
    other = world.discord.add_guild("Elsewhere")
    await world.discord.wait_for(lambda: tween.get_guild(other.id))
    attempt = await world.discord.slash(
        "queue", user=other.admin, guild=other, subcommand=("cancel",), options={"job": 1}
    )
    assert "can't find that job" in await world.discord.wait_for(lambda: ephemeral_text(attempt))
    shown = await world.discord.slash("queue", user=other.admin, guild=other, subcommand=("show",))
    embed = await world.discord.wait_for(lambda: shown.original and shown.original.embeds and shown.original.embeds[0])
    assert "Nothing is running" in embed["description"]
    assert world.fal.cancelled == set()


async def test_a_member_hammering_commands_and_buttons_is_slowed_down(world: World):
    async with run_bot(world, "[abuse]\nactions = 3\nper_seconds = 60\n"):
        member = world.discord.guild.member
        answers = []
        for _ in range(4):
            ix = await world.discord.slash("quota", user=member)
            answers.append(await world.discord.wait_for(lambda ix=ix: ix.original))
        assert [bool(a.embeds) for a in answers] == [True, True, True, False]
        assert "Slow down" in answers[3].content
        other = await world.discord.slash("quota", user=world.discord.guild.admin)
        assert (await world.discord.wait_for(lambda: other.original)).embeds  # others are not affected
