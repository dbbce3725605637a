"""Puts the operations server together: /health and /metrics always, /fal/webhook when webhooks are configured."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import httpx

from bot.db.connection import Database
from bot.fal.account import AccountState
from bot.fal.webhook import JwksCache, WebhookReceiver, WebhookVerifier
from bot.ops.health import GatewayState, HealthProbes
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer
from bot.ops.webhook import webhook_routes
from bot.services.tracker import JobTracker
from bot.settings import Settings

JWKS_TIMEOUT = 10.0


@contextlib.asynccontextmanager
async def operations(
    settings: Settings,
    db: Database,
    tracker: JobTracker,
    gateway: Callable[[], GatewayState],
    metrics: Metrics | None,
    fal_account: Callable[[], AccountState] | None = None,
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
        probes = HealthProbes(gateway=gateway, database=db, tracker=tracker.state, fal_account=fal_account)
        yield await stack.enter_async_context(OpsServer(settings.server, probes, metrics, routes))
