"""What was wrong with what a member sent (a frame, a prompt, a duration, a place), in their own language; part of
cogs/errors.py, which turns every error into words, kept apart to keep each module short."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bot.errors import ImageRejected, InputRejected
from bot.i18n import tr


def charged(locale: str | None) -> str:
    """The sentence every refusal ends with: the member's seconds are untouched."""
    return tr(locale, "message.answers.nothing_charged", "Nothing was charged.")


def decimal(value: float, digits: int, locale: str | None) -> str:
    """A plain number (not money) with the reader's decimal mark: 16.8 in English, 16,8 in German."""
    return f"{value:.{digits}f}".replace(".", tr(locale, "message.answers.decimal_mark", "."))


def megabytes(size: int, locale: str | None) -> str:
    return tr(locale, "message.answers.megabytes", "{size} MB", size=decimal(size / 1_000_000, 1, locale))


def _frame_name(frame: str, locale: str | None) -> str:
    if frame == "start":
        return tr(locale, "message.answers.frame.start", "The start frame")
    if frame == "end":
        return tr(locale, "message.answers.frame.end", "The end frame")
    return tr(locale, "message.answers.frame.other", "That image")


def image_text(error: ImageRejected, locale: str | None) -> str:
    who, d, reason = _frame_name(error.frame, locale), error.details, error.reason
    if reason == "too_many_pixels":
        return _too_many_pixels(who, d, locale)
    if reason == "bad_aspect":
        return _bad_aspect(who, d, locale)
    texts = {
        "empty": lambda: tr(locale, "message.answers.image.empty", "{frame} is empty.", frame=who),
        "too_large": lambda: tr(
            locale,
            "message.answers.image.too_large",
            "{frame} is {size}; fal.ai takes images up to {limit}.",
            frame=who,
            size=megabytes(d.get("size", 0), locale),
            limit=megabytes(d.get("limit", 0), locale),
        ),
        "not_an_image": lambda: tr(
            locale,
            "message.answers.image.not_an_image",
            "{frame} isn't an image I can read. Send a PNG, JPEG or WebP file.",
            frame=who,
        ),
        "corrupt": lambda: tr(
            locale,
            "message.answers.image.corrupt",
            "{frame} looks damaged or cut off. Export it again and retry.",
            frame=who,
        ),
        "animated": lambda: tr(
            locale,
            "message.answers.image.animated",
            "{frame} is animated. Send a single still frame (PNG, JPEG or WebP).",
            frame=who,
        ),
        "too_small": lambda: tr(
            locale,
            "message.answers.image.too_small",
            "{frame} is {width}×{height} px; both sides must be at least {side} px.",
            frame=who,
            width=d.get("width"),
            height=d.get("height"),
            side=d.get("min_side"),
        ),
    }
    text = texts.get(reason)
    return text() if text else tr(locale, "message.answers.image.unusable", "{frame} can't be used.", frame=who)


def _bad_aspect(who: str, d: dict[str, Any], locale: str | None) -> str:
    values = {
        "frame": who,
        "ratio": decimal(d.get("ratio", 0), 2, locale),
        "low": decimal(d.get("min_ratio", 0), 2, locale),
        "high": decimal(d.get("max_ratio", 0), 2, locale),
    }
    if d.get("ratio", 1) > 1:
        return tr(
            locale,
            "message.answers.image.too_wide",
            "{frame} is too wide (aspect ratio {ratio}); it must be between {low} and {high}.",
            **values,
        )
    return tr(
        locale,
        "message.answers.image.too_tall",
        "{frame} is too tall (aspect ratio {ratio}); it must be between {low} and {high}.",
        **values,
    )


def _too_many_pixels(who: str, d: dict[str, Any], locale: str | None) -> str:
    limit = d.get("limit", 0)
    side = math.isqrt(limit)
    square = (
        f"{side}×{side} px"
        if side * side == limit
        else tr(locale, "message.answers.pixels.about", "about {side}×{side} px", side=side)
    )
    sizes = {"megapixels": decimal(limit / 1e6, 1, locale), "square": square}
    if d.get("kind"):
        takes = tr(
            locale,
            "message.answers.pixels.takes_kind",
            "Tween takes {kind} frames up to {megapixels} megapixels ({square})",
            kind=d["kind"],
            **sizes,
        )
    else:
        takes = tr(
            locale,
            "message.answers.pixels.takes",
            "Tween takes frames up to {megapixels} megapixels ({square})",
            **sizes,
        )
    if "width" not in d:
        return tr(
            locale,
            "message.answers.image.far_too_many_pixels",
            "{frame} has far too many pixels to open. {takes}: scale it down and send it again.",
            frame=who,
            takes=takes,
        )
    width, height = d["width"], d["height"]
    return tr(
        locale,
        "message.answers.image.too_many_pixels",
        "{frame} is {width}×{height} px ({megapixels} megapixels); {takes}. {advice}",
        frame=who,
        width=width,
        height=height,
        megapixels=decimal(width * height / 1e6, 1, locale),
        takes=takes,
        advice=_pixel_advice(d.get("advice", ""), locale),
    )


