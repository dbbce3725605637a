"""Reservations per second on the store: SQLite in one process beside PostgreSQL shared by 1, 2 and 4 processes.

    .venv/bin/python -m benchmarks.store --seconds 10

Each reservation is the real `Lifecycle.open`: the guild's and the member's pots, the job row and its ledger lines in
one transaction. Every process is a real OS process with its own pool (as a second `python -m bot` would have), and
all of them hammer one database. Requests spread over many guilds and members; a share of them (`--hot`) go to one
hot guild, so its pot row is contended as a popular server's would be. At the end the store must be exact: every
pot's reserved seconds equal the sum of its ledger's reserve lines, and every job has its lines.
PostgreSQL is a throwaway server started from the installed binaries (tests/support/postgres.py).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.dbcount import committed, count_statements, counts
from bot.db.connection import Database, open_database
from bot.db.guilds import GuildRepo
from bot.db.jobs import JobRepo
from bot.models import Requester
from bot.periods import utcnow
from bot.services.budget import BudgetService
from bot.services.lifecycle import Draft, Lifecycle
from tests.support.postgres import PostgresServer, create_database, start_server
from tests.support.settings import make_settings

SHARD_STEP = 4_194_304  # guild ids one apart in their timestamp bits land on successive shards
GUILDS = 2_000
MEMBERS = 50
HOT_GUILD = SHARD_STEP * 999_983
DURATION = 5


@dataclass
class Sample:
    done: int
    latencies: list[float]
    statements: int = 0


def lifecycle_on(db: Database) -> tuple[Lifecycle, GuildRepo]:
    settings = make_settings(budget={"default_seconds": 10**12, "member_seconds": 10**12})
    guilds = GuildRepo(db, settings)
    return Lifecycle(db, JobRepo(db), BudgetService(db, guilds, JobRepo(db), settings), utcnow), guilds


async def hammer(target: str, seconds: float, workers: int, hot: float, seed: int) -> Sample:
    async with open_database(target) as db:
        lifecycle, guilds = lifecycle_on(db)
        sample = Sample(0, [])
        stop = time.monotonic() + seconds

        async def worker(rand: random.Random) -> None:
            while time.monotonic() < stop:
                guild = HOT_GUILD if rand.random() < hot else SHARD_STEP * (1 + rand.randrange(GUILDS))
                who = Requester(guild, rand.randrange(MEMBERS), 1)
                draft = Draft(who, "p", DURATION, price_micros=560_000, model="m", upload_limit=1)
                began = time.perf_counter()
                await lifecycle.open(draft, await guilds.policy(guild))
                sample.latencies.append(time.perf_counter() - began)
                sample.done += 1

        await asyncio.gather(*(worker(random.Random(seed * 1000 + n)) for n in range(workers)))
        return sample


def _process_main(target: str, seconds: float, workers: int, hot: float, seed: int, start_at: float) -> Sample:
    time.sleep(max(0.0, start_at - time.time()))  # all processes begin together, after their imports
    count_statements()
    sample = asyncio.run(hammer(target, seconds, workers, hot, seed))
    sample.statements = counts["statements"]
    return sample


def run(target: str, processes: int, seconds: float, workers: int, hot: float) -> tuple[list[Sample], float]:
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 3.0
    with ctx.Pool(processes) as pool:
        args = [(target, seconds, workers, hot, n + 1, start_at) for n in range(processes)]
        samples = pool.starmap(_process_main, args)
    return samples, seconds


async def exactness(target: str) -> str:
    async with open_database(target) as db:
        pots = await db.fetch_all(
            "SELECT p.id, p.reserved_seconds, COALESCE(SUM(l.seconds), 0) AS lines FROM pots p "
            "LEFT JOIN ledger l ON l.pot_id = p.id AND l.kind = 'reserve' GROUP BY p.id, p.reserved_seconds"
        )
        wrong = [row["id"] for row in pots if row["reserved_seconds"] != row["lines"]]
        jobs = (await db.fetch_one("SELECT COUNT(*) FROM jobs"))[0]
        lines = (await db.fetch_one("SELECT COUNT(DISTINCT job_id) FROM ledger WHERE kind = 'reserve'"))[0]
        reserved = (await db.fetch_one("SELECT COALESCE(SUM(reserved_seconds), 0) FROM pots"))[0]
    verdict = "exact" if not wrong and jobs == lines else f"NOT EXACT: pots {wrong[:5]}, jobs {jobs} lines {lines}"
    return f"{verdict} ({jobs} jobs, {len(pots)} pots, {reserved} s reserved = ledger)"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def row(name: str, samples: list[Sample], seconds: float, check: str, commits: int | None = None) -> str:
    latencies = [x for s in samples for x in s.latencies]
    done = sum(s.done for s in samples)
    p50, p99 = pct(latencies, 0.5) * 1000, pct(latencies, 0.99) * 1000
    sent = sum(s.statements for s in samples) / max(done, 1)
    per = f"{sent:.1f}" if sent else "–"
    txs = f"{commits / max(done, 1):.2f}" if commits is not None else "–"
    return f"| {name} | {done / seconds:,.0f} | {p50:.1f} | {p99:.1f} | {per} | {txs} | {check} |"


async def fresh_postgres(server: PostgresServer) -> str:
    url = server.url(await create_database(server))
    async with open_database(url):  # migrated before the clock starts
        pass
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each column hammers")
    parser.add_argument("--workers", type=int, default=8, help="reservations in flight per process")
    parser.add_argument("--hot", type=float, default=0.1, help="share of reservations for the one hot guild")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4], help="PostgreSQL columns")
    args = parser.parse_args()
    lines = [
        "| store | reservations/s | p50 (ms) | p99 (ms) | statements each | commits each | exactness at the end |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "bench.sqlite3")
        asyncio.run(exactness(path))  # migrates the file
        samples, seconds = run(path, 1, args.seconds, args.workers, args.hot)
        lines.append(row("SQLite, 1 process", samples, seconds, asyncio.run(exactness(path))))
    server = start_server()
    try:
        for processes in args.processes:
            url = asyncio.run(fresh_postgres(server))
            database = url.rsplit("/", 1)[1]
            before = asyncio.run(committed(server.url(), database))
            samples, seconds = run(url, processes, args.seconds, args.workers, args.hot)
            commits = asyncio.run(committed(server.url(), database)) - before
            name = f"PostgreSQL, {processes} process{'es' if processes > 1 else ''}"
            lines.append(row(name, samples, seconds, asyncio.run(exactness(url)), commits))
    finally:
        server.stop()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
