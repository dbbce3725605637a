"""The operator's view: `python -m bot` as a subprocess, killed with SIGKILL mid-job, and started again."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.conftest import World, bot_process
from tests.e2e.test_tween_e2e import run_tween
from tests.fakes.fal_server import JobScript
from tests.support import media

pytestmark = pytest.mark.e2e


def fal_reads(world: World) -> int:
    """Looks at jobs: status reads, and status streams opened."""
    return world.fal.count("status") + world.fal.count("stream")


def videos_in(world: World, thread_id: int) -> list:
    return [m for m in world.discord.messages(thread_id) if m.attachments]


async def test_sigkill_while_generating_delivers_exactly_once(world: World, tmp_path):
    world.fal.script_next(JobScript(queue_seconds=0.0, run_seconds=None))
    env = world.env()
    log = tmp_path / "bot.log"
    with bot_process(env, log) as first:
        await world.discord.wait_ready(timeout=30)
        await run_tween(world)
        await world.discord.wait_for(lambda: fal_reads(world) >= 2, timeout=20)  # tracked while generating
        first.kill()
        first.wait(timeout=10)
    assert len(world.fal.submits) == 1
    thread = world.discord.threads()[0]
    assert videos_in(world, thread.id) == []

    with bot_process(env, log) as second:
        await world.discord.wait_ready(timeout=30, sessions=2)
        world.fal.release(world.fal.submits[0].request_id)
        await world.discord.wait_for(lambda: videos_in(world, thread.id), timeout=30)
        assert second.poll() is None, log.read_text()[-2000:]
    (video,) = videos_in(world, thread.id)
    assert video.attachments[0].data == world.fal.video_bytes(world.fal.submits[0].request_id)
    assert len(world.fal.submits) == 1
    assert "Traceback" not in log.read_text()


async def test_sigterm_stops_cleanly_and_the_next_start_finishes_the_job(world: World, tmp_path):
    world.fal.script_next(JobScript(queue_seconds=0.0, run_seconds=None))
    env = world.env()
    log = tmp_path / "bot.log"
    with bot_process(env, log) as first:
        await world.discord.wait_ready(timeout=30)
        await run_tween(world)
        await world.discord.wait_for(lambda: fal_reads(world) >= 1, timeout=20)
        first.terminate()
        code = await asyncio.to_thread(first.wait, 20)
    assert code == 0, log.read_text()[-2000:]
    text = log.read_text()
    assert "Traceback" not in text and "shutting down" in text
    with bot_process(env, log):
        await world.discord.wait_ready(timeout=30, sessions=2)
        world.fal.release(world.fal.submits[0].request_id)
        thread = world.discord.threads()[0]
        await world.discord.wait_for(lambda: videos_in(world, thread.id), timeout=30)
    assert len(world.fal.submits) == 1 and len(videos_in(world, thread.id)) == 1


async def test_secrets_never_reach_logs_or_messages(world: World, tmp_path):
    from tests.fakes.fal_server import Fault

    world.fal.inject(
        Fault(route="status", status=401, body={"detail": "bad key"}),
        Fault(route="submit", status=500, body={"detail": "boom"}),
    )
    world.discord.fail_next("POST", r"/channels/\d+/messages$", status=429, retry_after=0.05)
    env = world.env() | {"TWEEN_LOG_LEVEL": "DEBUG"}
    log = tmp_path / "bot.log"
    with bot_process(env, log):
        await world.discord.wait_ready(timeout=30)
        await run_tween(world)  # submit refused by fal: refunded, and its card says so in one line
        channel = world.discord.guild.channel.id
        await world.discord.wait_for(lambda: any("didn't start" in m.content for m in world.discord.messages(channel)))
        await run_tween(world)  # a 401 while polling, then it completes
        thread = await world.discord.wait_for(
            lambda: next((t for t in world.discord.threads() if t.name.startswith("Tween #2")), None), timeout=20
        )
        await world.discord.wait_for(lambda: videos_in(world, thread.id), timeout=30)
    text = log.read_text()
    assert "DEBUG" in text and len(text) > 2000
    posted = " ".join(
        m.content + str(m.embeds) for ch in list(world.discord.channels) for m in world.discord.messages(ch)
    )
    for secret in (env["DISCORD_TOKEN"], env["FAL_KEY"]):
        assert secret not in text
        assert secret not in posted


async def test_sigkill_mid_reencode_redoes_it_posts_once_and_clears_what_the_crash_left(world: World, tmp_path):
    world.fal.videos = media.full_video
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = world.env() | {"TMPDIR": str(temp)}
    log = tmp_path / "bot.log"
    with bot_process(env, log) as first:
        await world.discord.wait_ready(timeout=30)
        await run_tween(world, duration=10)
        await world.discord.wait_for(lambda: any(temp.glob("tween-*/tween-*-fit.mp4")), timeout=60)
        first.kill()
        first.wait(timeout=10)
    left = list(temp.glob("tween-*"))
    assert left  # the download and half a re-encode
    thread = world.discord.threads()[0]
    assert videos_in(world, thread.id) == []

    with bot_process(env, log) as second:
        await world.discord.wait_ready(timeout=30, sessions=2)
        await world.discord.wait_for(lambda: videos_in(world, thread.id), timeout=90)
        assert second.poll() is None, log.read_text()[-2000:]
    assert not any(folder.exists() for folder in left)
    (posted,) = videos_in(world, thread.id)
    seen = media.inspect(posted.attachments[0].data)
    assert seen.size <= world.discord.guild.upload_limit and seen.duration == 10.0 and seen.height >= 720
    assert len(world.fal.submits) == 1
    assert "Traceback" not in log.read_text()
