"""A horizontal bar chart of seconds per member, drawn with Pillow (no plotting library needed)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

WIDTH, ROW, PAD, LABEL = 640, 34, 16, 180
BACKGROUND, INK, BAR = (43, 45, 49), (230, 230, 230), (88, 101, 242)


def usage_chart(title: str, rows: list[tuple[str, int]]) -> bytes:
    """PNG bytes: one bar per (label, seconds), longest first, at most 15 rows."""
    rows = sorted(rows, key=lambda r: r[1], reverse=True)[:15]
    height = PAD * 3 + ROW * max(1, len(rows)) + 20
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.text((PAD, PAD), title, fill=INK, font=font)
    top = max((s for _, s in rows), default=0) or 1
    span = WIDTH - LABEL - PAD * 3 - 60
    for i, (label, seconds) in enumerate(rows):
        y = PAD * 2 + 20 + i * ROW
        draw.text((PAD, y + 8), label[:26], fill=INK, font=font)
        length = max(2, round(span * seconds / top))
        draw.rectangle((LABEL, y + 4, LABEL + length, y + ROW - 8), fill=BAR)
        draw.text((LABEL + length + 8, y + 8), f"{seconds} s", fill=INK, font=font)
    if not rows:
        draw.text((PAD, PAD * 2 + 20), "No videos yet this period.", fill=INK, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
