"""Fixtures every suite shares."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.log import NOISY


@pytest.fixture
def root_logging() -> Iterator[None]:
    """setup_logging rewires the root logger; put pytest's handlers and every level back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {name: logging.getLogger(name).level for name in NOISY})
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)
