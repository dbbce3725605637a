"""The optional operations HTTP server: GET /health, GET /metrics, and whatever routes the caller mounts
(the fal webhook)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from types import TracebackType

from aiohttp import web

from bot.ops.health import HealthProbes, check_health
from bot.ops.metrics import Metrics
from bot.settings import ServerSettings

log = logging.getLogger(__name__)

# Seconds stop() lets requests in progress (a webhook being handled) finish.
SHUTDOWN_GRACE = 5.0


class OpsServer:
    """Serves on settings.host:settings.port while started. With server.port 0 (off), `start()` does nothing unless
    it is given a port (tests pass 0 for any free port; `bound_port` tells which)."""

    def __init__(
        self,
        settings: ServerSettings,
        probes: HealthProbes,
        metrics: Metrics | None,
        routes: Sequence[web.RouteDef] = (),
    ) -> None:
        self._settings = settings
        self._probes = probes
        self._metrics = metrics if settings.metrics else None
        self._routes = list(routes)
        self._runner: web.AppRunner | None = None

    @property
    def bound_port(self) -> int | None:
        """The TCP port actually listened on, or None when not started."""
        if self._runner is None or not self._runner.addresses:
            return None
        return int(self._runner.addresses[0][1])

    async def start(self, port: int | None = None) -> None:
        if self._runner is not None:
            return
        chosen = self._settings.port if port is None else port
        if port is None and not self._settings.enabled:
            log.info("HTTP server off (server.port = 0)")
            return
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._settings.host, chosen).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("HTTP server on %s:%d (%s)", self._settings.host, self.bound_port, self._paths())

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> OpsServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self._health)
        if self._metrics is not None:
            app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_routes(self._routes)
        return app

    def _paths(self) -> str:
        paths = ["/health", *(["/metrics"] if self._metrics else []), *(r.path for r in self._routes)]
        return ", ".join(paths)

    async def _health(self, request: web.Request) -> web.Response:
        healthy, report = await check_health(self._probes)
        return web.Response(
            text=json.dumps(report, separators=(",", ":")),
            status=200 if healthy else 503,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        metrics = self._metrics
        assert metrics is not None
        await metrics.refresh(self._probes.database, tracker=self._probes.tracker, gateway=self._probes.gateway)
        body, content_type = metrics.render(request.headers.get("Accept", ""))
        # aiohttp refuses a charset inside content_type=, so the header is set whole.
        return web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
