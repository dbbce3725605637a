"""How a re-encode is aimed: bitrate from the limit and the duration, full size unless bits per pixel run low."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from bot.media import Plan, VideoInfo, plan_fit
from tests.support.settings import make_settings

MEDIA = make_settings().media
MIB = 1024 * 1024


def fal_video(seconds: float, *, height: int = 1080, fps: int = 24, audio: bool = False) -> VideoInfo:
    width = round(height * 16 / 9 / 2) * 2
    return VideoInfo(27_588_984, seconds, width, height, Fraction(fps), "h264", audio)


def total_bits(plan: Plan, seconds: float) -> float:
    return (plan.video_bps + plan.audio_bps) * seconds


@pytest.mark.parametrize("seconds", [3, 5, 10])
@pytest.mark.parametrize("limit", [10 * MIB, 25 * MIB, 50 * MIB])
def test_the_streams_fit_under_the_limit_with_the_margin(seconds: int, limit: int):
    plan = plan_fit(fal_video(seconds, audio=True), limit, MEDIA)
    assert plan.target_bytes == int(limit * (1 - MEDIA.size_margin))
    assert total_bits(plan, seconds) / 8 <= plan.target_bytes
    assert total_bits(plan, seconds) / 8 > plan.target_bytes * 0.98  # the margin is spent on quality, not wasted


def test_ten_seconds_of_1080p_at_10_mib_keep_full_size():
    plan = plan_fit(fal_video(10), 10 * MIB, MEDIA)
    assert (plan.width, plan.height) == (1920, 1080)


def test_low_bits_per_pixel_scale_down_but_never_under_the_minimum_height():
    tight = plan_fit(fal_video(10, fps=60), 4 * MIB, MEDIA)
    assert 720 <= tight.height < 1080 and tight.width % 2 == 0 and tight.height % 2 == 0
    assert tight.width / tight.height == pytest.approx(16 / 9, rel=0.01)
    starved = plan_fit(fal_video(10), 1 * MIB, MEDIA)
    assert starved.height == 720
    small_source = plan_fit(fal_video(10, height=480), 1 * MIB, MEDIA)
    assert small_source.height == 480  # never scaled up to reach min_height


def test_silence_costs_nothing_and_sound_is_paid_from_the_video():
    silent = plan_fit(fal_video(5), 10 * MIB, MEDIA)
    sound = plan_fit(fal_video(5, audio=True), 10 * MIB, MEDIA)
    assert silent.audio_bps == 0 and sound.audio_bps == MEDIA.audio_bitrate
    assert silent.video_bps - sound.video_bps == pytest.approx(MEDIA.audio_bitrate, abs=1)


def test_a_squeeze_after_an_overshoot_asks_for_less():
    first = plan_fit(fal_video(5), 10 * MIB, MEDIA)
    second = plan_fit(fal_video(5), 10 * MIB, MEDIA, squeeze=0.9)
    assert second.target_bytes < first.target_bytes and second.video_bps < first.video_bps


def test_odd_sources_still_get_even_sides():
    plan = plan_fit(replace(fal_video(5), width=1081, height=607), 100_000, MEDIA)
    assert plan.width % 2 == 0 and plan.height % 2 == 0
