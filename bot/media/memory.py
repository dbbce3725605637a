"""Giving a re-encode's memory back to the system, and keeping its peak steady.

A fit allocates and frees tens of MB of frame buffers. glibc keeps what was freed in its heaps for reuse, so a bot
that fits video after video sits on about 110 MB it is not using (BENCHMARKS.md: 45 MiB at rest before the first fit,
112-124 MiB after ten), and how much a fit adds on top depends on what earlier ones left (47-69 MiB in 16 runs).
Blocks over 128 KiB mapped on their own (and unmapped when freed) make it 57-63 MiB every time, at the same CPU; a
trim after each fit returns the rest. Elsewhere (musl, macOS) both do nothing."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
from collections.abc import Callable

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MAPPED_FROM = 128 * 1024


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    with contextlib.suppress(OSError):
        return ctypes.CDLL(name)
    return None


def _function(name: str) -> Callable[..., int] | None:
    libc = _libc()
    return getattr(libc, name, None) if libc is not None else None


@functools.cache
def map_large_blocks() -> bool:
    """Once per process: glibc maps blocks of MAPPED_FROM bytes or more on their own (MALLOC_MMAP_THRESHOLD_)."""
    mallopt = _function("mallopt")
    return bool(mallopt is not None and mallopt(M_MMAP_THRESHOLD, MAPPED_FROM) == 1)


def give_back_freed_memory() -> bool:
    """True when the C library was asked to return its free heap memory (glibc's malloc_trim)."""
    trim = _function("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True
