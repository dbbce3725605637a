"""A fake fal.ai (queue, storage, CDN) for Tween's tests; the real one: /work/shared/reference/fal-queue-api.md."""

from tests.fakes.fal.cli import main
from tests.fakes.fal.model import (
    ADMIN_LOCK,
    EXHAUSTED_BALANCE,
    MODEL,
    MODELS,
    STANDARD_MODEL,
    Fault,
    JobScript,
    RequestRecord,
    StoredFile,
    SubmitRecord,
)
from tests.fakes.fal.server import FakeFal

__all__ = [
    "ADMIN_LOCK",
    "EXHAUSTED_BALANCE",
    "MODEL",
    "MODELS",
    "STANDARD_MODEL",
    "FakeFal",
    "Fault",
    "JobScript",
    "RequestRecord",
    "StoredFile",
    "SubmitRecord",
    "main",
]
