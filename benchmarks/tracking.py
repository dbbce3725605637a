"""Tracking many jobs at once: Tween's tracker beside the way a typical bot does it (one coroutine per job asking
fal's status every 0.1 s, fal_client's `subscribe` default).

    .venv/bin/python -m benchmarks.tracking --jobs 1000 --scale 2

Each side runs in its own process, and so does each fake fal, so no side pays for another's work. Tween's run uses
realistic phases (queue 10-60 s at position 5, runs 60-240 s) shortened by `--scale`; figures are in those phases'
time ("per minute" means per minute of the real phases). Tween starts with the run lengths of 200 earlier jobs in its
database, drawn from the same distribution with another seed, as a bot that has been running for a while has.
The baseline runs in real time (0.1 s is 0.1 s) on short phases: how often it asks does not depend on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import random
import socket
import statistics
import tempfile
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import rss_mb
from benchmarks.probes import LagProbe
from bot.db.connection import Database, open_database
from bot.fal import FalClient
from bot.models import Transition
from bot.ops.health import GatewayState
from bot.ops.wiring import operations
from bot.periods import to_db, utcnow
from bot.services import build_services
from tests.fakes.fal_server import MODEL, FakeFal, JobScript
from tests.support.images import image_bytes
from tests.support.publisher import RecordingPublisher
from tests.support.settings import make_settings

PACED = ("queued_interval", "queued_interval_cap", "running_interval", "running_sparse_interval", "error_backoff_cap")
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "default.toml"
DEFAULT_TRACKER = tomllib.loads(DEFAULT_CONFIG.read_text())["tracker"]

KEY = "bench"
POSITION = 5


@dataclass(frozen=True)
class Phases:
    queue: tuple[float, float]
    run: tuple[float, float]


REALISTIC = Phases(queue=(10, 60), run=(60, 240))
SHORT = Phases(queue=(1, 3), run=(4, 12))


def scripts(n: int, phases: Phases, scale: float, seed: int) -> list[JobScript]:
    rand = random.Random(seed)
    return [
        JobScript(
            queue_seconds=rand.uniform(*phases.queue) / scale,
            queue_position=POSITION,
            run_seconds=rand.uniform(*phases.run) / scale,
            video_size=1024,
        )
        for _ in range(n)
    ]


# The fake fal, in a process of its own -------------------------------------------------------------------------


def _fake_main(conn: Connection, n: int, phases: Phases, scale: float, seed: int) -> None:
    asyncio.run(_fake(conn, n, phases, scale, seed))


async def _fake(conn: Connection, n: int, phases: Phases, scale: float, seed: int) -> None:
    async with FakeFal(key=KEY) as fake:
        fake.script_next(*scripts(n, phases, scale, seed))
        conn.send((fake.queue_url, fake.rest_url, fake.jwks_url))
        await asyncio.to_thread(conn.recv)
        timeline = {rid: (job.record.received_at, job.run_end) for rid, job in fake._jobs.items()}
        delivered = sum(1 for d in fake.webhook_deliveries if d.status == 200)
        conn.send({"timeline": timeline, "status": fake.count("status"), "webhooks": delivered})


@dataclass
class FakeProcess:
    queue_url: str
    rest_url: str
    jwks_url: str
    conn: Connection

    def report(self) -> dict[str, Any]:
        self.conn.send("report")
        return self.conn.recv()


@contextmanager
def fake_process(n: int, phases: Phases, scale: float, seed: int) -> Iterator[FakeProcess]:
    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    process = ctx.Process(target=_fake_main, args=(theirs, n, phases, scale, seed), daemon=True)
    process.start()
    try:
        yield FakeProcess(*mine.recv(), mine)
    finally:
        process.terminate()
        process.join(5)


async def submit_all(queue_url: str, rest_url: str, n: int, webhook: str | None = None) -> list[dict[str, Any]]:
    auth = {"Authorization": f"Key {KEY}"}
    async with httpx.AsyncClient(timeout=30) as http:
        token = (await http.post(f"{rest_url}/storage/auth/token", json={}, headers=auth)).json()
        url = (
            await http.post(
                f"{token['base_url']}/files/upload",
                content=image_bytes(),
                headers={"Authorization": f"Bearer {token['token']}", "Content-Type": "image/png"},
            )
        ).json()["access_url"]
        body = {"prompt": "p", "start_image_url": url}
        params = {"fal_webhook": webhook} if webhook else None
        submit = f"{queue_url}/{MODEL}"
        return [(await http.post(submit, json=body, headers=auth, params=params)).json() for _ in range(n)]


# Measuring --------------------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


@dataclass
class Observed:
    noticed: dict[str, float]
    lags: list[float]
    rss_peak: float
    errors: int = 0


def figures(observed: Observed, report: dict[str, Any], n: int, scale: float) -> dict[str, float]:
    timeline = report["timeline"]
    noticed = observed.noticed
    delays = [(noticed[rid] - timeline[rid][1]) * scale for rid in noticed]
    minutes = sum((noticed[rid] - timeline[rid][0]) * scale / 60 for rid in noticed)
    reads = report["status"]
    return {
        "jobs noticed finished": len(noticed),
        "status reads per job": reads / max(n, 1),
        "status reads per job-minute": reads / max(minutes, 1e-9),
        "finish noticed after p50 (s)": pct(delays, 0.50),
        "finish noticed after p95 (s)": pct(delays, 0.95),
        "finish noticed after max (s)": max(delays, default=float("nan")),
        "event-loop lag p99 (ms)": pct(observed.lags, 0.99) * 1000,
        "resident memory peak (MB)": observed.rss_peak,
        "mean notice delay (s)": statistics.fmean(delays) if delays else float("nan"),
        "webhooks accepted": report["webhooks"],
        "status reads that failed": observed.errors,
    }


# Tween ------------------------------------------------------------------------------------------------------------

URLS = ("request_id", "status_url", "response_url", "cancel_url")
_INSERT = (
    "INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, upload_limit, "
    "created_at, updated_at, request_id, status_url, response_url, cancel_url, submitted_at, started_at, finished_at, "
    "video_url) VALUES (1, 1, 1, 'p', 5, 1, ?, ?, 99999999, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def seed(db: Database, answers: list[dict[str, Any]], scale: float, seed_value: int) -> None:
    """The jobs at fal now, and 200 delivered earlier ones whose run lengths the tracker learns from."""
    now = utcnow()
    rand = random.Random(seed_value)
    history = []
    for i in range(200):
        run = (rand.uniform(*REALISTIC.run) + rand.uniform(0, 5)) / scale  # plus the queued look's lateness
        started = now - timedelta(hours=1, seconds=i * 300)
        finished = started + timedelta(seconds=run)
        stamps = (to_db(started), to_db(finished))
        history.append((MODEL, "delivered", stamps[0], stamps[1], f"old-{i}", "", "", "", None, *stamps, "x"))
    live = [
        (MODEL, "queued", to_db(now), to_db(now), *(a[k] for k in URLS), to_db(now), None, None, None) for a in answers
    ]
    async with db.transaction() as conn:
        await conn.executemany(_INSERT, history + live)


def tween_settings(
    folder: str, fake: FakeProcess, n: int, scale: float, reads_per_second: float, port: int | None
) -> Any:
    hooks = (
        {"public_url": f"http://127.0.0.1:{port}", "jwks_urls": [fake.jwks_url], "fallback_interval": 30.0 / scale}
        if port
        else {}
    )
    return make_settings(
        server={"port": port or 0},
        webhooks=hooks,
        fal={
            "queue_url": fake.queue_url,
            "rest_url": fake.rest_url,
            "key": KEY,
            "max_reads_per_second": reads_per_second * scale,
            "backoff_base": 0.5 / scale,
            "backoff_cap": 20 / scale,
        },
        # The shipped pacing (config/default.toml), run `scale` times faster: what the figures report is what runs.
        tracker={key: DEFAULT_TRACKER[key] / scale for key in PACED},
        storage={"db_path": f"{folder}/t.sqlite3"},
        concurrency={"total": n, "per_guild": n, "per_member": n},
    )


async def tween(n: int, scale: float, reads_per_second: float, *, webhooks: bool = False) -> dict[str, float]:
    """Tween's tracker; with `webhooks`, fal (the fake) also posts each finish to Tween's own server."""
    port = free_port() if webhooks else None
    target = f"http://127.0.0.1:{port}/fal/webhook" if port else None
    with fake_process(n, REALISTIC, scale, seed=7) as fake, tempfile.TemporaryDirectory() as folder:
        answers = await submit_all(fake.queue_url, fake.rest_url, n, target)
        settings = tween_settings(folder, fake, n, scale, reads_per_second, port)
        async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
            await seed(db, answers, scale, seed_value=8)
            services = build_services(db, fal, settings)
            services.attach_publisher(RecordingPublisher())
            connected = lambda: GatewayState(connected=True)  # noqa: E731
            async with operations(settings, db, services.tracker, connected, None):
                async with watching(services, n, limit=400 / scale) as observed:
                    await services.tracker.start()
                await services.tracker.stop(grace=1)
        return figures(observed, fake.report(), n, scale)


@asynccontextmanager
async def watching(services: Any, n: int, limit: float) -> AsyncIterator[Observed]:
    """Records when the tracker sees each job finished, the loop's lag and the peak memory, until all are seen."""
    observed = Observed({}, [], 0.0)
    original = services.lifecycle.move

    async def move(job: Any, transition: Transition, **changes: Any) -> Any:
        if transition is Transition.COMPLETE:
            observed.noticed[job.request_id] = time.monotonic()
        return await original(job, transition, **changes)

    services.lifecycle.move = move
    start = time.monotonic()
    with LagProbe() as probe:
        yield observed
        while len(observed.noticed) < n and time.monotonic() - start < limit:
            observed.rss_peak = max(observed.rss_peak, rss_mb())
            await asyncio.sleep(0.5)
    observed.lags = probe.lags


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The baseline -----------------------------------------------------------------------------------------------------


