"""Images made in memory for tests."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def image_bytes(
    width: int = 640, height: int = 360, fmt: str = "PNG", colour: tuple[int, int, int] = (200, 80, 40)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format=fmt)
    return out.getvalue()


def animated_png(width: int = 400, height: int = 400) -> bytes:
    frames = [Image.new("RGB", (width, height), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims the given size, followed by pixel data that cannot fill it: opening it reads
    the size, decoding it fails (a decompression bomb's shape, or a frame cut off after its header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def jpeg_bytes(
    width: int, height: int, *, mode: str = "RGB", colour: tuple[int, ...] = (200, 80, 40), **options: object
) -> bytes:
    """A flat JPEG; `options` go to Pillow's JPEG writer (progressive=True, subsampling=0, exif=…)."""
    out = io.BytesIO()
    Image.new(mode, (width, height), colour).save(out, format="JPEG", **options)
    return out.getvalue()
