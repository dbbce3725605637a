"""Metrics without a server: fal call classification, the httpx hooks, Discord rate-limit logging, rendering."""

import inspect
import logging
import math
import sqlite3

import discord.gateway
import discord.http
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ops.health import GatewayState
from bot.ops.metrics import DiscordRateLimitCounter, Metrics, classify_fal_request, rate_limit_scope
from bot.services.tracker import TrackerState

QUEUE = "https://queue.fal.run/fal-ai/kling-video"
REQUEST = f"{QUEUE}/requests/764cabcf-b745-4b3e-ae38-1200304cf45b"


@pytest.mark.parametrize(
    ("method", "url", "kind"),
    [
        ("POST", f"{QUEUE}/o1/image-to-video", "submit"),
        ("POST", f"{QUEUE}/o1/standard/image-to-video?fal_webhook=https%3A%2F%2Fbot.example%2Ffal%2Fwebhook", "submit"),
        ("GET", f"{REQUEST}/status?logs=0", "status"),
        ("GET", REQUEST, "result"),
        ("get", f"{REQUEST}/", "result"),
        ("PUT", f"{REQUEST}/cancel", "cancel"),
        ("POST", "https://rest.fal.ai/storage/auth/token?storage_type=fal-cdn-v3", "upload"),
        ("POST", "https://v3.fal.media/files/upload", "upload"),
        ("POST", "https://rest.fal.ai/storage/upload/initiate?storage_type=gcs", "upload"),
        ("PUT", "https://storage.googleapis.com/fal-bucket/abc.png?X-Goog-Signature=00ff", "upload"),
        ("GET", "https://v3.fal.media/files/monkey/tween.mp4", "download"),
        ("GET", "https://cdn.discordapp.com/attachments/1/2/start.png", "download"),
        ("DELETE", REQUEST, "other"),
        ("HEAD", "https://v3.fal.media/files/monkey/tween.mp4", "other"),
    ],
)
def test_fal_calls_are_classified_by_method_and_path(method, url, kind):
    assert classify_fal_request(method, url) == kind
    assert classify_fal_request(method, httpx.URL(url)) == kind


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def fal_answers(request: httpx.Request) -> httpx.Response:
    if request.method == "POST":
        return httpx.Response(429, json={"detail": "slow down"})
    if request.url.path.endswith("/status"):
        return httpx.Response(200, json={"status": "IN_PROGRESS"})
    if request.url.path.endswith("/cancel"):
        return httpx.Response(400, json={"status": "ALREADY_COMPLETED"})
    return httpx.Response(503, text="unavailable")


async def test_hooks_time_every_answer_and_count_the_unsuccessful_ones():
    metrics = Metrics(process=False)
    transport = httpx.MockTransport(fal_answers)
    async with httpx.AsyncClient(transport=transport, event_hooks=metrics.httpx_event_hooks()) as client:
        await client.get(f"{REQUEST}/status", params={"logs": "0"})
        await client.get(f"{REQUEST}/status")
        await client.post(f"{QUEUE}/o1/image-to-video", json={})
        await client.put(f"{REQUEST}/cancel")
        await client.get(REQUEST)

    assert sample(metrics, "tween_fal_request_duration_seconds_count", kind="status") == 2
    assert sample(metrics, "tween_fal_request_duration_seconds_count", kind="submit") == 1
    assert sample(metrics, "tween_fal_request_duration_seconds_count", kind="cancel") == 1
    assert sample(metrics, "tween_fal_request_duration_seconds_count", kind="result") == 1
    assert sample(metrics, "tween_fal_request_duration_seconds_count", kind="upload") == 0
    assert sample(metrics, "tween_fal_request_duration_seconds_sum", kind="status") >= 0
    assert sample(metrics, "tween_fal_request_errors_total", kind="submit", reason="429") == 1
    assert sample(metrics, "tween_fal_request_errors_total", kind="cancel", reason="400") == 1
    assert sample(metrics, "tween_fal_request_errors_total", kind="result", reason="503") == 1
    assert sample(metrics, "tween_fal_request_errors_total", kind="status", reason="200") is None


