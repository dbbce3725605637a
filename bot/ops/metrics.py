"""Prometheus metrics: fal call latency and errors, Discord rate limits, and figures read from the database at
scrape time. Each Metrics instance has its own registry, so nothing leaks between instances (or tests)."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bot.db import stats
from bot.db.connection import Database
from bot.models import JobState
from bot.ops.health import GatewayState
from bot.services.tracker import TrackerState
from bot.sharding import ShardPlan

log = logging.getLogger(__name__)

FAL_KINDS = ("submit", "status", "result", "cancel", "upload", "download", "other")
# fal answers status reads in well under a second; uploads and video downloads may take a couple of minutes.
FAL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
QUEUE_STATES = (JobState.WAITING, JobState.AWAITING_APPROVAL)
MICROS_PER_DOLLAR = 1_000_000
REFRESH_TIMEOUT = 5.0
DISCORD_LOGGERS = ("discord.http", "discord.gateway")

_STARTED = "tween.metrics.started"
_REQUEST_PATH = re.compile(r"/requests/[^/]+(?P<tail>/status|/cancel)?$")

EventHook = Callable[..., Awaitable[None]]
_T = TypeVar("_T")


def classify_fal_request(method: str, url: httpx.URL | str) -> str:
    """Which of FAL_KINDS a call to fal is, from its method and URL path."""
    method = method.upper()
    path = httpx.URL(url).path.rstrip("/")
    # "/storage/" anywhere: behind a proxy (or the fake fal) the REST API may sit under a path prefix.
    if "/storage/" in path or path.endswith("/files/upload"):
        return "upload"
    if match := _REQUEST_PATH.search(path):
        kind = _request_kind(method, match["tail"])
        if kind:
            return kind
    return _fallback_kind(method)


def _request_kind(method: str, tail: str | None) -> str | None:
    if method == "PUT" and tail == "/cancel":
        return "cancel"
    if method == "GET" and tail == "/status":
        return "status"
    if method == "GET" and tail is None:
        return "result"
    return None


def _fallback_kind(method: str) -> str:
    # Submits POST to the model endpoint; the signed storage URL of the fallback upload flow is PUT to.
    return {"POST": "submit", "PUT": "upload", "GET": "download"}.get(method, "other")


class _DatabaseFigures:
    """The last figures read from the database, exposed by a custom collector: counters read from the ledger
    cannot be incremented by prometheus_client, only reported."""

    def __init__(self) -> None:
        self.jobs: dict[str, int] = {}
        self.spending: dict[int, stats.GuildSpending] = {}
        self.ledger_seen = 0
        self.loaded = False

    def apply(self, jobs: dict[str, int], delta: stats.SpendingSince) -> None:
        self.jobs = jobs
        if delta.after_id == 0:
            self.spending = {}
        for change in delta.guilds:
            self.spending[change.guild_id] = _add(self.spending.get(change.guild_id), change)
        self.ledger_seen = delta.last_id
        self.loaded = True

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        return self._families() if self.loaded else []

    def _families(self) -> list[Metric]:
        return [self._jobs_family(), self._queue_family(), *self._spending_families()]

    def _jobs_family(self) -> Metric:
        family = GaugeMetricFamily(
            "tween_jobs", "Jobs of this process's guilds (its shards) by state.", labels=["state"]
        )
        for state in JobState:
            family.add_metric([state.value], self.jobs.get(state.value, 0))
        return family

    def _queue_family(self) -> Metric:
        depth = sum(self.jobs.get(state.value, 0) for state in QUEUE_STATES)
        return GaugeMetricFamily(
            "tween_queue_depth", "Jobs waiting in Tween's own queue (over a cap, or awaiting approval).", value=depth
        )

    def _spending_families(self) -> list[Metric]:
        seconds = CounterMetricFamily(
            "tween_video_seconds_charged", "Video-seconds charged per guild, net of refunds.", labels=["guild"]
        )
        dollars = CounterMetricFamily(
            "tween_dollars_charged", "USD charged per guild at the job's price, net of refunds.", labels=["guild"]
        )
        for guild_id, spent in sorted(self.spending.items()):
            seconds.add_metric([str(guild_id)], spent.seconds)
            dollars.add_metric([str(guild_id)], spent.micros / MICROS_PER_DOLLAR)
        return [seconds, dollars]


def _add(total: stats.GuildSpending | None, change: stats.GuildSpending) -> stats.GuildSpending:
    if total is None:
        return change
    return stats.GuildSpending(total.guild_id, total.seconds + change.seconds, total.micros + change.micros)


class Metrics:
    """Everything /metrics serves. Record fal calls through `httpx_event_hooks()` (and `fal_transport_error`),
    Discord rate limits through DiscordRateLimitCounter; `refresh()` reads the rest just before `render()`."""

    def __init__(self, *, process: bool = True, owned: ShardPlan | None = None) -> None:
        self._owned = owned  # the shards whose guilds' figures this process reports; None: every guild
        self.registry = CollectorRegistry()
        self._fal_latency = Histogram(
            "tween_fal_request_duration_seconds",
            "Time to fal's answer (headers), by kind of call.",
            ["kind"],
            buckets=FAL_BUCKETS,
            registry=self.registry,
        )
        self._fal_errors = Counter(
            "tween_fal_request_errors",
            "fal calls that failed: reason is the HTTP status, or the transport error's class.",
            ["kind", "reason"],
            registry=self.registry,
        )
        self._discord_limited = Counter(
            "tween_discord_rate_limited",
            "Discord rate limits: http = each REST 429; global = the 429s marked global (also counted as http); "
            "gateway = gateway sends held back by discord.py.",
            ["scope"],
            registry=self.registry,
        )
        self._refresh_errors = Counter(
            "tween_metrics_refresh_errors", "Scrapes whose database figures could not be read.", registry=self.registry
        )
        self._watched = Gauge("tween_tracker_jobs_watched", "Jobs the tracker has scheduled.", registry=self.registry)
        self._idle = Gauge(
            "tween_tracker_idle_seconds", "Seconds since the tracker's loop last did anything.", registry=self.registry
        )
        self._tracker_up = Gauge("tween_tracker_running", "1 while the tracker runs.", registry=self.registry)
        self._late = Gauge(
            "tween_tracker_look_lateness_seconds",
            "How late the tracker's recent looks at jobs started against their schedule (last 1,000 looks).",
            ["quantile"],
            registry=self.registry,
        )
        self._transcodes = Gauge(
            "tween_transcodes",
            "Videos being re-encoded to fit a server's upload limit (running), and queued behind media.max_transcodes.",
            ["phase"],
            registry=self.registry,
        )
        self._gateway_up = Gauge(
            "tween_discord_gateway_connected", "1 while the Discord gateway is connected.", registry=self.registry
        )
        self._gateway_latency = Gauge(
            "tween_discord_gateway_latency_seconds", "Discord heartbeat latency (NaN: unknown).", registry=self.registry
        )
        self._shard_up = Gauge(
            "tween_shard_up",
            "1 while this shard's gateway connection is open (shards this process runs).",
            ["shard"],
            registry=self.registry,
        )
        self._shard_latency = Gauge(
            "tween_shard_latency_seconds",
            "Each shard's heartbeat latency (NaN: unknown).",
            ["shard"],
            registry=self.registry,
        )
        self._db = _DatabaseFigures()
        self.registry.register(self._db)
        self._refreshing = asyncio.Lock()
        for kind in FAL_KINDS:
            self._fal_latency.labels(kind=kind)
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)

    # fal

    def httpx_event_hooks(self) -> dict[str, list[EventHook]]:
        """Pass as `event_hooks=` to an httpx.AsyncClient. Transport errors never reach the response hook: report
        them with `fal_transport_error`."""
        return {"request": [self._on_request], "response": [self._on_response]}

    async def _on_request(self, request: httpx.Request) -> None:
        # A fresh dict: the caller's extensions mapping may be shared between requests.
        request.extensions = {**request.extensions, _STARTED: time.perf_counter()}

    async def _on_response(self, response: httpx.Response) -> None:
        request = response.request
        kind = classify_fal_request(request.method, request.url)
        started = request.extensions.get(_STARTED)
        if isinstance(started, float):
            self._fal_latency.labels(kind=kind).observe(time.perf_counter() - started)
        if not response.is_success:
            self._fal_errors.labels(kind=kind, reason=str(response.status_code)).inc()

    def fal_transport_error(self, kind: str | None, exc: BaseException) -> None:
        """A fal call that got no answer. kind None: taken from the exception's request, when it has one."""
        self._fal_errors.labels(kind=kind or _kind_of(exc), reason=type(exc).__name__).inc()

    # Discord

    def discord_rate_limited(self, scope: str) -> None:
        self._discord_limited.labels(scope=scope).inc()

    # scrape

    async def refresh(
        self,
        db: Database,
        *,
        tracker: Callable[[], TrackerState] | None = None,
        gateway: Callable[[], GatewayState] | None = None,
    ) -> bool:
        """Read the database figures and the probes; False (logged and counted) if the database could not answer,
        in which case the previous figures stay."""
        self._read_probes(tracker, gateway)
        async with self._refreshing:
            try:
                async with asyncio.timeout(REFRESH_TIMEOUT):
                    jobs = await stats.jobs_by_state(db, self._owned)
                    delta = await stats.spending_since(db, self._db.ledger_seen, self._owned)
            except Exception as exc:
                log.warning("metrics: database figures unavailable (%r)", exc)
                self._refresh_errors.inc()
                return False
            self._db.apply(jobs, delta)
        return True

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition and its content type; `accept` is the scraper's Accept header (OpenMetrics if asked)."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    def _read_probes(
        self, tracker: Callable[[], TrackerState] | None, gateway: Callable[[], GatewayState] | None
    ) -> None:
        if tracker is not None:
            self._set_tracker(_probe(tracker))
        if gateway is not None:
            self._set_gateway(_probe(gateway))

    def _set_tracker(self, state: TrackerState | None) -> None:
        self._tracker_up.set(1 if state and state.running else 0)
        self._watched.set(state.watched if state else 0)
        self._idle.set(state.idle_seconds if state else math.nan)
        self._transcodes.labels("running").set(state.transcodes_running if state else 0)
        self._transcodes.labels("waiting").set(state.transcodes_waiting if state else 0)
        self._late.labels("0.5").set(state.late_p50 if state else math.nan)
        self._late.labels("0.99").set(state.late_p99 if state else math.nan)

    def _set_gateway(self, state: GatewayState | None) -> None:
        self._gateway_up.set(1 if state and state.connected else 0)
        latency = state.latency if state else None
        # discord.py reports inf until the first heartbeat is acknowledged: unknown, not slow.
        self._gateway_latency.set(_known(latency))
        self._shard_up.clear()
        self._shard_latency.clear()
        for shard in state.shards if state else ():
            self._shard_up.labels(str(shard.id)).set(1 if shard.connected else 0)
            self._shard_latency.labels(str(shard.id)).set(_known(shard.latency))