def _baseline_main(conn: Connection, queue_url: str, rest_url: str, n: int) -> None:
    conn.send(asyncio.run(_baseline(queue_url, rest_url, n)))


async def _baseline(queue_url: str, rest_url: str, n: int) -> Observed:
    answers = await submit_all(queue_url, rest_url, n)
    observed = Observed({}, [], 0.0)
    auth = {"Authorization": f"Key {KEY}"}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=n)) as http:

        async def status(answer: dict[str, Any]) -> str | None:
            try:
                return (await http.get(answer["status_url"], headers=auth)).json().get("status")
            except httpx.TransportError:
                observed.errors += 1  # overloaded: a typical bot would log it and ask again
                return None

        async def follow(answer: dict[str, Any]) -> None:
            # The typical loop this benchmark exists to compare against.
            while await status(answer) != "COMPLETED":  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            observed.noticed[answer["request_id"]] = time.monotonic()
            with contextlib.suppress(httpx.TransportError):
                await http.get(answer["response_url"], headers=auth)

        async def memory() -> None:
            while True:
                observed.rss_peak = max(observed.rss_peak, rss_mb())
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(memory())
        with LagProbe() as probe:
            await asyncio.gather(*(follow(a) for a in answers))
        sampler.cancel()
    observed.lags = probe.lags
    return observed


