"""The two frames Mira attaches: a city at night and the same skyline at sunrise (drawn, so nothing is downloaded)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

SIZE = (1280, 720)


def _sky(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(SIZE[1]):
        t = y / SIZE[1]
        draw.line([(0, y), (SIZE[0], y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return image


def _skyline(draw: ImageDraw.ImageDraw, colour: tuple[int, int, int], lit: float) -> None:
    rng = random.Random(7)
    x = 0
    while x < SIZE[0]:
        width, height = rng.randint(70, 140), rng.randint(180, 460)
        top = SIZE[1] - height
        draw.rectangle([x, top, x + width - 6, SIZE[1]], fill=colour)
        for wy in range(top + 16, SIZE[1] - 10, 28):
            for wx in range(x + 10, x + width - 20, 22):
                if rng.random() < lit:
                    draw.rectangle([wx, wy, wx + 9, wy + 13], fill=(255, 214, 102))
        x += width


def night() -> bytes:
    image = _sky((12, 18, 58), (40, 52, 110))
    draw = ImageDraw.Draw(image)
    rng = random.Random(3)
    for _ in range(120):
        sx, sy = rng.randrange(SIZE[0]), rng.randrange(SIZE[1] // 2)
        draw.point((sx, sy), fill=(230, 230, 255))
    draw.ellipse([980, 70, 1080, 170], fill=(246, 241, 213))
    _skyline(draw, (22, 24, 40), lit=0.55)
    return _encode(image, "PNG")


def sunrise() -> bytes:
    image = _sky((244, 150, 96), (252, 214, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse([560, 330, 720, 490], fill=(255, 236, 120))
    _skyline(draw, (92, 70, 96), lit=0.04)
    return _encode(image, "JPEG")


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, quality=88)
    return out.getvalue()