async def test_the_start_time_does_not_leak_into_a_shared_extensions_mapping():
    metrics = Metrics(process=False)
    shared: dict[str, object] = {"timeout": {"connect": 1.0, "read": 1.0, "write": 1.0, "pool": 1.0}}
    transport = httpx.MockTransport(fal_answers)
    async with httpx.AsyncClient(transport=transport, event_hooks=metrics.httpx_event_hooks()) as client:
        request = client.build_request("GET", f"{REQUEST}/status", extensions=shared)
        await client.send(request)
    assert set(shared) == {"timeout"}
    assert sample(metrics, "tween_fal_request_duration_seconds_count", kind="status") == 1


async def test_transport_errors_are_counted_by_class_and_kind():
    metrics = Metrics(process=False)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(refuse), event_hooks=metrics.httpx_event_hooks()
    ) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(f"{REQUEST}/status")
    metrics.fal_transport_error(None, caught.value)
    metrics.fal_transport_error("upload", httpx.WriteTimeout("slow"))
    metrics.fal_transport_error(None, httpx.ReadTimeout("no request attached"))

    assert sample(metrics, "tween_fal_request_errors_total", kind="status", reason="ConnectError") == 1
    assert sample(metrics, "tween_fal_request_errors_total", kind="upload", reason="WriteTimeout") == 1
    assert sample(metrics, "tween_fal_request_errors_total", kind="other", reason="ReadTimeout") == 1
    assert sample(metrics, "tween_fal_request_duration_seconds_count", kind="status") == 0


# The exact calls discord.py 2.7 makes (discord/http.py, discord/gateway.py).
HTTP_429 = "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds."
HTTP_429_TOO_LONG = (
    "We are being rate limited. %s %s responded with 429. Timeout of %.2f was too long, erroring instead."
)
GLOBAL_429 = "Global rate limit has been hit. Retrying in %.2f seconds."
GATEWAY_LIMITED = "WebSocket in shard ID %s is ratelimited, waiting %.2f seconds"
SUB_LIMIT = "%s %s received a 429 despite having %s remaining requests. This is a sub-ratelimit."


def test_the_messages_matched_are_the_ones_discord_py_logs():
    http_source = inspect.getsource(discord.http)
    for text in (HTTP_429, GLOBAL_429, "Timeout of %.2f was too long, erroring instead."):
        assert text in http_source
    assert GATEWAY_LIMITED in inspect.getsource(discord.gateway)


@pytest.fixture
def counter():
    metrics = Metrics(process=False)
    handler = DiscordRateLimitCounter(metrics).attach()
    yield metrics
    handler.detach()


def test_rate_limit_warnings_are_counted_by_scope(counter, caplog):
    http, gateway = logging.getLogger("discord.http"), logging.getLogger("discord.gateway")
    url = "https://discord.com/api/v10/channels/2002/messages"
    with caplog.at_level(logging.WARNING):
        http.warning(HTTP_429, "POST", url, 1.5)
        http.warning(HTTP_429, "PATCH", url, 0.25)
        http.warning(GLOBAL_429, 2.0)
        http.warning(HTTP_429_TOO_LONG, "POST", url, 90.0)
        gateway.warning(GATEWAY_LIMITED, None, 3.2)
        http.warning("Unknown OP code %s.", 99)

    assert sample(counter, "tween_discord_rate_limited_total", scope="http") == 3
    assert sample(counter, "tween_discord_rate_limited_total", scope="global") == 1
    assert sample(counter, "tween_discord_rate_limited_total", scope="gateway") == 1
    # Every record still reaches the handlers that were there before.
    assert len([r for r in caplog.records if r.name.startswith("discord.")]) == 6


