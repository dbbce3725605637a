"""Collaborative iteration in a thread, through real discord.py: buttons, the remix modal, /history, restarts."""

from __future__ import annotations

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World, run_bot
from tests.e2e.test_moderation_e2e import buttons
from tests.e2e.test_tween_e2e import PROMPT, ephemeral_text, frames, run_tween
from tests.support.images import image_bytes
from tests.support.stores import execute, query

pytestmark = pytest.mark.e2e


async def first_video(world: World):
    """/tween in the channel; returns the thread and the v1 video message."""
    await run_tween(world)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    video = await world.discord.wait_for(lambda: videos(world, thread.id) and videos(world, thread.id)[0], timeout=15)
    return thread, video


def videos(world: World, thread_id: int) -> list:
    return [m for m in world.discord.messages(thread_id) if any(a.filename.endswith(".mp4") for a in m.attachments)]


async def test_result_buttons_and_a_reroll_by_another_member_who_pays(world: World, tween: TweenBot):
    thread, video = await first_video(world)
    assert buttons(video) == ["tween:reroll:1", "tween:remix:1", "tween:swap:1", "tween:details:1", "tween:vote:1"]
    assert "v1" in video.embeds[0]["title"]
    bob = world.discord.add_member(world.discord.guild, "bob")
    press = await world.discord.click(video.id, "tween:reroll:1", user=bob)
    assert "on its way" in await world.discord.wait_for(lambda: ephemeral_text(press))
    second = await world.discord.wait_for(
        lambda: len(videos(world, thread.id)) == 2 and videos(world, thread.id)[1], timeout=15
    )
    assert "v2" in second.embeds[0]["title"] and "is ready" in second.embeds[0]["title"]
    # One message per version: v2's card became its result, and nobody is pinged for their own re-roll.
    assert [m.id for m in world.discord.messages(thread.id)] == [video.id, second.id]
    assert second.content == "" and second.allowed_mentions == {"parse": []}
    assert [a.filename for a in second.attachments] == ["tween-2.mp4"]  # the frames preview gave way to the video
    assert buttons(second) == ["tween:reroll:2", "tween:remix:2", "tween:swap:2", "tween:details:2", "tween:vote:2"]
    card = next(m for m in world.discord.messages(world.discord.guild.channel.id) if m.id == thread.id)
    await world.discord.wait_for(lambda: "Done in" in str(card.embeds))  # the channel card links to its result
    assert card.components[0]["components"][0] == {
        "type": 2,
        "style": 5,
        "disabled": False,
        "label": "▶ Watch v1",
        "url": f"https://discord.com/channels/{world.discord.guild.id}/{thread.id}/{video.id}",
    }
    assert world.fal.submits[1].body == world.fal.submits[0].body
    assert len(world.discord.threads()) == 1  # the re-roll stayed in the thread
    bobs = await tween.services.budget.overview(_requester(world, bob.id, thread.id))
    alices = await tween.services.budget.overview(_requester(world, world.discord.guild.member.id, thread.id))
    assert (bobs.member.spent_seconds, alices.member.spent_seconds) == (5, 5)


async def test_tween_again_inside_the_thread_reuses_frames_and_prompt(world: World, tween: TweenBot):
    thread, _ = await first_video(world)
    again = await world.discord.slash(
        "tween-again", user=world.discord.guild.admin, channel_id=thread.id, options={"duration": 4}
    )
    assert "on its way" in await world.discord.wait_for(lambda: ephemeral_text(again))
    await world.discord.wait_for(lambda: len(videos(world, thread.id)) == 2, timeout=15)
    first, second = world.fal.submits
    assert second.body == first.body | {"duration": "4"}
    assert second.body["prompt"] == PROMPT
    assert "v2" in videos(world, thread.id)[1].embeds[0]["title"]


async def test_tween_again_outside_a_thread_points_to_tween_and_spends_nothing(world: World, tween: TweenBot):
    member = world.discord.guild.member
    here = await world.discord.slash("tween-again", user=member, options={"prompt": PROMPT})
    refusal = await world.discord.wait_for(lambda: ephemeral_text(here))
    assert "inside a Tween thread" in refusal and "/tween" in refusal
    assert world.fal.submits == []
    view = await tween.services.budget.overview(_requester(world, member.id, world.discord.guild.channel.id))
    assert view.member.reserved_seconds == view.member.spent_seconds == 0


