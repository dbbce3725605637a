"""Health of the parts the bot cannot work without: the Discord gateway, the database, the job tracker and, with
shards leased in the database, this process's lease on them.
Probes are plain callables, so this module needs neither discord.py nor the services."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.db.connection import Database
from bot.db.leases import LeaseState
from bot.fal.account import AccountState
from bot.periods import utcnow
from bot.services.tracker import TrackerState

DATABASE_TIMEOUT = 2.0


@dataclass(frozen=True)
class ShardState:
    id: int
    connected: bool
    latency: float | None = None


@dataclass(frozen=True)
class GatewayState:
    connected: bool  # every shard this process runs is connected
    latency: float | None = None  # heartbeat round trip in seconds; None (or not finite) while unknown
    shards: tuple[ShardState, ...] = ()  # one per shard this process runs, once they are known


@dataclass(frozen=True)
class HealthProbes:
    gateway: Callable[[], GatewayState]
    database: Database
    tracker: Callable[[], TrackerState]
    fal_account: Callable[[], AccountState] | None = None
    lease: Callable[[], LeaseState] | None = None
    clock: Callable[[], datetime] = utcnow


async def check_health(
    probes: HealthProbes, *, database_timeout: float = DATABASE_TIMEOUT
) -> tuple[bool, dict[str, Any]]:
    """(healthy, report). The report is small and safe to show anyone who can reach the port: states and
    timings only, and error class names rather than messages."""
    components = {
        "gateway": _gateway(probes.gateway),
        "database": await _database(probes.database, database_timeout),
        "tracker": _tracker(probes.tracker),
    }
    if probes.fal_account is not None:
        components["fal_account"] = _fal_account(probes.fal_account)
    if probes.lease is not None:
        components["lease"] = _lease(probes.lease, probes.clock())
    healthy = all(part["ok"] for part in components.values())
    return healthy, {"status": "ok" if healthy else "degraded", "components": components}


def _gateway(probe: Callable[[], GatewayState]) -> dict[str, Any]:
    try:
        state = probe()
    except Exception as exc:
        return _broken(exc)
    report: dict[str, Any] = {"ok": state.connected, "latency_ms": _milliseconds(state.latency)}
    if state.shards:
        report["shards"] = [
            {"id": s.id, "ok": s.connected, "latency_ms": _milliseconds(s.latency)} for s in state.shards
        ]
    return report


async def _database(db: Database, within: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races its timeout.
        async with asyncio.timeout(within):
            await db.ping()
    except TimeoutError:
        return {"ok": False, "error": "timeout"}
    except Exception as exc:
        return _broken(exc)
    return {"ok": True, "latency_ms": _milliseconds(time.perf_counter() - started)}


def _tracker(probe: Callable[[], TrackerState]) -> dict[str, Any]:
    try:
        state = probe()
    except Exception as exc:
        return _broken(exc)
    idle = state.idle_seconds if math.isfinite(state.idle_seconds) else None
    return {"ok": state.running, "watched": state.watched, "idle_seconds": None if idle is None else round(idle, 1)}


def _fal_account(probe: Callable[[], AccountState]) -> dict[str, Any]:
    """Paused when fal keeps refusing Tween's key (401) or account (403): only the operator can end that."""
    try:
        state = probe()
    except Exception as exc:
        return _broken(exc)
    return {"ok": not state.paused, "refusals": state.refusals, "last_status": state.status}


def _lease(probe: Callable[[], LeaseState], now: datetime) -> dict[str, Any]:
    """Not ok once the last renewal's term has run out (the database away that long) or the shards were taken over:
    another process may be serving them now."""
    try:
        state = probe()
    except Exception as exc:
        return _broken(exc)
    left = None if state.until is None else round((state.until - now).total_seconds(), 1)
    return {"ok": state.held(now), "shards": state.shards, "seconds_left": left}


def _broken(exc: Exception) -> dict[str, Any]:
    return {"ok": False, "error": type(exc).__name__}


def _milliseconds(seconds: float | None) -> float | None:
    # discord.py reports an unknown latency as inf or nan, which JSON cannot carry.
    if seconds is None or not math.isfinite(seconds):
        return None
    return round(seconds * 1000, 1)