def test_attaching_changes_no_level_and_no_propagation(caplog):
    names = ("discord.http", "discord.gateway")
    before = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names}
    handler = DiscordRateLimitCounter(Metrics(process=False)).attach()
    try:
        assert {n: (logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names} == before
        with caplog.at_level(logging.INFO):
            logging.getLogger("discord.http").info("%s %s has received %s", "GET", "/users/@me", {})
        assert [r.getMessage() for r in caplog.records] == ["GET /users/@me has received {}"]
    finally:
        handler.detach()
    assert all(handler not in logging.getLogger(n).handlers for n in names)


def test_debug_records_and_sub_rate_limits_are_not_429s_we_count():
    def record(msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
        return logging.LogRecord("discord.http", level, "http.py", 1, msg, args, None)

    assert rate_limit_scope(record(SUB_LIMIT, "GET", "/x", 3, level=logging.DEBUG)) is None
    assert rate_limit_scope(record("Done sleeping for the rate limit. Retrying...")) is None
    assert rate_limit_scope(record(HTTP_429, "GET", "/x", 1.0)) == "http"
    # A filter that formatted the message in place (as bot.log.RedactSecrets does) leaves it recognisable.
    assert (
        rate_limit_scope(record("We are being rate limited. GET /x responded with 429. Retrying in 1.00 seconds."))
        == "http"
    )


def test_a_handler_at_warning_ignores_debug_records():
    metrics = Metrics(process=False)
    handler = DiscordRateLimitCounter(metrics)
    logger = logging.getLogger("tests.ratelimit")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug(HTTP_429, "GET", "/x", 1.0)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert sample(metrics, "tween_discord_rate_limited_total", scope="http") is None


def families(payload: bytes) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(payload.decode())}


def test_render_is_prometheus_text_with_the_recorded_series():
    metrics = Metrics()
    metrics.discord_rate_limited("http")
    metrics.fal_transport_error("submit", httpx.ConnectTimeout("slow"))
    payload, content_type = metrics.render()

    assert content_type.startswith("text/plain; version=0.0.4")
    found = families(payload)
    for name in (
        "tween_fal_request_duration_seconds",
        "tween_fal_request_errors",
        "tween_discord_rate_limited",
        "tween_tracker_jobs_watched",
        "process_resident_memory_bytes",
    ):
        assert name in found
    assert "tween_jobs" not in found  # database figures appear after the first refresh
    errors = found["tween_fal_request_errors"]
    assert [(s.labels, s.value) for s in errors.samples if s.name.endswith("_total")] == [
        ({"kind": "submit", "reason": "ConnectTimeout"}, 1.0)
    ]


def test_openmetrics_is_served_when_asked_for():
    payload, content_type = Metrics(process=False).render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert payload.endswith(b"# EOF\n")


def test_instances_do_not_share_series():
    first, second = Metrics(), Metrics()
    first.discord_rate_limited("global")
    assert sample(first, "tween_discord_rate_limited_total", scope="global") == 1
    assert sample(second, "tween_discord_rate_limited_total", scope="global") is None


class BrokenDatabase:
    async def fetch_all(self, sql, params=()):
        raise sqlite3.OperationalError("database is locked")

    async def fetch_one(self, sql, params=()):
        raise sqlite3.OperationalError("database is locked")


async def test_a_failed_refresh_is_counted_and_the_probes_are_still_read(caplog):
    metrics = Metrics(process=False)
    ok = await metrics.refresh(
        BrokenDatabase(),
        tracker=lambda: TrackerState(
            running=True,
            watched=7,
            idle_seconds=1.5,
            transcodes_running=1,
            transcodes_waiting=2,
            late_p50=0.01,
            late_p99=0.4,
        ),
        gateway=lambda: GatewayState(connected=True, latency=float("inf")),
    )
    assert ok is False
    assert sample(metrics, "tween_metrics_refresh_errors_total") == 1
    assert sample(metrics, "tween_tracker_jobs_watched") == 7
    assert sample(metrics, "tween_tracker_running") == 1
    assert sample(metrics, "tween_tracker_idle_seconds") == 1.5
    assert sample(metrics, "tween_transcodes", phase="running") == 1
    assert sample(metrics, "tween_transcodes", phase="waiting") == 2
    assert sample(metrics, "tween_tracker_look_lateness_seconds", quantile="0.5") == 0.01
    assert sample(metrics, "tween_tracker_look_lateness_seconds", quantile="0.99") == 0.4
    assert sample(metrics, "tween_discord_gateway_connected") == 1
    assert math.isnan(sample(metrics, "tween_discord_gateway_latency_seconds"))
    assert "database figures unavailable" in caplog.text


async def test_a_probe_that_raises_reads_as_down():
    def broken() -> TrackerState:
        raise RuntimeError("tracker gone")

    metrics = Metrics(process=False)
    await metrics.refresh(BrokenDatabase(), tracker=broken, gateway=lambda: GatewayState(False, None))
    assert sample(metrics, "tween_tracker_running") == 0
    assert math.isnan(sample(metrics, "tween_tracker_idle_seconds"))
    assert sample(metrics, "tween_discord_gateway_connected") == 0
    assert math.isnan(sample(metrics, "tween_discord_gateway_latency_seconds"))
