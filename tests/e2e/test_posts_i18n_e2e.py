"""A server whose preferred language is German or Brazilian Portuguese sees Tween's public posts about a job in that
language: the card and its states, the result with its video, the buttons, the alt texts, and the one line left of
a job cancelled before fal started it. The marker in the footer stays as it is, so a restart still finds a result."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import i18n
from bot.app import TweenBot
from tests.e2e.conftest import World, run_bot
from tests.e2e.test_moderation_e2e import admin
from tests.e2e.test_sessions_e2e import first_video
from tests.e2e.test_tween_e2e import PROMPT, ephemeral_text, run_tween
from tests.fakes.fal_server import JobScript

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["de", "pt-BR"])
async def localized(world: World, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The bot, started in a server whose preferred locale is set (it arrives in GUILD_CREATE)."""
    world.discord.guild.locale = request.param
    async with run_bot(world) as bot:
        await bot.tree.sync()
        yield request.param


def say(locale: str, key: str, **values: object) -> str:
    return i18n.fill(i18n.catalog(locale)[f"message.posts.{key}"], values)


def labels(message) -> list[str]:
    return [c["label"] for row in message.components for c in row.get("components", [])]


async def test_card_result_buttons_and_alt_texts_speak_the_servers_language(world: World, localized: str):
    locale, channel = localized, world.discord.guild.channel
    thread, video = await first_video(world)
    card = next(m for m in world.discord.messages(channel.id) if m.id == thread.id)
    assert [f["name"] for f in card.embeds[0]["fields"]] == [
        say(locale, f"field.{name}") for name in ("state", "duration", "asked_by", "started")
    ]
    assert card.embeds[0]["footer"]["text"] == say(locale, "card.footer", marker="Tween job 1")
    assert card.attachments[0].description == say(locale, "alt.preview_both", job="Tween #1", prompt=PROMPT)

    result = video.embeds[0]
    assert result["title"] == say(locale, "result.title", job="Tween #1 · v1")
    assert result["footer"]["text"] == "Tween job 1"  # the marker a restart looks for, in every language
    assert [f["name"] for f in result["fields"]] == [
        say(locale, f"field.{n}") for n in ("duration", "asked_by", "took")
    ]
    assert video.attachments[0].description == say(
        locale, "alt.video_version", job="Tween #1", version=1, seconds=5, prompt=PROMPT
    )
    costing = [say(locale, f"button.{a}") + " · 5 s" for a in ("reroll", "remix", "swap")]
    assert labels(video) == [*costing, say(locale, "button.details"), "👍 0"]
    done = say(locale, "state.done", took="")
    await world.discord.wait_for(lambda: done in card.embeds[0]["fields"][0]["value"])
    await world.discord.wait_for(lambda: labels(card) == [say(locale, "watch.version", version=1)])

    # A vote redraws the buttons: they keep their language and the cost they showed.
    vote = await world.discord.click(video.id, "tween:vote:1", user=world.discord.guild.member)
    await world.discord.wait_for(lambda: ephemeral_text(vote))
    assert labels(video) == [*costing, say(locale, "button.details"), "👍 1"]
    assert world.discord.spec_violations == []


async def test_a_job_cancelled_before_fal_started_ends_in_one_line_in_the_servers_language(
    world: World, localized: str
):
    locale, guild = localized, world.discord.guild
    await admin(world, "settings", "caps", per_member=1, per_server=4)
    world.fal.script_next(JobScript(run_seconds=None))
    await run_tween(world)
    await world.discord.wait_for(lambda: world.fal.submits)
    await run_tween(world, duration=7)
    card = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(guild.channel.id) if "#2" in str(m.embeds)), None)
    )
    waiting = say(locale, "state.waiting", approved="", ahead=say(locale, "ahead.here_next"))
    await world.discord.wait_for(lambda: card.embeds and card.embeds[0]["fields"][0]["value"] == waiting)
    assert labels(card) == [say(locale, "button.cancel")]
    await world.discord.click(card.id, "tween:cancel:2", user=guild.member)
    member = f"<@{guild.member.id}>"
    line = say(locale, "ended.cancelled_by", job="Tween #2", member=member, by=member, seconds=7)
    await world.discord.wait_for(lambda: card.content == line)
    assert (card.embeds, card.attachments, card.components) == ([], [], [])
    if locale == "de":
        assert card.content.startswith(f"-# 🚫 Tween #2 von {member} wurde von {member} abgebrochen")
    world.fal.release(world.fal.submits[0].request_id)


async def test_an_english_server_still_gets_english_posts(world: World, tween: TweenBot):
    _, video = await first_video(world)
    assert video.embeds[0]["title"] == "🎬 Tween #1 · v1 is ready"
    assert labels(video)[0] == "🔁 Re-roll · 5 s"