def _pixel_advice(advice: str, locale: str | None) -> str:
    if advice == "png":
        return tr(locale, "message.answers.pixels.advice_png", "Scale it down, or send it as a PNG or JPEG.")
    if advice == "jpeg":
        return tr(
            locale,
            "message.answers.pixels.advice_jpeg",
            "Scale it down, or send it as a JPEG: Tween shrinks big JPEGs itself.",
        )
    if advice == "baseline":
        return tr(
            locale,
            "message.answers.pixels.advice_baseline",
            "Scale it down, or save it as a standard JPEG rather than a progressive one: Tween shrinks those itself.",
        )
    return tr(locale, "message.answers.pixels.advice_scale", "Scale it down and send it again.")


def input_text(error: InputRejected, locale: str | None) -> str:
    text = _INPUT_TEXTS.get(error.reason)
    if text is not None:
        return text(locale, error.details)
    return tr(locale, "message.answers.input.unusable", "That input can't be used.")


def _long_prompt(locale: str | None, d: dict[str, Any]) -> str:
    return tr(
        locale,
        "message.answers.input.long_prompt",
        "Your prompt is {length} characters; the limit is {limit}.",
        length=d.get("length"),
        limit=d.get("limit"),
    )


def _bad_duration(locale: str | None, d: dict[str, Any]) -> str:
    return tr(
        locale,
        "message.answers.input.bad_duration",
        "Pick a duration from {low} to {high} seconds.",
        low=d.get("low"),
        high=d.get("high"),
    )


def _unknown_tier(locale: str | None, d: dict[str, Any]) -> str:
    return tr(
        locale,
        "message.answers.input.unknown_tier",
        "There is no tier called `{tier}` here. Pick one of: {known}.",
        tier=d.get("tier"),
        known=", ".join(f"`{t}`" for t in d.get("known", [])),
    )


def guild_only(locale: str | None) -> str:
    return tr(locale, "message.answers.input.guild_only", "Tween works in server channels, not in direct messages.")


_INPUT_TEXTS: dict[str, Callable[[str | None, dict[str, Any]], str]] = {
    "empty_prompt": lambda locale, _: tr(
        locale,
        "message.answers.input.empty_prompt",
        "Your prompt is empty. Describe the motion between the two frames.",
    ),
    "long_prompt": _long_prompt,
    "bad_duration": _bad_duration,
    "unreadable_attachment": lambda locale, _: tr(
        locale,
        "message.answers.input.unreadable_attachment",
        "I couldn't download your attachment from Discord. Please try again.",
    ),
    "guild_only": lambda locale, _: guild_only(locale),
    "empty_word": lambda locale, _: tr(locale, "message.answers.input.empty_word", "That word is empty."),
    "missing_start": lambda locale, _: tr(
        locale,
        "message.answers.input.missing_start",
        "Attach a start frame (and usually an end frame). Inside a Tween thread, /tween-again reuses the thread's "
        "frames.",
    ),
    "again_outside_thread": lambda locale, _: tr(
        locale,
        "message.answers.input.again_outside_thread",
        "/tween-again makes the next version inside a Tween thread, reusing its frames and prompt. Here, start a new "
        "video with /tween and attach a start frame.",
    ),
    "no_session": lambda locale, _: tr(
        locale,
        "message.answers.input.no_session",
        "That video isn't part of a Tween thread, so it can't be re-rolled here.",
    ),
    "swap_needs_two": lambda locale, _: tr(
        locale, "message.answers.input.swap_needs_two", "Swapping needs both a start and an end frame."
    ),
    "not_a_session": lambda locale, _: tr(
        locale, "message.answers.input.not_a_session", "Use /history inside a Tween thread."
    ),
    "approval_needs_seconds": lambda locale, _: tr(
        locale,
        "message.answers.input.approval_needs_seconds",
        "With the `over` policy, say how many seconds a job may have without approval.",
    ),
    "approval_needs_role": lambda locale, _: tr(
        locale,
        "message.answers.input.approval_needs_role",
        "With the `without_role` policy, pick the role whose members skip approval.",
    ),
    "unknown_tier": _unknown_tier,
}
