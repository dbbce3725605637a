"""Frames checked from the bytes themselves: the header first, so that no frame is decoded past what memory allows,
then one decode that also cuts the job card's preview tile."""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from bot.errors import ImageRejected
from bot.models import Frame

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
PREVIEW_HEIGHT = 240
# Peak memory of a decode, measured with Pillow 13: a PNG pixel or a decoded JPEG pixel takes 4 bytes (a CMYK one 8,
# as it is turned into RGB before fal gets it); a WebP pixel 16 (libwebp's canvas, the copy it hands Pillow, Pillow's
# image); and a progressive JPEG keeps 2 bytes for every DCT coefficient of the whole image, whatever the scale.
PIXEL_BYTES = 4
CMYK_PIXEL_BYTES = 8
WEBP_PIXEL_BYTES = 16
COEFFICIENT_BYTES = 2
# libjpeg decodes a JPEG at 1/1, 1/2, 1/4 or 1/8 of its size (Pillow's `draft`) and holds only the smaller image.
SCALES = (1, 2, 4, 8)
REENCODE_QUALITIES = (92, 85, 75)
ORIENTATION = 0x0112  # the EXIF tag; a reduced frame keeps it, so fal sees it the right way up
BLANK = (88, 90, 96)
# Python's warning filters are process-wide; two decodes changing them at once could leave them changed for good.
_OPENING = threading.Lock()


@dataclass(frozen=True)
class ImageRules:
    max_bytes: int
    min_side: int
    min_aspect: float
    max_aspect: float
    max_pixels: int  # the most pixels sent to fal, and what one decode may cost (as that many plain pixels)


@dataclass(frozen=True)
class CheckedFrame:
    """A frame that passed, as fal will get it, with its tile for the job card cut from the same decode."""

    frame: Frame
    tile: Image.Image


def validate_frame(data: bytes, *, frame: str, rules: ImageRules) -> CheckedFrame:
    """Check one frame against fal's rules and Tween's memory; raise ImageRejected with the exact reason."""
    if not data:
        raise ImageRejected(frame, "empty")
    if len(data) > rules.max_bytes:
        raise ImageRejected(frame, "too_large", size=len(data), limit=rules.max_bytes)
    with _open(data, frame, rules.max_pixels) as image:
        width, height = image.size
        if getattr(image, "is_animated", False):
            raise ImageRejected(frame, "animated")
        if min(width, height) < rules.min_side:
            raise ImageRejected(frame, "too_small", width=width, height=height, min_side=rules.min_side)
        ratio = width / height
        if not rules.min_aspect <= ratio <= rules.max_aspect:
            raise ImageRejected(
                frame, "bad_aspect", ratio=ratio, min_ratio=rules.min_aspect, max_ratio=rules.max_aspect
            )
        scale = decode_scale(image, rules.max_pixels)
        if scale is None:
            raise ImageRejected(frame, "too_many_pixels", **_too_big(image, rules.max_pixels))
        _decode(image, frame, scale)
        tile = _tile(image)
        if width * height <= rules.max_pixels:
            content_type = FORMATS[image.format or ""]
            sent = Frame(data, content_type, width, height, filename=f"{frame}.{EXTENSIONS[content_type]}")
            return CheckedFrame(sent, tile)
        if (shrunk := _shrunk(image, frame, rules.max_bytes)) is None:
            raise ImageRejected(
                frame, "too_many_pixels", width=width, height=height, limit=rules.max_pixels, advice="scale"
            )
    return CheckedFrame(shrunk, tile)


def stored_tile(data: bytes, *, max_pixels: int) -> Image.Image:
    """The preview tile of a frame already on fal (a session's), decoded by the same rules as a new one; a frame that
    was taken under older rules and is now too big to decode gets a blank tile of its shape."""
    with _open(data, "stored", max_pixels) as image:
        scale = decode_scale(image, max_pixels)
        if scale is None:
            width, height = image.size
            return Image.new("RGB", (max(1, round(width * PREVIEW_HEIGHT / height)), PREVIEW_HEIGHT), BLANK)
        _decode(image, "stored", scale)
        return _tile(image)


def decode_scale(image: Image.Image, max_pixels: int) -> int | None:
    """The least reduction (1, 2, 4 or 8) at which decoding this opened, undecoded frame costs no more memory than
    `max_pixels` plain pixels and yields no more than `max_pixels`; None when there is none."""
    width, height = image.size
    if image.format == "JPEG":
        pixel_bytes = CMYK_PIXEL_BYTES if image.mode == "CMYK" else PIXEL_BYTES
        return _jpeg_scale(width, height, _coefficient_bytes(image), pixel_bytes, max_pixels)
    pixel_bytes = WEBP_PIXEL_BYTES if image.format == "WEBP" else PIXEL_BYTES
    return 1 if width * height * pixel_bytes <= max_pixels * PIXEL_BYTES else None


