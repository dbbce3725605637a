"""Discord misbehaving: missing permissions, a dropped gateway, interaction tokens long dead, rate limits."""

from __future__ import annotations

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World
from tests.e2e.test_moderation_e2e import admin
from tests.e2e.test_tween_e2e import ephemeral_text, run_tween
from tests.fakes.fal_server import JobScript
from tests.support.stores import query

pytestmark = pytest.mark.e2e


def videos(world: World, thread_id: int) -> list:
    return [m for m in world.discord.messages(thread_id) if any(a.filename.endswith(".mp4") for a in m.attachments)]


async def test_no_permission_to_post_refunds_and_tells_the_member(world: World, tween: TweenBot):
    world.discord.forbid(world.discord.guild, "send_messages")
    interaction = await run_tween(world)
    text = await world.discord.wait_for(lambda: ephemeral_text(interaction))
    assert "Send Messages" in text and "Nothing was charged" in text
    assert world.fal.submits == []
    pot = await tween.services.budget.guild_pot(world.discord.guild.id)
    assert (pot.reserved_seconds, pot.spent_seconds) == (0, 0)


async def test_no_permission_for_threads_posts_results_in_the_channel(world: World, tween: TweenBot):
    world.discord.forbid(world.discord.guild, "create_thread")
    await run_tween(world)
    channel = world.discord.guild.channel.id
    posted = await world.discord.wait_for(lambda: videos(world, channel) and videos(world, channel)[0], timeout=15)
    assert world.discord.threads() == []
    # No thread: the card itself became the result, so the channel holds one message for the job, not two.
    assert [m.id for m in world.discord.messages(channel)] == [posted.id]
    assert "is ready" in posted.embeds[0]["title"] and [a.filename for a in posted.attachments] == ["tween-1.mp4"]


async def test_a_card_deleted_where_its_result_goes_gets_the_result_posted_anew(world: World, tween: TweenBot):
    world.discord.forbid(world.discord.guild, "create_thread")
    world.fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    await run_tween(world)
    channel = world.discord.guild.channel.id
    card = await world.discord.wait_for(lambda: next(iter(world.discord.messages(channel)), None))
    await world.discord.wait_for(lambda: world.fal.submits)
    card.deleted = True  # a moderator removed the card while fal was making the video
    world.fal.release(world.fal.submits[0].request_id)
    posted = await world.discord.wait_for(lambda: videos(world, channel) and videos(world, channel)[0], timeout=15)
    assert posted.id != card.id and posted.content == f"<@{world.discord.guild.member.id}>"
    await world.discord.wait_for(lambda: _state(tween) == "delivered")


async def test_without_manage_threads_an_empty_thread_stays_and_the_card_still_shrinks(world: World, tween: TweenBot):
    world.discord.forbid(world.discord.guild, "manage_threads")
    await admin(world, "settings", "caps", per_member=1, per_server=4)
    world.fal.script_next(JobScript(run_seconds=None))
    await run_tween(world)
    await world.discord.wait_for(lambda: world.fal.submits)
    waiting = await run_tween(world)  # the member's second job waits for a slot: one at a time each
    assert "free slot" in await world.discord.wait_for(lambda: ephemeral_text(waiting))
    channel = world.discord.guild.channel.id
    card = await world.discord.wait_for(
        lambda: next((m for m in world.discord.messages(channel) if "Tween #2" in str(m.embeds)), None)
    )
    await world.discord.click(card.id, "tween:cancel:2", user=world.discord.guild.member)
    await world.discord.wait_for(lambda: "was cancelled by" in card.content)
    assert (card.embeds, card.attachments, card.components) == ([], [], [])
    assert card.allowed_mentions == {"parse": []}
    assert len(world.discord.threads()) == 2  # Discord refused the delete: the thread archives by itself
    world.fal.release(world.fal.submits[0].request_id)


async def test_gateway_drop_mid_job_resumes_and_delivers(world: World, tween: TweenBot):
    world.fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    await run_tween(world)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    await world.discord.disconnect_gateway()
    await world.discord.wait_for(lambda: world.discord.gateway.resumed == 1)
    await world.discord.wait_for(lambda: world.fal.submits)
    world.fal.release(world.fal.submits[0].request_id)
    await world.discord.wait_for(lambda: videos(world, thread.id), timeout=15)
    after = await run_tween(world)  # commands keep working after the resume
    assert await world.discord.wait_for(lambda: ephemeral_text(after))


async def test_jobs_longer_than_an_interaction_token_still_land(world: World, tween: TweenBot):
    world.fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    asked = await run_tween(world)
    await world.discord.wait_for(lambda: ephemeral_text(asked))
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    world.discord.clock.advance(20 * 60)  # every interaction token is dead now
    world.fal.release(world.fal.submits[0].request_id)
    await world.discord.wait_for(lambda: videos(world, thread.id), timeout=15)
    card = world.discord.messages(world.discord.guild.channel.id)[0]
    await world.discord.wait_for(lambda: "Done" in str(card.embeds))
    late = [r for r in world.discord.requests if r.path.startswith("/api/v10/webhooks") and r.status >= 400]
    assert late == []


async def test_rate_limited_posts_are_retried(world: World, tween: TweenBot):
    world.discord.fail_next("POST", r"/channels/\d+/messages$", status=429, retry_after=0.1, times=2)
    await run_tween(world)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None), timeout=15)
    await world.discord.wait_for(lambda: videos(world, thread.id), timeout=15)
    assert [r.status for r in world.discord.requests if r.status == 429] == [429, 429]


async def test_job_card_deleted_mid_job_does_not_stop_the_video(world: World, tween: TweenBot):
    world.fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    await run_tween(world)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    card = world.discord.all_messages[thread.message_id]
    card.deleted = True  # a moderator removed the card
    await world.discord.wait_for(lambda: world.fal.submits)
    world.fal.release(world.fal.submits[0].request_id)
    await world.discord.wait_for(lambda: videos(world, thread.id), timeout=15)
    await world.discord.wait_for(lambda: _state(tween) == "delivered")


async def test_discord_server_errors_are_retried(world: World, tween: TweenBot):
    world.discord.fail_next("POST", r"/channels/\d+/messages$", status=500, code=0, times=1)
    await run_tween(world)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None), timeout=15)
    await world.discord.wait_for(lambda: videos(world, thread.id), timeout=20)
    statuses = [r.status for r in world.discord.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert statuses[0] == 500 and 500 not in statuses[1:]


async def test_channel_and_thread_both_gone_marks_the_job_undeliverable(world: World, tween: TweenBot):
    world.fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    await run_tween(world)
    thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
    await world.discord.wait_for(lambda: world.fal.submits)
    world.discord.delete_channel(thread.id)
    world.discord.delete_channel(world.discord.guild.channel.id)
    world.fal.release(world.fal.submits[0].request_id)
    job = await world.discord.wait_for(lambda: _state(tween) == "undeliverable", timeout=15)
    assert job
    pot = await tween.services.budget.guild_pot(world.discord.guild.id)
    assert (pot.spent_seconds, pot.reserved_seconds) == (5, 0)  # fal billed it; the link is in Details


def _state(tween: TweenBot) -> str | None:
    rows = query(tween.services.settings.storage.target, "SELECT state FROM jobs WHERE id = 1")
    return rows[0][0] if rows else None


async def test_commands_during_shutdown_are_turned_away_politely(world: World, tween: TweenBot):
    tween.closing = True
    try:
        interaction = await run_tween(world)
        assert "restarting" in await world.discord.wait_for(lambda: ephemeral_text(interaction))
    finally:
        tween.closing = False
    assert world.fal.requests == []
