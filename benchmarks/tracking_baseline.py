"""The way a typical bot tracks jobs, for the tracking benchmark: one coroutine per job asking fal's status every
`interval` seconds until it says COMPLETED, then fetching the result (fal_client's `subscribe` loop; its default
interval is 0.1 s). It runs in a process of its own, against a fake fal in another."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx

from benchmarks.probes import LagProbe
from benchmarks.tracking_common import (
    KEY,
    Observed,
    Phases,
    cpu_seconds,
    fake_process,
    figures,
    peak_rss_mb,
    submit_all,
)


@dataclass(frozen=True)
class BaselineRun:
    """`interval` is in the phases' time: the loop sleeps interval / scale real seconds between reads."""

    jobs: int
    interval: float
    phases: Phases
    scale: float
    seed: int = 9  # of the fake's job timelines; Tween's runs use 7


def _baseline_main(conn: Connection, queue_url: str, rest_url: str, n: int, interval: float) -> None:
    conn.send(asyncio.run(_baseline(queue_url, rest_url, n, interval)))


async def _baseline(queue_url: str, rest_url: str, n: int, interval: float) -> Observed:
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
                await asyncio.sleep(interval)
            observed.noticed[answer["request_id"]] = time.monotonic()
            with contextlib.suppress(httpx.TransportError):
                await http.get(answer["response_url"], headers=auth)

        observed.began, cpu = time.monotonic(), cpu_seconds()
        with LagProbe() as probe:
            await asyncio.gather(*(follow(a) for a in answers))
        observed.cpu = cpu_seconds() - cpu
    observed.lags = probe.lags
    observed.rss_peak = peak_rss_mb()
    return observed


def baseline(run: BaselineRun) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    with fake_process(run.jobs, run.phases, run.scale, seed=run.seed) as fake:
        mine, theirs = ctx.Pipe()
        args = (theirs, fake.queue_url, fake.rest_url, run.jobs, run.interval / run.scale)
        process = ctx.Process(target=_baseline_main, args=args, daemon=True)
        process.start()
        theirs.close()
        observed = mine.recv()
        process.join(10)
        # Start-up and lateness stay blank (NaN): it asks about every job at once, and keeps no schedule.
        return figures(observed, fake.report(), run.jobs, run.scale)
