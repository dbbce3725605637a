"""Puts the operations server together: /health and /metrics always, /fal/webhook when webhooks are configured; and,
when several processes share a PostgreSQL database, the wake that passes a webhook on to the job's owner."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable

import httpx

from bot.db.connection import Database, is_postgres_url
from bot.db.leases import LeaseState
from bot.db.pg_wake import PostgresWaker
from bot.fal.account import AccountState
from bot.fal.webhook import JwksCache, WebhookReceiver, WebhookVerifier
from bot.ops.health import GatewayState, HealthProbes
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer
from bot.ops.webhook import webhook_routes
from bot.services.tracker import JobTracker
from bot.settings import Settings

JWKS_TIMEOUT = 10.0
WAITING_RECHECK = 30.0  # seconds

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def operations(
    settings: Settings,
    db: Database,
    tracker: JobTracker,
    gateway: Callable[[], GatewayState],
    metrics: Metrics | None,
    fal_account: Callable[[], AccountState] | None = None,
    lease: Callable[[], LeaseState] | None = None,
) -> AsyncIterator[OpsServer | None]:
    """The running server (None when server.port is 0); it stops before the webhook receiver it feeds."""
    if not settings.server.enabled:
        yield None
        return
    async with contextlib.AsyncExitStack() as stack:
        routes = []
        if settings.webhooks.enabled:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=JWKS_TIMEOUT))
            verifier = WebhookVerifier(settings.webhooks, JwksCache(settings.webhooks, http))
            receiver = WebhookReceiver(verifier, tracker.notice)
            stack.push_async_callback(receiver.aclose)
            routes = webhook_routes(receiver)
        probes = HealthProbes(gateway=gateway, database=db, tracker=tracker.state, fal_account=fal_account, lease=lease)
        yield await stack.enter_async_context(OpsServer(settings.server, probes, metrics, routes))


@contextlib.asynccontextmanager
async def peer_notices(settings: Settings, db: Database, tracker: JobTracker) -> AsyncIterator[PostgresWaker | None]:
    """Processes sharing a PostgreSQL database tell each other, through LISTEN/NOTIFY, what the other must act on:
    a fal webhook for a job of another's guild (any process behind the public URL may get it), and a freed slot
    under the shared `concurrency.total`. Nothing to do on SQLite, where one process does everything."""
    if not is_postgres_url(settings.storage.target):
        yield None
        return
    relayed = functools.partial(tracker.notice, relay=False)
    waker = PostgresWaker(settings.storage.target, relayed, on_freed=tracker.freed_elsewhere, db=db)
    await waker.start()
    tracker.peers = waker
    recheck = asyncio.create_task(_recheck_waiting(tracker), name="tween-waiting-recheck")
    try:
        yield waker
    finally:
        tracker.peers = None
        recheck.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recheck
        await waker.close()


async def _recheck_waiting(tracker: JobTracker) -> None:
    """A notice lost while the listener reconnected must not strand a waiting job: look again now and then."""
    while True:
        await asyncio.sleep(WAITING_RECHECK)
        try:
            await tracker.freed_elsewhere()
        except Exception:
            log.exception("re-checking the waiting jobs failed; again in %.0f s", WAITING_RECHECK)
