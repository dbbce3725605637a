"""What a video file is, read from its container and its first frame; MediaUnusable when it is not a video."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from bot.errors import MediaUnusable


@dataclass(frozen=True)
class VideoInfo:
    size: int
    duration: float
    width: int
    height: int
    fps: Fraction
    codec: str
    has_audio: bool

    @property
    def pixels_per_second(self) -> float:
        return self.width * self.height * float(self.fps)


def probe(path: Path) -> VideoInfo:
    """Open the file, find its video stream and decode one frame: a file that passes can be posted or re-encoded."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaUnusable("no_video")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise MediaUnusable("undecodable")
            return VideoInfo(
                size=path.stat().st_size,
                duration=_duration(container, stream),
                width=first.width,
                height=first.height,
                fps=Fraction(stream.average_rate or stream.guessed_rate or 24),
                codec=stream.codec_context.name,
                has_audio=bool(container.streams.audio),
            )
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaUnusable("undecodable", detail=str(exc)) from exc


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    raise MediaUnusable("undecodable", detail="the file states no duration")
