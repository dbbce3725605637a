"""Approvals and money as moderators and members meet them, through real discord.py and the fake Discord: the
request with both frames, its price and the approver role's ping; the card that waits for approval from the start;
what the deciding moderator is told; the costs on buttons; and a server that shows its members seconds only."""

from __future__ import annotations

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World
from tests.e2e.test_moderation_e2e import admin, buttons
from tests.e2e.test_sessions_e2e import first_video, videos
from tests.e2e.test_tiers_e2e import duration_suggestions
from tests.e2e.test_tween_e2e import ephemeral_text, run_tween
from tests.fakes.discord_fake import RoleRef
from tests.fakes.fal_server import JobScript

pytestmark = pytest.mark.e2e


async def approval_request(world: World, job_id: int):
    channel = world.discord.guild.log_channel.id
    return await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(channel) if f"tween:approve:{job_id}" in buttons(m)), None)
    )


def card_of(world: World, job_id: int):
    return next(
        m
        for m in world.discord.messages(world.discord.guild.channel.id)
        if m.embeds and m.embeds[0]["title"].startswith(f"🎬 Tween #{job_id}")
    )


def state_of(message) -> str:
    return next(f["value"] for f in message.embeds[0]["fields"] if f["name"] == "State")


async def test_approve_shows_the_frames_pings_the_approver_role_and_tells_the_moderator(world: World, tween: TweenBot):
    guild = world.discord.guild
    await admin(world, "settings", "log", channel=guild.log_channel)
    await admin(world, "settings", "approval", policy="always")
    shown = await admin(world, "settings", "approver", role=RoleRef(guild.mod_role_id))
    assert f"Approval requests now ping <@&{guild.mod_role_id}>" in shown
    assert f"**Approval requests ping:** <@&{guild.mod_role_id}>" in shown

    world.fal.script_next(JobScript(queue_seconds=None))  # it stays in fal's queue: the card can be read there
    asked = await run_tween(world, duration=7)
    assert "waits for a moderator's approval" in await world.discord.wait_for(lambda: ephemeral_text(asked))
    request = await approval_request(world, 1)
    card = card_of(world, 1)
    assert card.edits == 0 and "Waiting for a moderator's approval" in state_of(card)  # so from its first look

    assert request.content.startswith(f"<@&{guild.mod_role_id}> ") and "7 s ($0.784)" in request.content
    assert request.allowed_mentions == {"parse": [], "roles": [guild.mod_role_id]}  # that role, and only it
    embed = request.embeds[0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields == {
        "Asked by": f"<@{guild.member.id}>",
        "Where": f"<#{guild.channel.id}>",
        "Duration and price": "7 s ($0.784)",
        "Card": f"[Tween #1](https://discord.com/channels/{guild.id}/{guild.channel.id}/{card.id})",
    }
    assert embed["image"]["url"] == "attachment://frames.jpg"
    (frames,) = request.attachments
    assert frames.filename == "frames.jpg" and frames.data.startswith(b"\xff\xd8")
    assert frames.description and frames.description.startswith("The start frame, an arrow, and the end frame")

    pressed = await world.discord.click(request.id, "tween:approve:1", user=guild.admin)
    said = await world.discord.wait_for(lambda: ephemeral_text(pressed))
    assert said.startswith("✅ Approved, starting now: Tween #1") and f"<@{guild.member.id}>" in said
    assert pressed.ephemeral
    await world.discord.wait_for(lambda: world.fal.submits)
    await world.discord.wait_for(lambda: request.components == [] and "Approved" in str(request.embeds))
    assert request.attachments == [frames]  # the decision keeps the frames on the request
    await world.discord.wait_for(lambda: "✅ Approved · ⏳ In fal.ai's queue" in state_of(card_of(world, 1)))
    assert world.discord.spec_violations == []


async def test_deny_refunds_and_says_whose_seconds(world: World, tween: TweenBot):
    guild = world.discord.guild
    await admin(world, "settings", "approval", policy="over", seconds=5)
    await run_tween(world, duration=7)
    request = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(guild.channel.id) if m.components and m.content), None)
    )
    assert request.allowed_mentions == {"parse": []}  # no approver role set: nobody is pinged
    pressed = await world.discord.click(request.id, "tween:deny:1", user=guild.admin)
    said = await world.discord.wait_for(lambda: ephemeral_text(pressed))
    assert said.startswith("🚫 Denied Tween #1") and f"<@{guild.member.id}>'s 7 s ($0.784) were refunded" in said
    assert "the job's card now says so in one line" in said
    # Nothing was made: the card is one line, its empty thread is gone, and nothing else was posted.
    card = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(guild.channel.id) if m.content.startswith("-# 🚫")), None)
    )
    assert card.content == f"-# 🚫 Tween #1 by <@{guild.member.id}> was denied by <@{guild.admin.id}> · 7 s refunded"
    await world.discord.wait_for(lambda: world.discord.threads(guild.channel.id) == [])
    pot = await tween.services.budget.guild_pot(guild.id)
    assert (pot.spent_seconds, pot.reserved_seconds) == (0, 0)
    assert world.fal.submits == []