async def test_tween_with_new_frames_inside_the_thread_is_its_next_version(world: World, tween: TweenBot):
    thread, _ = await first_video(world)
    fresh = frames(image_bytes(360, 640), image_bytes(360, 640, "JPEG", (200, 40, 40)))
    new = await world.discord.slash(
        "tween", user=world.discord.guild.member, channel_id=thread.id, options={"prompt": "spin"}, attachments=fresh
    )
    assert "on its way" in await world.discord.wait_for(lambda: ephemeral_text(new))
    await world.discord.wait_for(lambda: len(videos(world, thread.id)) == 2, timeout=15)
    first, second = world.fal.submits
    assert second.body["prompt"] == "spin" and second.body["start_image_url"] != first.body["start_image_url"]
    assert "v2" in videos(world, thread.id)[1].embeds[0]["title"] and len(world.discord.threads()) == 1


async def test_tween_without_its_start_frame_is_not_something_discord_sends(world: World, tween: TweenBot):
    with pytest.raises(AssertionError, match="required option"):
        await world.discord.slash("tween", user=world.discord.guild.member, options={"prompt": PROMPT})


async def test_remix_modal_is_prefilled_refuses_bad_input_and_remixes(world: World, tween: TweenBot):
    thread, video = await first_video(world)
    opened = await world.discord.click(video.id, "tween:remix:1", user=world.discord.guild.member)
    modal = await world.discord.wait_for(lambda: opened.modal())
    fields = {c["custom_id"]: c for row in modal["components"] for c in row.get("components", [row.get("component")])}
    assert fields["prompt"]["value"] == PROMPT and fields["duration"]["value"] == "5"

    for typed in ("soon", "0", "²", "11"):  # "0" once fell back to the old duration; "²" is a digit to Python
        bad = await world.discord.submit_modal(
            opened, {"prompt": "at sunset", "duration": typed}, user=world.discord.guild.member
        )
        refusal = await world.discord.wait_for(lambda bad=bad: ephemeral_text(bad))
        assert "Pick a duration from 3 to 10" in refusal, typed
    assert len(world.fal.submits) == 1

    long_prompt = "\n".join(f"[line {i}](https://example.com) @everyone" for i in range(1250))[:2500]
    good = await world.discord.submit_modal(
        opened, {"prompt": long_prompt, "duration": "7"}, user=world.discord.guild.member
    )
    assert "on its way" in await world.discord.wait_for(lambda: ephemeral_text(good))
    await world.discord.wait_for(lambda: len(videos(world, thread.id)) == 2, timeout=15)
    card = videos(world, thread.id)[1].embeds[0]["description"]
    assert "shortened" in card and "@everyone" not in card
    assert card.count("> \\[line") == card.count("](https") == 8  # every masked link escaped: shown, not followed

    again = await world.discord.click(video.id, "tween:remix:1", user=world.discord.guild.member)
    await world.discord.wait_for(lambda: again.modal())
    good = await world.discord.submit_modal(
        again, {"prompt": f"{PROMPT} at sunset", "duration": "7"}, user=world.discord.guild.member
    )
    assert "on its way" in await world.discord.wait_for(lambda: ephemeral_text(good))
    await world.discord.wait_for(lambda: len(videos(world, thread.id)) == 3, timeout=15)
    assert world.fal.submits[2].body["prompt"].endswith("at sunset") and world.fal.submits[2].body["duration"] == "7"


