"""A video's first frame as a JPEG, for the video tile (what Discord shows before play)."""

from __future__ import annotations

from pathlib import Path

import av


def first_frame(video: Path, out: Path, width: int = 400) -> bool:
    """False when the file is not a video PyAV can decode (then the tile has no picture)."""
    try:
        with av.open(str(video)) as container:
            frame = next(container.decode(video=0))
    except (av.FFmpegError, StopIteration, OSError):
        return False
    image = frame.to_image()
    image.thumbnail((width, width))
    image.save(out, "JPEG", quality=85)
    return True