def _jpeg_scale(width: int, height: int, kept: int, pixel_bytes: int, max_pixels: int) -> int | None:
    for scale in SCALES:
        pixels = -(-width // scale) * -(-height // scale)
        if pixels <= max_pixels and kept + pixels * pixel_bytes <= max_pixels * PIXEL_BYTES:
            return scale
    return None


def _coefficient_bytes(image: Image.Image) -> int:
    """What libjpeg holds for a progressive JPEG at any scale: every coefficient of every component."""
    if not image.info.get("progressive"):
        return 0
    # Per component: (id, horizontal sampling, vertical sampling, quantization table), from the frame header.
    layers: list[tuple[Any, int, int, int]] = getattr(image, "layer", [])
    if not layers:
        return image.width * image.height * 3 * COEFFICIENT_BYTES
    full = max(h for _, h, _, _ in layers) * max(v for _, _, v, _ in layers)
    samples = sum(h * v for _, h, v, _ in layers) / full
    return round(image.width * image.height * samples * COEFFICIENT_BYTES)


def _too_big(image: Image.Image, max_pixels: int) -> dict[str, Any]:
    """The size, the largest Tween takes of this kind, and which other way of sending it would be taken."""
    width, height = image.size
    details: dict[str, Any] = {"width": width, "height": height, "limit": max_pixels}
    if image.format == "WEBP":
        details |= {"limit": max_pixels * PIXEL_BYTES // WEBP_PIXEL_BYTES, "kind": "WebP"}
    shrinkable_as_jpeg = _jpeg_scale(width, height, 0, PIXEL_BYTES, max_pixels) is not None
    if image.format == "WEBP" and width * height <= max_pixels:
        details["advice"] = "png"
    elif image.format != "JPEG" and shrinkable_as_jpeg:
        details["advice"] = "jpeg"
    elif image.format == "JPEG" and image.info.get("progressive") and shrinkable_as_jpeg:
        details["advice"] = "baseline"
    else:
        details["advice"] = "scale"
    return details


def _open(data: bytes, frame: str, max_pixels: int) -> Image.Image:
    """The frame's header only: nothing is decoded yet."""
    try:
        with _OPENING, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(frame, "too_many_pixels", limit=max_pixels) from None
    except Exception:
        # A file that starts like a PNG, JPEG or WebP but will not open was damaged, not mislabelled.
        reason = "corrupt" if _looks_like_supported(data) else "not_an_image"
        raise ImageRejected(frame, reason) from None
    return image


def _looks_like_supported(data: bytes) -> bool:
    return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _decode(image: Image.Image, frame: str, scale: int) -> None:
    if scale > 1:
        image.draft(None, (image.width // scale, image.height // scale))
    try:
        image.load()
    except Exception:
        raise ImageRejected(frame, "corrupt") from None


def _tile(image: Image.Image) -> Image.Image:
    """The decoded frame as a PREVIEW_HEIGHT-tall RGB tile, without a full-size copy of it on the way."""
    size = (max(1, round(image.width * PREVIEW_HEIGHT / image.height)), PREVIEW_HEIGHT)
    if image.mode not in ("RGB", "L"):
        # Smooth resampling of alpha or a palette starts with a full-size copy; a nearest-neighbour step down to a
        # few times the tile's size does not, and only that small image is then converted and smoothed.
        near = (min(image.width, size[0] * 4), min(image.height, size[1] * 4))
        image = image.resize(near, Image.Resampling.NEAREST).convert("RGB")
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0).convert("RGB")


def _shrunk(image: Image.Image, frame: str, max_bytes: int) -> Frame | None:
    """A JPEG above the cap, decoded reduced, encoded again: fal gets this instead of the member's file. None if no
    quality we would send makes it small enough."""
    options: dict[str, Any] = {}
    if (turn := image.getexif().get(ORIENTATION)) not in (None, 1):
        exif = Image.Exif()
        exif[ORIENTATION] = turn
        options["exif"] = exif.tobytes()
    if image.mode in ("RGB", "L"):
        options["icc_profile"] = image.info.get("icc_profile")
    else:
        image = image.convert("RGB")  # a CMYK profile would no longer describe it
    for quality in REENCODE_QUALITIES:
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality, **options)
        if out.tell() <= max_bytes:
            return Frame(out.getvalue(), "image/jpeg", image.width, image.height, filename=f"{frame}.jpg")
    return None


def make_preview(start: Image.Image, end: Image.Image | None) -> bytes:
    """A JPEG of the start tile, an arrow and the end tile, for the job card."""
    tiles = [start] + ([end] if end is not None else [])
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


def _arrow(canvas: Image.Image, left: int, gap: int) -> None:
    draw = ImageDraw.Draw(canvas)
    mid = PREVIEW_HEIGHT // 2
    ink = (230, 230, 230)
    tip = left + gap - 6
    draw.rectangle((left + 8, mid - 3, tip - 12, mid + 3), fill=ink)
    draw.polygon([(tip - 14, mid - 12), (tip, mid), (tip - 14, mid + 12)], fill=ink)
