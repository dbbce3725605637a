"""Frame validation from the bytes themselves, and the small preview shown on a job card."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.errors import ImageRejected
from bot.models import Frame

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
# Far above any real keyframe (8K is 33 MP); refuses decompression bombs before decoding.
MAX_PIXELS = 64_000_000
PREVIEW_HEIGHT = 240


@dataclass(frozen=True)
class ImageRules:
    max_bytes: int
    min_side: int
    min_aspect: float
    max_aspect: float


def validate_frame(data: bytes, *, frame: str, rules: ImageRules) -> Frame:
    """Check one frame against fal's rules; raise ImageRejected with the exact reason."""
    if not data:
        raise ImageRejected(frame, "empty")
    if len(data) > rules.max_bytes:
        raise ImageRejected(frame, "too_large", size=len(data), limit=rules.max_bytes)
    image = _open(data, frame)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageRejected(frame, "too_many_pixels", width=width, height=height)
    if getattr(image, "is_animated", False):
        raise ImageRejected(frame, "animated")
    if min(width, height) < rules.min_side:
        raise ImageRejected(frame, "too_small", width=width, height=height, min_side=rules.min_side)
    ratio = width / height
    if not rules.min_aspect <= ratio <= rules.max_aspect:
        raise ImageRejected(frame, "bad_aspect", ratio=ratio, min_ratio=rules.min_aspect, max_ratio=rules.max_aspect)
    _decode_fully(image, frame)
    content_type = FORMATS[image.format or ""]
    return Frame(
        data=data,
        content_type=content_type,
        width=width,
        height=height,
        filename=f"{frame}.{EXTENSIONS[content_type]}",
    )


def _open(data: bytes, frame: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(frame, "too_many_pixels") from None
    except Exception:
        # A file that starts like a PNG, JPEG or WebP but will not open was damaged, not mislabelled.
        reason = "corrupt" if _looks_like_supported(data) else "not_an_image"
        raise ImageRejected(frame, reason) from None
    return image


def _looks_like_supported(data: bytes) -> bool:
    return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _decode_fully(image: Image.Image, frame: str) -> None:
    try:
        image.load()
    except Exception:
        raise ImageRejected(frame, "corrupt") from None


def make_preview(start: bytes, end: bytes | None) -> bytes:
    """A JPEG of the start frame, an arrow and the end frame, for the job card."""
    tiles = [_thumbnail(start)] + ([_thumbnail(end)] if end is not None else [])
    gap = 48 if len(tiles) == 2 else 0
    width = sum(t.width for t in tiles) + gap
    canvas = Image.new("RGB", (width, PREVIEW_HEIGHT), (43, 45, 49))
    canvas.paste(tiles[0], (0, 0))
    if len(tiles) == 2:
        canvas.paste(tiles[1], (tiles[0].width + gap, 0))
        _arrow(canvas, tiles[0].width, gap)
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=82)
    return out.getvalue()


def _thumbnail(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    scale = PREVIEW_HEIGHT / rgb.height
    return rgb.resize((max(1, round(rgb.width * scale)), PREVIEW_HEIGHT))


def _arrow(canvas: Image.Image, left: int, gap: int) -> None:
    draw = ImageDraw.Draw(canvas)
    mid = PREVIEW_HEIGHT // 2
    ink = (230, 230, 230)
    tip = left + gap - 6
    draw.rectangle((left + 8, mid - 3, tip - 12, mid + 3), fill=ink)
    draw.polygon([(tip - 14, mid - 12), (tip, mid), (tip - 14, mid + 12)], fill=ink)
