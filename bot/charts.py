"""The /usage chart, drawn with Pillow: seconds and dollars per member, and per day (per hour for a daily budget).

Discord shows an embed image at most about 400 px wide and 300 px high, scaling larger ones down. The chart is drawn
at twice that (800 px wide, never taller than 600) with 22-34 px type, so scaled down it reads as 11-17 px text."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont

from bot.i18n import tr
from bot.pricing import format_usd

WIDTH, MAX_HEIGHT, PAD = 800, 600, 28
MAX_MEMBERS = 5  # what fits above the time axis within MAX_HEIGHT; the text answer and the CSV list everyone
ROW, NAME_WIDTH, VALUE_WIDTH = 42, 230, 170
HEADER, SECTION, COLUMNS_HEIGHT, AXIS_LABELS = 84, 38, 100, 34
BACKGROUND, INK, MUTED, BAR, AXIS = (43, 45, 49), (242, 243, 245), (181, 186, 193), (88, 101, 242), (78, 80, 88)


class Share(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def seconds(self) -> int: ...
    @property
    def micros(self) -> int: ...


class Step(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def seconds(self) -> int: ...
    @property
    def micros(self) -> int: ...


def money(seconds: int, micros: int) -> str:
    return f"{seconds} s · {format_usd(micros)}"


def day_label(moment: datetime) -> str:
    return f"{moment:%a} {moment.day}"


def slot_label(moment: datetime, hourly: bool, *, dated: bool = False) -> str:
    """An hour, a weekday and day ("Wed 2"), or with `dated` a day and month ("2 Dec") for longer axes."""
    if hourly:
        return f"{moment:%H:%M}"
    return f"{moment.day} {moment:%b}" if dated else day_label(moment)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled scalable font (Aileron): no font file to ship, and the same look on every host.
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    """`text`, cut with an ellipsis so that it is at most `width` pixels wide."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def usage_chart(title: str, subtitle: str, members: Sequence[Share], steps: Sequence[Step], *, hourly: bool) -> bytes:
    """PNG bytes: a header, one bar per member (biggest first, at most MAX_MEMBERS) and a column per time step."""
    shown = list(members[:MAX_MEMBERS])
    rows = max(1, len(shown)) + (1 if len(members) > MAX_MEMBERS else 0)
    height = PAD + HEADER + SECTION + rows * ROW + 12 + SECTION + COLUMNS_HEIGHT + AXIS_LABELS + PAD // 2
    assert height <= MAX_HEIGHT
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((PAD, PAD), _fit(draw, title, _font(34), WIDTH - 2 * PAD), fill=INK, font=_font(34))
    draw.text((PAD, PAD + 46), _fit(draw, subtitle, _font(24), WIDTH - 2 * PAD), fill=MUTED, font=_font(24))
    y = PAD + HEADER
    draw.text((PAD, y), "Per member", fill=MUTED, font=_font(24))
    y = _member_bars(draw, shown, len(members), y + SECTION)
    _columns(draw, steps, y + 12, hourly=hourly)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _member_bars(draw: ImageDraw.ImageDraw, shown: list[Share], total: int, y: int) -> int:
    font, small = _font(26), _font(22)
    if not shown:
        draw.text((PAD, y + 6), "No videos charged yet this period.", fill=INK, font=font)
        return y + ROW
    top = max(m.seconds for m in shown) or 1
    left = PAD + NAME_WIDTH + 12
    span = WIDTH - PAD - VALUE_WIDTH - left
    for member in shown:
        draw.text((PAD, y + 6), _fit(draw, member.label, font, NAME_WIDTH), fill=INK, font=font)
        length = max(3, round(span * member.seconds / top))
        draw.rectangle((left, y + 6, left + length, y + ROW - 8), fill=BAR)
        draw.text((left + length + 10, y + 8), money(member.seconds, member.micros), fill=INK, font=small)
        y += ROW
    if total > len(shown):
        draw.text((PAD, y + 8), f"…and {total - len(shown)} more (see the CSV)", fill=MUTED, font=small)
        y += ROW
    return y


def _columns(draw: ImageDraw.ImageDraw, steps: Sequence[Step], y: int, *, hourly: bool) -> None:
    small = _font(22)
    busiest = max(steps, key=lambda s: s.seconds, default=None)
    heading = "Per hour (UTC)" if hourly else "Per day (UTC)"
    if busiest is not None and busiest.seconds:
        heading += f" · busiest {slot_label(busiest.start, hourly)}: {money(busiest.seconds, busiest.micros)}"
    draw.text((PAD, y), _fit(draw, heading, _font(24), WIDTH - 2 * PAD), fill=MUTED, font=_font(24))
    base = y + SECTION + COLUMNS_HEIGHT
    draw.line((PAD, base, WIDTH - PAD, base), fill=AXIS, width=2)
    if not steps:
        return
    peak = max(s.seconds for s in steps) or 1
    width = (WIDTH - 2 * PAD) / len(steps)
    every = 1 if len(steps) <= 8 else (6 if hourly else 7)  # labels that do not overlap: a week, every 6 h, weekly
    for i, step in enumerate(steps):
        x0 = PAD + i * width
        if step.seconds:
            height = max(3, round((COLUMNS_HEIGHT - 28) * step.seconds / peak))
            draw.rectangle((x0 + width * 0.15, base - height, x0 + width * 0.85, base), fill=BAR)
            if len(steps) <= 8:
                draw.text((x0 + width / 2, base - height - 4), f"{step.seconds} s", fill=INK, font=small, anchor="md")
        if i % every == 0:
            draw.text(
                (x0 + width / 2 if every == 1 else x0, base + 6),
                slot_label(step.start, hourly, dated=every > 1),
                fill=MUTED,
                font=small,
                anchor="ma" if every == 1 else "la",
            )


def usage_alt(
    title: str, members: Sequence[Share], steps: Sequence[Step], *, hourly: bool, locale: str | None = None
) -> str:
    """The chart in words, for screen readers (Discord allows 1024 characters of attachment description), in the
    moderator's language; `title` is the chart's own (English) heading, quoted as the image shows it."""
    nobody = tr(locale, "message.moderation.usage.alt_nobody", "nobody yet")
    who = "; ".join(f"{m.label} {money(m.seconds, m.micros)}" for m in members[:10]) or nobody
    busy = [s for s in steps if s.seconds]
    none = tr(locale, "message.moderation.none", "none")
    when = "; ".join(f"{slot_label(s.start, hourly)} {s.seconds} s" for s in busy[:12]) or none
    values = {"title": title, "members": who, "when": when}
    if hourly:
        text = tr(
            locale,
            "message.moderation.usage.alt_hours",
            "Chart: {title}. Per member: {members}. Hours with videos: {when}.",
            **values,
        )
    else:
        text = tr(
            locale,
            "message.moderation.usage.alt_days",
            "Chart: {title}. Per member: {members}. Days with videos: {when}.",
            **values,
        )
    return text if len(text) <= 1024 else text[:1023] + "…"
