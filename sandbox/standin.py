"""The sandbox's stand-in for Kling: a real MP4 made from the two submitted frames, a cross-fade under a slow zoom,
labelled on every frame so nobody takes it for the model's work."""

from __future__ import annotations

import io
import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont, ImageOps

from tests.fakes.fal import SubmitRecord

LABEL = "Sandbox stand-in: not Kling"
HEIGHT = 360  # modest, so a 10 s video is made in about a second
FPS = 24
ZOOM = 0.12  # the picture grows by this much over the whole video


class StandIns:
    """The fake fal's `video_maker`: one MP4 per request id, made on first ask and kept in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, record: SubmitRecord) -> Path:
        path = self.folder / f"{record.request_id}.mp4"
        if not path.exists():
            start = record.fetched_images.get("start_image_url", b"")
            end = record.fetched_images.get("end_image_url") or start
            seconds = int(str(record.body.get("duration", "5")))
            make(start, end, seconds, path)
        return path


def make(start: bytes, end: bytes, seconds: int, path: Path) -> None:
    """Write the video atomically: a half-written file is never served."""
    first = _open(start)
    size = _even((round(HEIGHT * first.width / first.height), HEIGHT))
    a, b = _cover(first, size), _cover(_open(end), size)
    fd, temp = tempfile.mkstemp(suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        _encode(a, b, seconds, Path(temp))
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)


def _encode(a: Image.Image, b: Image.Image, seconds: int, path: Path) -> None:
    count = seconds * FPS
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = a.width, a.height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "26"}
        for index in range(count):
            t = index / max(count - 1, 1)
            picture = _label(_zoom(Image.blend(a, b, t * t * (3 - 2 * t)), t))
            frame = av.VideoFrame.from_image(picture)
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _open(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return ImageOps.exif_transpose(image).convert("RGB")
    except Exception:  # fal refuses such frames before a run; a grey picture keeps the stand-in total
        return Image.new("RGB", (640, 360), (60, 60, 60))


def _even(size: tuple[int, int]) -> tuple[int, int]:
    return size[0] - size[0] % 2, size[1] - size[1] % 2


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return ImageOps.fit(image, size, Image.Resampling.BILINEAR)


def _zoom(image: Image.Image, t: float) -> Image.Image:
    scale = 1 + ZOOM * t
    width, height = image.size
    w, h = width / scale, height / scale
    box = ((width - w) / 2, (height - h) / 2, (width + w) / 2, (height + h) / 2)
    return image.resize(image.size, Image.Resampling.BILINEAR, box=box)


def _label(image: Image.Image) -> Image.Image:
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(14, image.height // 20))
    left, top, right, bottom = draw.textbbox((0, 0), LABEL, font=font)
    x, y, pad = 12, image.height - (bottom - top) - 24, 6
    draw.rectangle((x - pad, y - pad + top, x + right - left + pad, y + bottom + pad), fill=(0, 0, 0))
    draw.text((x - left, y), LABEL, font=font, fill=(255, 214, 102))
    return image
