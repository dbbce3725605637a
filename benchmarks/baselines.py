"""The typical way, for the baselines in benchmarks/core.py: what a bot does when it does not take care."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

from bot.db.connection import open_database


async def reservations(folder: str, concurrent: int, budget_jobs: int, seconds: int = 5) -> tuple[int, float]:
    """Check the budget, then spend it, as two statements: (granted, per second). Both awaits let others in."""
    async with open_database(str(Path(folder) / "naive.sqlite3")) as db:
        await db.execute("CREATE TABLE budget (id INTEGER PRIMARY KEY, remaining INTEGER NOT NULL)")
        await db.execute("INSERT INTO budget VALUES (1, ?)", (budget_jobs * seconds,))

        async def one() -> bool:
            row = await db.fetch_one("SELECT remaining FROM budget WHERE id = 1")
            if row is None or row[0] < seconds:
                return False
            await db.execute("UPDATE budget SET remaining = remaining - ? WHERE id = 1", (seconds,))
            return True

        started = time.perf_counter()
        granted = sum(await asyncio.gather(*(one() for _ in range(concurrent))))
        return granted, concurrent / (time.perf_counter() - started)


@contextlib.contextmanager
def startup(db_path: str, api_key: str) -> Iterator[tuple[float, int]]:
    """One task per open job asking its status every 0.1 s from the start, in a process of its own (so it can be
    stopped at once): (seconds to start them all, how many). Every one's first request is due at once; the caller
    counts fal's answers while inside."""
    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    process = ctx.Process(target=_startup_main, args=(theirs, db_path, api_key), daemon=True)
    process.start()
    try:
        yield mine.recv()
    finally:
        process.kill()
        process.join(5)


def _startup_main(conn: Connection, db_path: str, api_key: str) -> None:
    asyncio.run(_startup(conn, db_path, api_key))


async def _startup(conn: Connection, db_path: str, api_key: str) -> None:
    started = time.perf_counter()
    async with open_database(db_path) as db:
        rows = await db.fetch_all("SELECT status_url FROM jobs WHERE state IN ('queued', 'running')")
    async with httpx.AsyncClient(timeout=30) as http:

        async def follow(url: str) -> None:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    await http.get(url, headers={"Authorization": f"Key {api_key}"})
                await asyncio.sleep(0.1)

        tasks = [asyncio.create_task(follow(r[0])) for r in rows]
        conn.send((time.perf_counter() - started, len(tasks)))
        # Until killed; and gone with the benchmark if that is killed first (the pipe closes).
        await asyncio.to_thread(_wait_closed, conn)
    os._exit(0)


def _wait_closed(conn: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        conn.recv()
