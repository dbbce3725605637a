"""Fixtures every suite shares, and the asyncio side of a timeout's stack dump."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from bot.log import NOISY
from tests.support import media, postgres

_TASK_DUMP = pytest.StashKey[threading.Timer]()


@pytest.fixture(scope="session", autouse=True)
def test_videos() -> None:
    """Make (or find in the cache) the real MP4s the fake fal serves, before any test's event loop runs: making one
    inside a fake's handler would stall the bot under test."""
    for seconds in range(3, 11):
        media.small_video(seconds)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """This session's own PostgreSQL server (started on first use, stopped at the end); see tests/support/postgres.py.
    Missing binaries fail the tests that need it, with how to install them: never a skip."""
    try:
        server = postgres.start_server()
    except postgres.PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: postgres.PostgresServer) -> Iterator[str]:
    """A fresh empty database for this test alone, as a postgresql:// URL (asyncpg, TWEEN_DATABASE_URL); dropped
    afterwards even if something still holds a connection to it."""
    name = postgres.run_sync(postgres.create_database(postgres_server))
    yield postgres_server.url(name)
    postgres.run_sync(postgres.drop_database(postgres_server, name))


@pytest.fixture
def root_logging() -> Iterator[None]:
    """setup_logging rewires the root logger; put pytest's handlers and every level back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {name: logging.getLogger(name).level for name in NOISY})
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    """pytest-timeout's dump shows a hung async test's thread waiting in select(); where it is stuck is in its
    tasks. Half a second before the dump, write every pending task's stack (it shows up as captured stderr)."""
    if settings.method != "thread" or settings.timeout <= 1:
        return
    timer = threading.Timer(settings.timeout - 0.5, _dump_pending_tasks)
    timer.daemon = True
    timer.start()
    item.stash[_TASK_DUMP] = timer


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    if (timer := item.stash.get(_TASK_DUMP, None)) is not None:
        timer.cancel()


def _dump_pending_tasks() -> None:
    tasks = [t for t in gc.get_objects() if isinstance(t, asyncio.Task) and not t.done()]
    lines = [f"\n{len(tasks)} asyncio task(s) pending, each down the chain of awaits:"]
    for task in tasks:
        frames = []
        awaited: Any = task.get_coro()
        while awaited is not None:
            if (frame := getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)) is not None:
                frames.append((frame, frame.f_lineno))
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        lines.append(f"{task!r}:\n" + "".join(traceback.StackSummary.extract(frames).format()).rstrip())
    print("\n".join(lines), file=sys.stderr)


@pytest.fixture(scope="session")
def postgres_stock(postgres_server: postgres.PostgresServer) -> Iterator[postgres.MigratedStock]:
    stock = postgres.MigratedStock(postgres_server)
    yield stock
    stock.close()


@pytest.fixture
def tween_postgres_url(
    postgres_server: postgres.PostgresServer, postgres_stock: postgres.MigratedStock
) -> Iterator[str]:
    """A database of this test's own with Tween's schema in place (what a first start would have made)."""
    name = postgres_stock.take()
    yield postgres_server.url(name)
    postgres_stock.give_back(name)
