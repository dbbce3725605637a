"""Tween's side of the tracking benchmark: the real tracker (build_services, FalClient over httpx) following jobs at
the fake fal, each run in a process of its own, with the shipped settings of config/default.toml run `scale` times
faster and only what the run names changed (status stream off, webhooks on, another history)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import random
import socket
import tempfile
import time
import tomllib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.probes import LagProbe
from benchmarks.tracking_common import (
    KEY,
    MODEL,
    REALISTIC,
    FakeProcess,
    Observed,
    cpu_seconds,
    fake_process,
    figures,
    peak_rss_mb,
    submit_all,
)
from bot.db.connection import Database, open_database
from bot.fal import FalClient
from bot.models import Job, Transition
from bot.ops.health import GatewayState
from bot.ops.wiring import operations
from bot.periods import to_db, utcnow
from bot.services import build_services
from bot.services.schedule import LATENESS_KEPT
from tests.support.publisher import RecordingPublisher
from tests.support.settings import make_settings

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "default.toml"
DEFAULTS = tomllib.loads(DEFAULT_CONFIG.read_text())
# Every duration among the tracker's settings, run `scale` times faster.
PACED = (
    "queued_interval",
    "queued_interval_cap",
    "running_interval",
    "running_sparse_interval",
    "error_backoff_cap",
    "usual_run_base",
    "usual_run_per_second",
    "queue_deadline",
    "longest_run",
)
HISTORY_RUNS = 200
URLS = ("request_id", "status_url", "response_url", "cancel_url")
_INSERT = (
    "INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, upload_limit, "
    "created_at, updated_at, request_id, status_url, response_url, cancel_url, submitted_at, started_at, finished_at, "
    "video_url) VALUES (1, 1, 1, 'p', 5, 1, ?, ?, 99999999, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class TweenRun:
    """One Tween column. `history` scales the run lengths of the 200 earlier runs in the database (None: none)."""

    jobs: int
    scale: float
    reads_per_second: float = 500.0
    stream: bool = True
    webhooks: bool = False
    history: float | None = 1.0
    max_streams: int | None = None  # fal.max_streams; None: as shipped
    limit: float = 400.0  # the longest the run waits for every finish, in the phases' time (the last ends by 300)


async def seed(
    db: Database, answers: list[dict[str, Any]], scale: float, seed_value: int, history: float | None
) -> None:
    """The jobs at fal now, and 200 delivered earlier ones whose run lengths the tracker learns from."""
    now = utcnow()
    rand = random.Random(seed_value)
    rows = []
    for i in range(HISTORY_RUNS if history is not None else 0):
        assert history is not None
        run = (rand.uniform(*REALISTIC.run) + rand.uniform(0, 5)) * history / scale  # plus the queued look's lateness
        started = now - timedelta(hours=1, seconds=i * 300)
        finished = started + timedelta(seconds=run)
        stamps = (to_db(started), to_db(finished))
        rows.append((MODEL, "delivered", stamps[0], stamps[1], f"old-{i}", "", "", "", None, *stamps, "x"))
    stamp = to_db(now)
    rows += [(MODEL, "queued", stamp, stamp, *(a[k] for k in URLS), stamp, None, None, None) for a in answers]
    async with db.transaction() as conn:
        await conn.executemany(_INSERT, rows)


def tween_settings(
    folder: str,
    fake: FakeProcess,
    n: int,
    scale: float,
    reads_per_second: float,
    port: int | None,
    *,
    stream: bool = True,
    max_streams: int | None = None,
) -> Any:
    """config/default.toml as shipped, every duration divided by `scale`; the read cap raised to `reads_per_second`
    (real time) for this many jobs; timeouts as shipped (they bound a stuck call, not the pace)."""
    fal, hooks = DEFAULTS["fal"], DEFAULTS["webhooks"]
    webhooks = (
        {
            "public_url": f"http://127.0.0.1:{port}",
            "jwks_urls": [fake.jwks_url],
            "fallback_interval": hooks["fallback_interval"] / scale,
        }
        if port
        else {}
    )
    return make_settings(
        server={"port": port or 0},
        webhooks=webhooks,
        fal={
            "queue_url": fake.queue_url,
            "rest_url": fake.rest_url,
            "key": KEY,
            "max_reads_per_second": reads_per_second * scale,
            "backoff_base": fal["backoff_base"] / scale,
            "backoff_cap": fal["backoff_cap"] / scale,
            "connect_timeout": fal["connect_timeout"],
            "read_timeout": fal["read_timeout"],
            "status_stream": stream,
            "max_streams": max_streams or fal["max_streams"],
            "stream_stall_timeout": fal["stream_stall_timeout"] / scale,
            "stream_retry": fal["stream_retry"] / scale,
        },
        tracker={key: DEFAULTS["tracker"][key] / scale for key in PACED},
        discord={"card_edit_interval": DEFAULTS["discord"]["card_edit_interval"] / scale},
        storage={"db_path": f"{folder}/t.sqlite3"},
        concurrency={"total": n, "per_guild": n, "per_member": n},
    )


async def tween(run: TweenRun) -> dict[str, float]:
    """Tween's tracker; with `webhooks`, fal (the fake) also posts each finish to Tween's own server."""
    n, scale = run.jobs, run.scale
    port = free_port() if run.webhooks else None
    target = f"http://127.0.0.1:{port}/fal/webhook" if port else None
    with fake_process(n, REALISTIC, scale, seed=7) as fake, tempfile.TemporaryDirectory() as folder:
        answers = await submit_all(fake.queue_url, fake.rest_url, n, target)
        settings = tween_settings(
            folder, fake, n, scale, run.reads_per_second, port, stream=run.stream, max_streams=run.max_streams
        )
        async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
            await seed(db, answers, scale, 8, run.history)
            services = build_services(db, fal, settings)
            services.attach_publisher(RecordingPublisher())
            connected = lambda: GatewayState(connected=True)  # noqa: E731
            async with operations(settings, db, services.tracker, connected, None):
                async with watching(services, n, limit=run.limit / scale) as observed:
                    await services.tracker.start()
                await services.tracker.stop(grace=1)
        return figures(observed, fake.report(), n, scale)


@asynccontextmanager
async def watching(services: Any, n: int, limit: float) -> AsyncIterator[Observed]:
    """From the tracker's start until every job is seen finished (or `limit` seconds): when each finish is seen,
    when each job is first looked at, every look's lateness, the loop's lag, CPU and peak memory."""
    observed = Observed({}, [], 0.0)
    tracker = services.tracker
    original_move, original_poll = services.lifecycle.move, tracker._poll

    all_noticed = asyncio.Event()

    async def move(job: Any, transition: Transition, **changes: Any) -> Any:
        if transition is Transition.COMPLETE:
            observed.noticed[job.request_id] = time.monotonic()
            if len(observed.noticed) >= n:
                all_noticed.set()
        return await original_move(job, transition, **changes)

    async def poll(job: Job) -> float | None:
        # A look at a job at fal ends knowing its status: from its stream's first event or from a status read.
        # Only then has Tween looked at it (a job merely scheduled, or whose stream is still opening, has not).
        next_look = await original_poll(job)
        observed.first_looks.setdefault(job.id, time.monotonic())
        return next_look

    services.lifecycle.move, tracker._poll = move, poll
    tracker._schedule.lateness = Tee(observed.lateness)
    observed.began, cpu = time.monotonic(), cpu_seconds()
    with LagProbe() as probe:
        yield observed
        sampler = asyncio.create_task(worst_reported(tracker, observed))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit):
                await all_noticed.wait()
        sampler.cancel()
    observed.cpu = cpu_seconds() - cpu
    observed.lags = probe.lags
    observed.rss_peak = peak_rss_mb()


class Tee(deque[float]):
    """The schedule's record of its last looks' lateness, which also keeps every look of the run in `kept`."""

    def __init__(self, kept: list[float]) -> None:
        super().__init__(maxlen=LATENESS_KEPT)
        self.kept = kept

    def append(self, late: float) -> None:
        super().append(late)
        self.kept.append(late)


async def worst_reported(tracker: Any, observed: Observed) -> None:
    """The worst look lateness /health reported (p99 of the last 1,000 looks), read twice a second as a probe
    would."""
    observed.worst_late_p99 = 0.0
    while True:
        await asyncio.sleep(0.5)
        observed.worst_late_p99 = max(observed.worst_late_p99, tracker.state().late_p99)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _process_main(conn: Connection, run: TweenRun) -> None:
    # Each delivery of the fake's 1 KiB of noise says it posts a link instead: true, and a line per job.
    logging.getLogger("bot").setLevel(logging.ERROR)
    conn.send(asyncio.run(tween(run)))


def run_tween(run: TweenRun) -> dict[str, float]:
    """One Tween column in a fresh process: its CPU and memory are that run's alone."""
    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    # Not a daemon: it starts its fake fal as a child process of its own.
    process = ctx.Process(target=_process_main, args=(theirs, run))
    process.start()
    theirs.close()  # so a crashed run ends recv() with EOFError instead of waiting for ever
    try:
        return mine.recv()
    finally:
        process.join(30)
        if process.is_alive():
            process.terminate()
