"""Every user-visible flow of /tween through the real discord.py client, the fake Discord and the fake fal."""

from __future__ import annotations

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World, run_bot
from tests.fakes.fal_server import JobScript
from tests.support import media
from tests.support.images import animated_png, image_bytes
from tests.support.waiting import read_until

pytestmark = pytest.mark.e2e

PROMPT = "@Image1 slowly turns into @Image2"


def frames(start: bytes | None = None, end: bytes | None = None) -> dict[str, tuple[str, bytes, str]]:
    return {
        "start": ("start.png", start or image_bytes(640, 360), "image/png"),
        "end": ("end.jpg", end or image_bytes(640, 360, "JPEG", (20, 100, 220)), "image/jpeg"),
    }


def no_ping_possible(allowed: dict | None) -> bool:
    """True when Discord would ping nobody, or only explicitly listed users, for this body."""
    if allowed is None:
        return False
    return not allowed.get("parse") and not allowed.get("roles") and not allowed.get("replied_user")


async def run_tween(world: World, *, user=None, prompt: str = PROMPT, duration: int | None = 5, files=None):
    options: dict[str, object] = {"prompt": prompt}
    if duration is not None:
        options["duration"] = duration
    return await world.discord.slash(
        "tween", user=user or world.discord.guild.member, options=options, attachments=files or frames()
    )


def ephemeral_text(interaction) -> str:
    messages = [interaction.original, *interaction.followups]
    return " ".join(m.content for m in messages if m is not None and m.content)


async def test_happy_path_video_lands_in_the_thread(world: World, tween: TweenBot):
    interaction = await run_tween(world)
    ack = await interaction.wait_acked()
    assert ack["type"] == 5 and ack["data"]["flags"] == 64  # deferred, privately
    assert interaction.acked_after is not None and interaction.acked_after < 3

    channel = world.discord.guild.channel
    card = await world.discord.wait_for(lambda: next(iter(world.discord.messages(channel.id)), None))
    assert card.embeds[0]["title"].startswith("🎬 Tween #1")
    assert card.attachments[0].filename == "frames.jpg"
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads(channel.id)), None))

    video_message = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(thread.id) if m.attachments), None), timeout=15
    )
    (submit,) = world.fal.submits
    assert submit.body["duration"] == "5" and submit.body["prompt"] == PROMPT
    assert set(submit.fetched_images) == {"start_image_url", "end_image_url"}
    assert video_message.attachments[0].data == world.fal.video_bytes(submit.request_id)
    assert video_message.attachments[0].filename == "tween-1.mp4"
    # Alt text a screen reader says: what each picture is, and the prompt.
    assert (
        card.attachments[0].description == f"The start frame, an arrow, and the end frame of Tween #1. Prompt: {PROMPT}"
    )
    assert video_message.attachments[0].description == f"Tween #1, version 1, a 5 second video. Prompt: {PROMPT}"
    await world.discord.wait_for(lambda: "✅ Done" in str(world.discord.messages(channel.id)[0].embeds))
    # The answer to the member and the job's own progress are sent by different tasks.
    assert "on its way" in await world.discord.wait_for(lambda: ephemeral_text(interaction))
    assert world.discord.spec_violations == []


def start_only(data: bytes, name: str = "s.png", content_type: str = "image/png") -> dict:
    return {"start": (name, data, content_type)}


BAD_INPUTS = [
    (start_only(image_bytes(200, 200)), PROMPT, "at least 300 px"),
    (start_only(image_bytes(600, 299)), PROMPT, "at least 300 px"),
    (start_only(image_bytes(1400, 400)), PROMPT, "too wide"),
    (start_only(image_bytes(380, 1000)), PROMPT, "too tall"),
    (start_only(b"%PDF-1.4 not an image"), PROMPT, "isn't an image"),
    (start_only(image_bytes(400, 400, "GIF"), "s.gif", "image/gif"), PROMPT, "isn't an image"),
    (start_only(image_bytes(640, 360)[:300]), PROMPT, "damaged"),
    (start_only(animated_png()), PROMPT, "animated"),
    (start_only(b"\x89PNG" + b"\0" * 10_000_001), PROMPT, "takes images up to 10.0 MB"),
    (
        {
            "start": ("s.png", image_bytes(640, 360), "image/png"),
            "end": ("e.png", image_bytes(640, 360)[:300], "image/png"),
        },
        PROMPT,
        "The end frame looks damaged",
    ),
    (None, "     ", "prompt is empty"),
    (None, "x" * 2501, "2501 characters"),
]


@pytest.mark.parametrize(("files", "prompt", "expected"), BAD_INPUTS)
async def test_bad_input_gets_a_clear_private_message_and_costs_nothing(world, tween, files, prompt, expected):
    interaction = await run_tween(world, prompt=prompt, files=files)
    text = await world.discord.wait_for(lambda: ephemeral_text(interaction))
    assert expected in text and "Nothing was charged" in text
    assert interaction.ephemeral
    assert world.fal.requests == []
    assert world.discord.messages(world.discord.guild.channel.id) == []
    budget = await tween.services.budget.guild_pot(world.discord.guild.id)
    assert (budget.reserved_seconds, budget.spent_seconds) == (0, 0)


