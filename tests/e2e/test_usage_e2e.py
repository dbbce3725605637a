"""/usage and /quota as a moderator meets them: one period and one count, names instead of ids, a CSV that keeps
ids whole, and a budget change that says what it did to the current period."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from PIL import Image

from bot.app import TweenBot
from bot.periods import period_bounds, to_db, utcnow
from tests.e2e.conftest import World
from tests.e2e.test_moderation_e2e import admin
from tests.e2e.test_tween_e2e import run_tween
from tests.support.stores import execute, query

pytestmark = pytest.mark.e2e


async def delivered(world: World, tween: TweenBot, count: int) -> list[tuple[int, int]]:
    """Wait until `count` jobs are delivered; their (id, seconds)."""
    target = tween.services.settings.storage.target

    def rows() -> list[tuple[int, int]] | None:
        found = query(target, "SELECT id, duration FROM jobs WHERE state = 'delivered' ORDER BY id")
        return found if len(found) >= count else None

    return await world.discord.wait_for(rows, timeout=20)


def backdate(tween: TweenBot, job_id: int, when: str) -> None:
    """As if the job had been asked for and charged at `when` (the bot cannot be given a clock from here)."""
    target = tween.services.settings.storage.target
    execute(target, "UPDATE ledger SET created_at = ? WHERE job_id = ?", (when, job_id))
    execute(target, "UPDATE jobs SET created_at = ?, finished_at = ? WHERE id = ?", (when, when, job_id))


async def quota_fields(world: World, user) -> dict[str, str]:
    interaction = await world.discord.slash("quota", user=user)
    embed = await world.discord.wait_for(
        lambda: interaction.original and interaction.original.embeds and interaction.original.embeds[0]
    )
    return {f["name"]: f["value"] for f in embed["fields"]}


async def usage_answer(world: World):
    interaction = await world.discord.slash("usage", user=world.discord.guild.admin)
    message = await world.discord.wait_for(
        lambda: interaction.original and interaction.original.attachments and interaction.original
    )
    return message, {a.filename: a for a in message.attachments}


async def test_usage_and_quota_count_the_same_period_after_the_reset_hour_moves(world: World, tween: TweenBot):
    now = utcnow()
    week_start, _ = period_bounds(now, "week", 0)
    if now < week_start + timedelta(hours=2):
        pytest.skip("needs the week to be past Monday 01:00 UTC, where the new reset hour puts its start")
    guild = world.discord.guild
    fan = world.discord.add_member(guild, "fan")
    await admin(world, "budget", "set", seconds=600, period="week", reset_hour=0)
    await run_tween(world, duration=5)
    [(first, _)] = await delivered(world, tween, 1)
    thread = next(iter(world.discord.threads(guild.channel.id)))
    # The fan makes a version inside the first job's thread: it counts under #general, not under the thread.
    await world.discord.slash(
        "tween-again", user=fan, channel_id=thread.id, options={"prompt": "now at night", "duration": 3}
    )
    await delivered(world, tween, 2)
    backdate(tween, first, to_db(week_start + timedelta(minutes=30)))

    text = await admin(world, "budget", "set", seconds=600, period="week", reset_hour=1)
    assert "The budget resets every Monday at 01:00 UTC." in text
    assert f"This week is now counted from <t:{int((week_start + timedelta(hours=1)).timestamp())}:f>" in text
    assert "3 s ($0.336) so far" in text and "The 5 s charged before that no longer count." in text

    fields = await quota_fields(world, guild.member)
    assert "spent 3 s" in fields["Server budget"] and "spent 0 s" in fields["Your allowance"]
    guild.members.remove(fan)  # the fan leaves before the moderator looks
    message, files = await usage_answer(world)
    assert "**3 s ($0.336)** charged of the server's 600 s" in message.content
    start = int((week_start + timedelta(hours=1)).timestamp())
    assert f"since <t:{start}:f>" in message.content and f"this period began <t:{start}:f>" in fields["Resets"]
    assert f"former member ({fan.id})" in message.content and "general 3 s" in message.content
    assert "Tween #" not in message.content  # the thread is counted under its channel

    rows = list(csv.DictReader(io.StringIO(files["tween-usage.csv"].data.decode("utf-8-sig"))))
    assert [r["job"] for r in rows] == [str(first + 1)]
    row = rows[0]
    assert row["member"] == f"former member ({fan.id})" and row["member_id"] == f'="{fan.id}"'
    assert row["channel"] == "#general" and row["channel_id"] == f'="{guild.channel.id}"'
    assert row["thread_id"] == f'="{thread.id}"' and row["prompt"] == "now at night"
    assert row["seconds_charged"] == "3" and row["usd_charged"] == "0.336"
    assert row["link"].startswith(f"https://discord.com/channels/{guild.id}/{thread.id}/")

    chart = files["usage.png"]
    assert Image.open(io.BytesIO(chart.data)).size[0] == 800
    assert chart.description and "3 s" in chart.description


async def test_usage_names_members_that_are_still_here(world: World, tween: TweenBot):
    await run_tween(world, duration=4)
    await delivered(world, tween, 1)
    message, files = await usage_answer(world)
    name = world.discord.guild.member.name.title()  # the member's display name as Discord sends it
    assert f"- {name} · 1 video · 4 s · $0.448" in message.content
    rows = list(csv.DictReader(io.StringIO(files["tween-usage.csv"].data.decode("utf-8-sig"))))
    assert rows[0]["member"] == name and rows[0]["channel"] == "#general"
    fields = await quota_fields(world, world.discord.guild.member)
    assert "spent 4 s" in fields["Server budget"]