async def test_result_buttons_show_what_the_next_version_costs_and_a_vote_keeps_it(world: World, tween: TweenBot):
    _, video = await first_video(world)
    labels = [c["label"] for row in video.components for c in row["components"] if "custom_id" in c]
    assert labels == ["🔁 Re-roll · 5 s", "✏️ Remix · 5 s", "⇄ Swap frames · 5 s", "ℹ️ Details", "👍 0"]
    assert buttons(video) == ["tween:reroll:1", "tween:remix:1", "tween:swap:1", "tween:details:1", "tween:vote:1"]
    await world.discord.click(video.id, "tween:vote:1", user=world.discord.guild.member)

    def shown() -> list[str]:
        return [c["label"] for row in video.components for c in row["components"] if "custom_id" in c]

    await world.discord.wait_for(lambda: "👍 1" in shown())
    assert shown() == [*labels[:4], "👍 1"]  # the redraw kept the costs

    opened = await world.discord.click(video.id, "tween:remix:1", user=world.discord.guild.member)
    modal = await world.discord.wait_for(lambda: opened.modal())
    assert modal["title"] == "Remix Tween #1 · v1"
    assert "Duration in seconds (3–10, $0.112 each)" in str(modal["components"])


async def test_seconds_only_shows_members_no_dollars_but_moderators_keep_them(world: World, tween: TweenBot):
    guild = world.discord.guild
    await tween.tree.sync()
    shown = await admin(world, "settings", "prices", dollars=False)
    assert "Members now see seconds only" in shown and "**members see:** seconds only, no dollars" in shown
    assert "$" in shown  # the moderator's own view keeps the dollars

    asked = await run_tween(world)
    answer = await world.discord.wait_for(lambda: "on its way" in ephemeral_text(asked) and ephemeral_text(asked))
    assert "5 s from your allowance" in answer and "$" not in answer
    _, video = await first_video_after(world)
    assert "$" not in str(card_of(world, 1).embeds) and "$" not in str(video.embeds)
    assert [c["name"] for c in await duration_suggestions(world, "5")] == ["5 s"]
    quota = await world.discord.slash("quota", user=guild.member)
    embed = await world.discord.wait_for(lambda: quota.original and quota.original.embeds and quota.original.embeds[0])
    assert "$" not in str(embed) and "25 s left" in str(embed)
    opened = await world.discord.click(video.id, "tween:remix:1", user=guild.member)
    modal = await world.discord.wait_for(lambda: opened.modal())
    assert "Duration in seconds (3–10)" in str(modal["components"]) and "$" not in str(modal)
    await admin(world, "budget", "set", seconds=7)
    refused = await run_tween(world, duration=5)
    text = await world.discord.wait_for(lambda: ephemeral_text(refused))
    assert "2 s left" in text and "$" not in text
    assert world.discord.spec_violations == []


async def first_video_after(world: World):
    """The thread and v1 video of a /tween already run."""
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    video = await world.discord.wait_for(lambda: videos(world, thread.id) and videos(world, thread.id)[0], timeout=15)
    return thread, video
