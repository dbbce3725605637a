"""A fake fal.ai (queue, storage, CDN) for Tween's tests; the real one: /work/shared/reference/fal-queue-api.md."""

from tests.fakes.fal.cli import main
from tests.fakes.fal.model import (
    ADMIN_LOCK,
    ERROR_TYPES,
    EXHAUSTED_BALANCE,
    MODEL,
    MODELS,
    PRICE_MICROS,
    STANDARD_MODEL,
    BillLine,
    Fault,
    JobHistory,
    JobScript,
    RequestRecord,
    StoredFile,
    SubmitRecord,
)
from tests.fakes.fal.server import FakeFal
from tests.fakes.fal.stream import StreamHub, StreamRecord, StreamScript

__all__ = [
    "ADMIN_LOCK",
    "ERROR_TYPES",
    "EXHAUSTED_BALANCE",
    "MODEL",
    "MODELS",
    "PRICE_MICROS",
    "STANDARD_MODEL",
    "BillLine",
    "FakeFal",
    "Fault",
    "JobHistory",
    "JobScript",
    "RequestRecord",
    "StoredFile",
    "StreamHub",
    "StreamRecord",
    "StreamScript",
    "SubmitRecord",
    "main",
]
