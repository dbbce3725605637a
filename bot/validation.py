"""Input rules checked before anything is spent."""

from __future__ import annotations

from bot.errors import InputRejected
from bot.images import ImageRules
from bot.settings import Settings


def image_rules(settings: Settings) -> ImageRules:
    limits = settings.limits
    return ImageRules(
        max_bytes=limits.max_image_bytes,
        min_side=limits.min_image_side,
        min_aspect=limits.min_aspect_ratio,
        max_aspect=limits.max_aspect_ratio,
        max_pixels=settings.frames.max_pixels,
    )


def clean_prompt(prompt: str, *, max_chars: int) -> str:
    """Trim the prompt and refuse an empty or overlong one."""
    text = prompt.strip()
    if not text:
        raise InputRejected("empty_prompt")
    if len(text) > max_chars:
        raise InputRejected("long_prompt", length=len(text), limit=max_chars)
    return text


def check_duration(duration: int, settings: Settings) -> int:
    model = settings.model
    if not model.min_duration <= duration <= model.max_duration:
        raise InputRejected("bad_duration", low=model.min_duration, high=model.max_duration)
    return duration