def baseline(n: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    with fake_process(n, SHORT, 1.0, seed=9) as fake:
        mine, theirs = ctx.Pipe()
        process = ctx.Process(target=_baseline_main, args=(theirs, fake.queue_url, fake.rest_url, n), daemon=True)
        process.start()
        observed = mine.recv()
        process.join(10)
        return figures(observed, fake.report(), n, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000, help="jobs Tween tracks at once")
    parser.add_argument("--scale", type=float, default=2.0, help="how much faster than real the phases run")
    parser.add_argument("--reads-per-second", type=float, default=500.0, help="Tween's fal read cap (real time)")
    parser.add_argument(
        "--baseline-jobs",
        type=int,
        nargs="+",
        default=[20],
        help="jobs the baseline tracks at once; one column each (the ratio is taken against the first)",
    )
    parser.add_argument("--webhooks", action="store_true", help="also run Tween with fal webhooks on")
    args = parser.parse_args()
    columns = {f"baseline×{n}": baseline(n) for n in args.baseline_jobs}
    columns["Tween"] = asyncio.run(tween(args.jobs, args.scale, args.reads_per_second))
    if args.webhooks:
        columns["Tween+webhooks"] = asyncio.run(tween(args.jobs, args.scale, args.reads_per_second, webhooks=True))
    print(f"{'measure':<34}" + "".join(f"{name:>16}" for name in columns))
    for key in columns["Tween"]:
        print(f"{key:<34}" + "".join(f"{column[key]:>16.2f}" for column in columns.values()))
    first = f"baseline×{args.baseline_jobs[0]}"
    naive = columns[first]["status reads per job-minute"]
    for name, column in columns.items():
        if name.startswith("Tween"):
            ratio = naive / max(column["status reads per job-minute"], 1e-9)
            print(f"fal status reads per job-minute, {first} / {name}: {ratio:.1f}x")


if __name__ == "__main__":
    main()
