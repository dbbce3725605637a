"""fal's videos are far bigger than most servers' upload limit: each is fitted (re-encoded in-process) to the limit
it was asked under, and what reaches the thread is decoded here as a player would, not trusted by its name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.models import JobState
from tests.fakes.fal_server import FakeFal, JobScript
from tests.integration.conftest import Stack, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import ledger, settled
from tests.support import media

MIB = 1024 * 1024


async def test_fals_27_mb_video_is_reencoded_to_play_in_an_unboosted_server(stack: Stack, fake_fal: FakeFal):
    fake_fal.videos = media.full_video
    job = await stack.services.jobs.submit(tween_request(duration=5, upload_limit=10 * MIB))
    done = await settled(stack, job.id, JobState.DELIVERED, timeout=60)

    (delivery,) = stack.publisher.deliveries
    assert delivery.video is not None
    seen = media.inspect(delivery.video)
    assert seen.size <= 10 * MIB
    assert seen.size > 9 * MIB  # aimed just under the limit, not far below it
    assert (seen.duration, seen.frames, seen.height, seen.width) == (5.0, 120, 1080, 1920)
    assert (seen.codec, seen.pix_fmt, seen.faststart) == ("h264", "yuv420p", True)
    original = fake_fal.video_file(done.request_id or "")
    assert original is not None
    assert done.video_size == original.stat().st_size > 25_000_000
    assert (done.posted_size, done.posted_height, done.reencoded) == (seen.size, 1080, True)
    assert await ledger(stack) == [("reserve", 5), ("charge", 5)]


async def test_ten_seconds_keep_full_height_at_10_mib(stack: Stack, fake_fal: FakeFal):
    fake_fal.videos = media.full_video
    job = await stack.services.jobs.submit(tween_request(duration=10, upload_limit=10 * MIB))
    await settled(stack, job.id, JobState.DELIVERED, timeout=90)
    (delivery,) = stack.publisher.deliveries
    assert delivery.video is not None
    seen = media.inspect(delivery.video)
    assert seen.size <= 10 * MIB and seen.duration == 10.0 and seen.height >= 720


async def test_a_video_that_fits_is_posted_exactly_as_fal_made_it(stack: Stack, fake_fal: FakeFal):
    job = await stack.services.jobs.submit(tween_request(duration=4))
    done = await settled(stack, job.id, JobState.DELIVERED)
    (delivery,) = stack.publisher.deliveries
    assert delivery.video == fake_fal.video_bytes(done.request_id or "")
    assert done.posted_size == done.video_size and not done.reencoded


async def test_sound_is_kept_as_aac(stack: Stack, fake_fal: FakeFal):
    with_sound = media.video(media.VideoSpec(5, audio=True, bitrate=2_000_000))
    fake_fal.script_next(JobScript(video=with_sound))
    job = await stack.services.jobs.submit(tween_request(duration=5, upload_limit=600_000))
    await settled(stack, job.id, JobState.DELIVERED, timeout=30)
    (delivery,) = stack.publisher.deliveries
    assert delivery.video is not None
    seen = media.inspect(delivery.video)
    assert seen.has_audio and seen.size <= 600_000 and seen.duration == 5.0


def _noise() -> JobScript:
    return JobScript(video_size=3_000_000)


def _no_picture() -> JobScript:
    return JobScript(video=media.audio_only(5))


def _too_short() -> JobScript:
    return JobScript(video=media.small_video(3))


@pytest.mark.parametrize(
    ("script", "problem"),
    [(_noise, "undecodable"), (_no_picture, "no_video"), (_too_short, "wrong_duration")],
    ids=["does-not-decode", "no-video-stream", "wrong-duration"],
)
async def test_a_bad_video_from_fal_goes_out_as_a_link_once_and_the_next_job_still_works(
    stack: Stack, fake_fal: FakeFal, script, problem: str
):
    fake_fal.script_next(script())
    job = await stack.services.jobs.submit(tween_request(duration=5))
    done = await settled(stack, job.id, JobState.DELIVERED, timeout=30)
    assert done.video_problem == problem and done.posted_size is None
    (delivery,) = stack.publisher.deliveries
    assert delivery.video is None and delivery.link == done.video_url
    assert await ledger(stack) == [("reserve", 5), ("charge", 5)]  # fal made it and billed it: charged once

    second = await stack.services.jobs.submit(tween_request(duration=5))
    assert (await settled(stack, second.id, JobState.DELIVERED)).video_problem is None
    assert stack.publisher.deliveries[-1].video is not None


async def test_a_file_too_big_to_fetch_is_linked_without_reading_it_all(fake_fal: FakeFal, tmp_path: Path):
    fake_fal.videos = media.full_video
    limits = {"default_upload_limit": 8 * MIB}
    settings = settings_for(fake_fal, tmp_path, limits=limits, media={"max_download_bytes": 8 * MIB})
    async with open_stack(settings) as stack:
        job = await stack.services.jobs.submit(tween_request(duration=5, upload_limit=8 * MIB))
        done = await settled(stack, job.id, JobState.DELIVERED, timeout=30)
    assert done.video_problem == "too_big_to_fetch"
    assert [d.video for d in stack.publisher.deliveries] == [None]


async def test_submit_asks_fal_to_keep_the_video_as_long_as_configured(stack: Stack, fake_fal: FakeFal):
    job = await stack.services.jobs.submit(tween_request())
    await settled(stack, job.id, JobState.DELIVERED)
    header = fake_fal.submits[0].headers["X-Fal-Object-Lifecycle-Preference"]
    assert json.loads(header) == {"expiration_duration_seconds": stack.settings.fal.output_retention_seconds}