async def test_no_budget_left_says_what_is_left_and_when_it_resets(world: World):
    async with run_bot(world, "[budget]\ndefault_seconds = 8\n"):
        await run_tween(world, duration=5)
        await world.discord.wait_for(lambda: len(world.fal.submits) == 1)
        interaction = await run_tween(world, duration=5)
        text = await world.discord.wait_for(lambda: ephemeral_text(interaction))
    assert "3 s ($0.336) left" in text and "resets <t:" in text
    assert len(world.fal.submits) == 1


async def test_fal_failure_is_explained_in_the_thread_and_refunded(world: World, tween: TweenBot):
    world.fal.script_next(JobScript(outcome="error", error="Runner disconnected", error_type="runner_disconnected"))
    await run_tween(world, duration=7)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    notice = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(thread.id) if "failed" in m.content), None)
    )
    assert "refunded" in notice.content and "7 s" in notice.content
    budget = await tween.services.budget.guild_pot(world.discord.guild.id)
    assert (budget.reserved_seconds, budget.spent_seconds) == (0, 0)


async def test_fals_27_mb_video_plays_in_an_unboosted_server_with_the_original_a_click_away(
    world: World, tween: TweenBot
):
    world.fal.videos = media.full_video
    await run_tween(world, duration=5)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    posted = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(thread.id) if m.attachments), None), timeout=60
    )
    seen = media.inspect(posted.attachments[0].data)
    assert seen.size <= world.discord.guild.upload_limit == 10 * 1024 * 1024
    assert (seen.duration, seen.height, seen.codec, seen.pix_fmt) == (5.0, 1080, "h264", "yuv420p")
    links = [c for row in posted.components for c in row["components"] if c.get("style") == 5]
    original = world.fal.video_url(world.fal.submits[0].request_id)
    assert [(c["label"], c["url"]) for c in links] == [("Full quality", original)]

    # A vote redraws the buttons: the link stays.
    vote = next(
        c["custom_id"] for row in posted.components for c in row["components"] if "vote" in c.get("custom_id", "")
    )
    await world.discord.click(posted.id, vote, user=world.discord.guild.member)
    redrawn = await world.discord.wait_for(lambda: posted.edits and posted)
    assert any(c.get("url") for row in redrawn.components for c in row["components"])


async def test_a_video_that_will_not_decode_is_linked_and_the_next_job_still_works(world: World, tween: TweenBot):
    world.fal.script_next(JobScript(video_size=world.discord.guild.upload_limit + 1))
    await run_tween(world)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    linked = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(thread.id) if m.embeds), None), timeout=15
    )
    assert linked.attachments == []
    assert "/videos/" in str(linked.embeds) and "did not open as a playable video" in str(linked.embeds)

    await run_tween(world)
    threads = await world.discord.wait_for(lambda: len(world.discord.threads()) == 2 and world.discord.threads())
    second = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(threads[1].id) if m.attachments), None), timeout=15
    )
    assert second.attachments[0].data == world.fal.video_bytes(world.fal.submits[1].request_id)


async def test_mentions_in_the_prompt_never_ping(world: World, tween: TweenBot):
    guild = world.discord.guild
    prompt = f"@everyone @here <@&{guild.mod_role_id}> <@{guild.admin.id}> dance from @Image1 to @Image2"
    await run_tween(world, prompt=prompt)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    await world.discord.wait_for(lambda: any(m.attachments for m in world.discord.messages(thread.id)), timeout=15)
    sent = [m for ch in (guild.channel.id, thread.id) for m in world.discord.messages(ch)]
    assert sent
    for message in sent:
        assert no_ping_possible(message.allowed_mentions), message.allowed_mentions
        users = (message.allowed_mentions or {}).get("users", [])
        assert set(users) <= {str(guild.member.id), guild.member.id}


async def test_thread_deleted_mid_job_delivers_to_the_channel(world: World, tween: TweenBot):
    world.fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    await run_tween(world)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    await world.discord.wait_for(lambda: world.fal.submits)
    world.discord.delete_channel(thread.id)
    world.fal.release(world.fal.submits[0].request_id)
    channel = world.discord.guild.channel.id
    fallback = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(channel) if m.attachments and m.content), None), timeout=15
    )
    assert fallback.attachments[0].filename == "tween-1.mp4"
    # The message is posted before the row is marked delivered: wait for the row, not for the message.
    await read_until(lambda: tween.services.jobs.get(1), lambda job: job.state.value == "delivered", what="delivered")


async def test_the_card_says_whose_queue_and_how_long_a_run_usually_takes(world: World, tween: TweenBot):
    world.fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    await run_tween(world, duration=5)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    card = world.discord.all_messages[thread.message_id]

    def state() -> str:
        return next((f["value"] for f in card.embeds[0].get("fields", []) if f["name"] == "State"), "")

    # No run seen yet: the prior (60 s + 12 s per second of video) says about 2 min for 5 s.
    line = await world.discord.wait_for(lambda: "Generating" in state() and state())
    assert " · usually about 2 min · ready <t:" in line
    world.fal.release(world.fal.submits[0].request_id)
    await world.discord.wait_for(lambda: "Done in" in state())
