"""Images made in memory for tests."""

from __future__ import annotations

import io

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
