"""fal's rules for the Kling O1 input (reference §9): the submit body, and the frames the runner fetches."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

DURATIONS = tuple(str(n) for n in range(3, 11))
REQUIRED = ("prompt", "start_image_url")
OPTIONAL = ("end_image_url", "duration")
IMAGE_FIELDS = ("start_image_url", "end_image_url")
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_SIDE = 300
MIN_ASPECT, MAX_ASPECT = 0.40, 2.50

Detail = dict[str, Any]


def _error(field: str | None, msg: str, kind: str, value: Any = None, **ctx: Any) -> Detail:
    detail: Detail = {"loc": ["body", field] if field else ["body"], "msg": msg, "type": kind}
    if value is not None:
        detail["input"] = value
    if ctx:
        detail["ctx"] = ctx
    return detail


def input_errors(body: Any) -> list[Detail]:
    """Pydantic-style 422 items for a submit body; empty when fal would take it."""
    if not isinstance(body, dict):
        return [_error(None, "Input should be a valid dictionary", "dict_type", body)]
    errors = [
        _error(name, "Extra inputs are not permitted", "extra_forbidden", value)
        for name, value in body.items()
        if name not in REQUIRED + OPTIONAL
    ]
    errors += [_error(name, "Field required", "missing") for name in REQUIRED if name not in body]
    for name in ("prompt", *IMAGE_FIELDS):
        if name in body and not isinstance(body[name], str):
            errors.append(_error(name, "Input should be a valid string", "string_type", body[name]))
    duration = body.get("duration", DURATIONS[2])
    if not (isinstance(duration, str) and duration in DURATIONS):
        expected = ", ".join(f"'{d}'" for d in DURATIONS[:-1]) + f" or '{DURATIONS[-1]}'"
        errors.append(_error("duration", f"Input should be {expected}", "enum", duration, expected=expected))
    return errors


def download_error(field: str, url: str, why: str) -> Detail:
    return _error(field, f"Failed to download the file from the URL: {why}", "file_download_error", url)


def image_error(field: str, url: str, data: bytes) -> Detail | None:
    """Why the runner would refuse these bytes as the image in `field`, or None."""
    if len(data) > MAX_IMAGE_BYTES:
        return _error(field, "Image is larger than 10 MB", "image_too_large", url, max_bytes=MAX_IMAGE_BYTES)
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            image.verify()
    except Exception:  # Pillow raises many kinds for bytes that are not a readable image.
        return _error(field, "Could not read the file as an image", "image_load_error", url)
    if min(width, height) < MIN_SIDE:
        return _error(
            field, f"Image must be at least {MIN_SIDE}×{MIN_SIDE} pixels, got {width}×{height}", "image_too_small", url
        )
    if not MIN_ASPECT <= width / height <= MAX_ASPECT:
        return _error(
            field,
            f"Image aspect ratio (width/height) must be between {MIN_ASPECT:.2f} and {MAX_ASPECT:.2f}, "
            f"got {width / height:.2f}",
            "invalid_aspect_ratio",
            url,
        )
    return None