async def test_votes_history_and_details(world: World, tween: TweenBot):
    thread, video = await first_video(world)
    guild = world.discord.guild
    await world.discord.click(video.id, "tween:reroll:1", user=guild.admin)
    second = await world.discord.wait_for(
        lambda: len(videos(world, thread.id)) == 2 and videos(world, thread.id)[1], timeout=15
    )
    vote = await world.discord.click(second.id, "tween:vote:2", user=guild.member)
    assert "Vote counted" in await world.discord.wait_for(lambda: ephemeral_text(vote))
    labels = [c["label"] for row in second.components for c in row["components"]]
    assert labels[-1] == "👍 1"

    history = await world.discord.slash("history", user=guild.member, channel_id=thread.id)
    embed = await world.discord.wait_for(
        lambda: history.original and history.original.embeds and history.original.embeds[0]
    )
    text = embed["description"]
    assert "**v1**" in text and "**v2**" in text and "re-roll" in text and "⭐" in text and "1 👍" in text
    where = f"https://discord.com/channels/{guild.id}/{thread.id}"
    assert f"{where}/{video.id}" in text and f"{where}/{second.id}" in text  # both versions live in the thread
    assert "⭐ Favourite" in [f["name"] for f in embed["fields"]]

    details = await world.discord.click(second.id, "tween:details:2", user=guild.member)
    shown = await world.discord.wait_for(
        lambda: details.original and details.original.embeds and details.original.embeds[0]
    )
    values = " ".join(f["value"] for f in shown["fields"])
    assert world.fal.submits[1].request_id in values and details.ephemeral


async def test_buttons_keep_working_after_a_restart(world: World):
    async with run_bot(world):
        thread, video = await first_video(world)
    async with run_bot(world):
        await world.discord.wait_ready(sessions=2)
        press = await world.discord.click(video.id, "tween:swap:1", user=world.discord.guild.member)
        assert "on its way" in await world.discord.wait_for(lambda: ephemeral_text(press))
        await world.discord.wait_for(lambda: len(videos(world, thread.id)) == 2, timeout=15)
    first, second = world.fal.submits
    assert (second.body["start_image_url"], second.body["end_image_url"]) == (
        first.body["end_image_url"],
        first.body["start_image_url"],
    )


def _requester(world: World, user_id: int, thread_id: int):
    from bot.models import Requester

    return Requester(
        guild_id=world.discord.guild.id,
        user_id=user_id,
        channel_id=thread_id,
        parent_channel_id=world.discord.guild.channel.id,
    )


async def test_buttons_obey_the_same_moderation_as_tween(world: World, tween: TweenBot):
    _thread, video = await first_video(world)
    guild = world.discord.guild
    bob = world.discord.add_member(guild, "bob")
    blocked = await world.discord.slash(
        "tween-admin", user=guild.admin, subcommand=("access", "block"), options={"member": bob}
    )
    await world.discord.wait_for(lambda: ephemeral_text(blocked))
    press = await world.discord.click(video.id, "tween:reroll:1", user=bob)
    assert "blocked" in await world.discord.wait_for(lambda: ephemeral_text(press))
    # The bot handles each interaction in its own task: the pause must be answered (applied) before the click.
    paused = await world.discord.slash("tween-admin", user=guild.admin, subcommand=("access", "pause"))
    await world.discord.wait_for(lambda: ephemeral_text(paused))
    remix = await world.discord.click(video.id, "tween:swap:1", user=guild.member)
    assert "paused" in await world.discord.wait_for(lambda: ephemeral_text(remix))
    assert len(world.fal.submits) == 1


async def test_a_restart_after_a_card_became_its_result_finds_it_and_posts_nothing_twice(world: World):
    async with run_bot(world):
        thread, video = await first_video(world)
        await world.discord.click(video.id, "tween:reroll:1", user=world.discord.guild.member)
        second = await world.discord.wait_for(
            lambda: len(videos(world, thread.id)) == 2 and videos(world, thread.id)[1], timeout=15
        )
    # As if the process died right after the edit, before the job was marked delivered.
    execute(world.store, "UPDATE jobs SET state = 'delivering', result_message_id = NULL WHERE id = 2")
    edits = second.edits
    async with run_bot(world):
        await world.discord.wait_ready(sessions=2)

        def state() -> tuple[str, int | None]:
            return query(world.store, "SELECT state, result_message_id FROM jobs WHERE id = 2")[0]

        assert await world.discord.wait_for(lambda: state()[0] == "delivered" and state()) == ("delivered", second.id)
    assert [m.id for m in world.discord.messages(thread.id)] == [video.id, second.id] and second.edits == edits
    assert len(world.fal.submits) == 2