def _known(latency: float | None) -> float:
    return latency if latency is not None and math.isfinite(latency) else math.nan


def _probe(read: Callable[[], _T]) -> _T | None:
    try:
        return read()
    except Exception as exc:
        log.warning("metrics: probe failed (%r)", exc)
        return None


def _kind_of(exc: BaseException) -> str:
    try:
        request = exc.request if isinstance(exc, httpx.RequestError) else None
    except RuntimeError:  # httpx raises when the error was made without a request
        request = None
    return classify_fal_request(request.method, request.url) if request is not None else "other"


# Discord rate limits, as discord.py 2.7 logs them (discord/http.py and discord/gateway.py). The format string is
# matched rather than the formatted message, so the check is cheap and independent of the arguments.
_RATE_LIMIT_PATTERNS: Sequence[tuple[re.Pattern[str], str]] = (
    (re.compile(r"we are being rate limited\..*responded with 429", re.IGNORECASE | re.DOTALL), "http"),
    (re.compile(r"global rate limit has been hit", re.IGNORECASE), "global"),
    (re.compile(r"websocket in shard id .* is ratelimited", re.IGNORECASE), "gateway"),
)


def rate_limit_scope(record: logging.LogRecord) -> str | None:
    """The rate-limit scope a discord.py log record reports, or None for any other record."""
    text = record.msg if isinstance(record.msg, str) else str(record.msg)
    for pattern, scope in _RATE_LIMIT_PATTERNS:
        if pattern.search(text):
            return scope
    return None


class DiscordRateLimitCounter(logging.Handler):
    """Counts discord.py's rate-limit warnings. It only reads records: levels, propagation and the other handlers
    are untouched. (One side effect of any handler: a process with no logging configured at all stops printing
    these loggers' warnings through logging.lastResort. The bot configures the root logger first.)"""

    def __init__(self, metrics: Metrics) -> None:
        # Rate limits are logged at WARNING; a handler's own level leaves the logger's untouched.
        super().__init__(level=logging.WARNING)
        self._metrics = metrics
        self._attached: list[logging.Logger] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            scope = rate_limit_scope(record)
            if scope is not None:
                self._metrics.discord_rate_limited(scope)
        except Exception:
            self.handleError(record)

    def attach(self, names: Iterable[str] = DISCORD_LOGGERS) -> DiscordRateLimitCounter:
        """Add this handler to the named loggers (discord.http and discord.gateway by default)."""
        for name in names:
            logger = logging.getLogger(name)
            if self not in logger.handlers:
                logger.addHandler(self)
                self._attached.append(logger)
        return self

    def detach(self) -> None:
        for logger in self._attached:
            logger.removeHandler(self)
        self._attached.clear()
