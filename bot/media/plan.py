"""How to re-encode a video so it lands just under an upload limit: pure arithmetic, tested without encoding."""

from __future__ import annotations

from dataclasses import dataclass

from bot.media.probe import VideoInfo
from bot.settings import MediaSettings

# What MP4 boxes cost beside the streams: about 0.3 % for H.264 at these rates; 0.5 % is the safe side.
CONTAINER_OVERHEAD = 0.005


@dataclass(frozen=True)
class Plan:
    width: int
    height: int
    video_bps: int
    audio_bps: int
    target_bytes: int


def plan_fit(info: VideoInfo, limit: int, media: MediaSettings, *, squeeze: float = 1.0) -> Plan:
    """A bitrate from the duration and the limit, with a margin; full size unless the bits per pixel would drop
    below media.min_bits_per_pixel, then the height where they do not, never under media.min_height (nor above the
    source). `squeeze` < 1 asks for less after an attempt overshot."""
    target = int(limit * (1 - media.size_margin) * squeeze)
    audio_bps = media.audio_bitrate if info.has_audio else 0
    usable_bits = target * 8 * (1 - CONTAINER_OVERHEAD) - audio_bps * info.duration
    video_bps = max(int(usable_bits / max(info.duration, 0.1)), 100_000)
    height = _height_for(info, video_bps, media)
    width = _even(info.width * height / info.height)
    return Plan(width=width, height=height, video_bps=video_bps, audio_bps=audio_bps, target_bytes=target)


def _height_for(info: VideoInfo, video_bps: int, media: MediaSettings) -> int:
    full = _even(info.height)
    if video_bps / info.pixels_per_second >= media.min_bits_per_pixel:
        return full
    # Pixels scale with the square of the height, so the height where bits per pixel reach the minimum is:
    scale = (video_bps / (media.min_bits_per_pixel * info.pixels_per_second)) ** 0.5
    return min(full, max(_even(info.height * scale), _even(min(media.min_height, info.height))))


def _even(value: float) -> int:
    """H.264 in yuv420p needs even sides."""
    return max(2, round(value / 2) * 2)
