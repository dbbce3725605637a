"""The fake output video: deterministic bytes per request id, generated chunk by chunk so size costs no memory."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

CHUNK = 64 * 1024
FTYP = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"mp42", 0, b"mp42", b"isom")


def _mdat_header(size: int) -> bytes:
    payload = size - len(FTYP)
    if payload <= 0xFFFFFFFF:
        return struct.pack(">I4s", payload, b"mdat")
    return struct.pack(">I4sQ", 1, b"mdat", payload)  # 64-bit "largesize" form


def video_chunks(request_id: str, size: int) -> Iterator[bytes]:
    """Exactly `size` bytes: an ftyp box, an mdat box spanning the rest, then noise seeded by the request id.
    Each chunk starts with its own index, so a download that repeats or skips a chunk cannot match."""
    noise = random.Random(request_id).randbytes(CHUNK)
    header = FTYP + _mdat_header(size)
    for index, offset in enumerate(range(0, size, CHUNK)):
        chunk = struct.pack(">Q", index) + noise[8:]
        if index == 0:
            chunk = header + chunk[len(header) :]
        yield chunk[: size - offset]
