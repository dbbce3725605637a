"""fal webhooks over real sockets: a real submit through FalClient with `webhook_url`, the fake fal signing and
posting the completion, and the bot's aiohttp route verifying it against the fake's JWKS."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.fal import Completed, FalClient, Submitted
from bot.fal.webhook import JwksCache, WebhookReceiver, WebhookVerifier, parse_jwks
from bot.ops.webhook import MAX_BODY, webhook_routes
from bot.settings import WebhookSettings
from tests.fakes.fal_server import MODEL, FakeFal, JobScript
from tests.integration.conftest import settings_for
from tests.support.images import image_bytes
from tests.support.waiting import wait_until


class Tracker:
    """Stands in for the job tracker's "look at this fal request now": it knows every request the fake took."""

    def __init__(self, fake: FakeFal, *, knows: bool = True, fail: int = 0) -> None:
        self.fake = fake
        self.knows = knows
        self.fail = fail
        self.calls: list[str] = []

    async def look_now(self, request_id: str) -> bool:
        self.calls.append(request_id)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("tracker hiccup")
        return self.knows and any(s.request_id == request_id for s in self.fake.submits)


class Shift:
    """The bot's clock, movable forward without waiting."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return time.time() + self.seconds


@dataclasses.dataclass
class Bot:
    url: str
    tracker: Tracker
    jwks: JwksCache
    receiver: WebhookReceiver
    clock: Shift


@contextlib.asynccontextmanager
async def bot_side(fake: FakeFal, tracker: Tracker, jwks_urls: list[str] | None = None) -> AsyncIterator[Bot]:
    """The bot's webhook route on 127.0.0.1, a free port, verifying with the fake's JWKS."""
    settings = WebhookSettings(
        public_url="",
        jwks_urls=jwks_urls or [fake.jwks_url],
        jwks_cache_seconds=86400,
        max_skew_seconds=300,
        fallback_interval=30.0,
    )
    clock = Shift()
    async with httpx.AsyncClient(timeout=5) as http:
        jwks = JwksCache(settings, http, clock=clock)
        receiver = WebhookReceiver(WebhookVerifier(settings, jwks, clock=clock), tracker.look_now)
        app = web.Application()
        app.add_routes(webhook_routes(receiver))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield Bot(f"http://127.0.0.1:{runner.addresses[0][1]}/fal/webhook", tracker, jwks, receiver, clock)
        finally:
            await receiver.aclose()
            await runner.cleanup()


@pytest.fixture
async def fal(fake_fal: FakeFal, tmp_path: Path) -> AsyncIterator[FalClient]:
    async with FalClient(settings_for(fake_fal, tmp_path).fal) as client:
        yield client


@pytest.fixture
def quick(fake_fal: FakeFal) -> FakeFal:
    """The fake with short retries, so refused deliveries finish quickly."""
    fake_fal.webhooks.attempts = 3
    fake_fal.webhooks.retry_delay = 0.01
    return fake_fal


async def submit(fal: FalClient, webhook_url: str | None) -> Submitted:
    start = await fal.storage.upload(image_bytes(640, 360), "image/png", "start.png")
    end = await fal.storage.upload(image_bytes(640, 360, "JPEG", (10, 90, 200)), "image/jpeg", "end.jpg")
    arguments = {
        "prompt": "@Image1 turns into @Image2",
        "start_image_url": start,
        "end_image_url": end,
        "duration": "5",
    }
    return await fal.submit(MODEL, arguments, webhook_url=webhook_url)


async def deliveries(fake: FakeFal, count: int) -> list:
    await wait_until(lambda: len(fake.webhook_deliveries) >= count, what=f"{count} webhook deliveries")
    # Every attempt is recorded before its answer arrives.
    await wait_until(lambda: all(d.status or d.error for d in fake.webhook_deliveries), what="answers")
    return fake.webhook_deliveries


async def test_completion_is_announced_by_a_signed_webhook(fake_fal: FakeFal, fal: FalClient):
    async with bot_side(fake_fal, Tracker(fake_fal)) as bot:
        job = await submit(fal, bot.url)
        (delivery,) = await deliveries(fake_fal, 1)
        assert bot.tracker.calls == [job.request_id]
    assert fake_fal.submits[0].webhook == bot.url
    assert (delivery.status, delivery.request_id, delivery.url, delivery.attempt) == (200, job.request_id, bot.url, 1)
    body = delivery.json
    assert body["request_id"] == body["gateway_request_id"] == job.request_id and body["status"] == "OK"
    assert body["payload"]["video"]["url"] == fake_fal.video_url(job.request_id)
    result = await fal.result(job.response_url)  # the webhook and the result endpoint agree
    assert (result.url, result.size) == (body["payload"]["video"]["url"], body["payload"]["video"]["file_size"])
    assert delivery.headers["X-Fal-Webhook-Request-Id"] == job.request_id
    assert fake_fal.count("jwks") == 1


async def test_release_completes_and_delivers(fake_fal: FakeFal, fal: FalClient):
    fake_fal.script_next(JobScript(queue_seconds=None, run_seconds=None))
    async with bot_side(fake_fal, Tracker(fake_fal)) as bot:
        job = await submit(fal, bot.url)
        fake_fal.release(job.request_id)  # starts running
        assert not isinstance(await fal.status(job.status_url), Completed)
        assert fake_fal.webhook_deliveries == []
        fake_fal.release(job.request_id)  # completes
        (delivery,) = await deliveries(fake_fal, 1)
        assert isinstance(await fal.status(job.status_url), Completed)
    assert delivery.status == 200 and delivery.json["status"] == "OK"
    assert bot.tracker.calls == [job.request_id]


async def test_failed_job_webhook_carries_the_error(fake_fal: FakeFal, fal: FalClient):
    fake_fal.script_next(JobScript(outcome="error", error="Runner disconnected"))
    async with bot_side(fake_fal, Tracker(fake_fal)) as bot:
        job = await submit(fal, bot.url)
        (delivery,) = await deliveries(fake_fal, 1)
    body = delivery.json
    assert (body["status"], body["error"]) == ("ERROR", "Invalid status code: 500")
    assert body["payload"]["detail"] == "Runner disconnected"
    assert delivery.status == 200 and bot.tracker.calls == [job.request_id]


async def test_wrong_key_is_refused_every_time(quick: FakeFal, fal: FalClient):
    quick.webhooks.wrong_key = True
    async with bot_side(quick, Tracker(quick)) as bot:
        await submit(fal, bot.url)
        sent = await deliveries(quick, 3)
    assert [d.status for d in sent] == [401, 401, 401] and [d.attempt for d in sent] == [1, 2, 3]
    assert bot.tracker.calls == []


async def test_stale_timestamp_is_refused(quick: FakeFal, fal: FalClient):
    quick.webhooks.timestamp_offset = -600
    async with bot_side(quick, Tracker(quick)) as bot:
        await submit(fal, bot.url)
        sent = await deliveries(quick, 3)
    assert {d.status for d in sent} == {401} and bot.tracker.calls == []


async def test_unknown_request_is_acknowledged_so_fal_stops(quick: FakeFal, fal: FalClient):
    async with bot_side(quick, Tracker(quick, knows=False)) as bot:
        job = await submit(fal, bot.url)
        (delivery,) = await deliveries(quick, 1)
        await asyncio.sleep(0.05)  # room for a retry that must not come
    assert delivery.status == 200 and len(quick.webhook_deliveries) == 1
    assert bot.tracker.calls == [job.request_id]


async def test_a_failing_lookup_is_retried_by_fal(quick: FakeFal, fal: FalClient):
    async with bot_side(quick, Tracker(quick, fail=1)) as bot:
        job = await submit(fal, bot.url)
        sent = await deliveries(quick, 2)
    assert [d.status for d in sent] == [500, 200]
    assert bot.tracker.calls == [job.request_id, job.request_id]


async def test_redelivery_is_a_duplicate(fake_fal: FakeFal, fal: FalClient):
    async with bot_side(fake_fal, Tracker(fake_fal)) as bot, httpx.AsyncClient() as http:
        job = await submit(fal, bot.url)
        (delivery,) = await deliveries(fake_fal, 1)
        same = await http.post(bot.url, content=delivery.body, headers=delivery.headers)
        body = json.dumps(delivery.json).encode()
        resigned = await http.post(bot.url, content=body, headers=fake_fal.webhooks.sign(job.request_id, body))
    assert (same.status_code, same.json()) == (200, {"ok": True, "result": "duplicate"})
    assert (resigned.status_code, resigned.json()) == (200, {"ok": True, "result": "duplicate"})
    assert bot.tracker.calls == [job.request_id]


async def test_route_answers_json_for_rejections(fake_fal: FakeFal):
    async with bot_side(fake_fal, Tracker(fake_fal)) as bot, httpx.AsyncClient() as http:
        unsigned = await http.post(bot.url, content=b"{}")
        body = b"not json"
        malformed = await http.post(bot.url, content=body, headers=fake_fal.webhooks.sign("rid-1", body))
        wrong_method = await http.get(bot.url)
    assert unsigned.status_code == 401 and unsigned.json()["ok"] is False
    assert "missing header" in unsigned.json()["result"]
    assert (malformed.status_code, malformed.json()) == (400, {"ok": False, "result": "body is not JSON"})
    assert wrong_method.status_code == 405


async def test_oversized_body_is_413(fake_fal: FakeFal):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 64 * 1024

    async with bot_side(fake_fal, Tracker(fake_fal)) as bot, httpx.AsyncClient() as http:
        declared = await http.post(bot.url, content=b"x" * (MAX_BODY + 1))
        streamed = await http.post(bot.url, content=chunks())  # chunked: no Content-Length to go by
    assert (declared.status_code, declared.json()) == (413, {"ok": False, "result": "body too large"})
    assert streamed.status_code == 413
    assert bot.tracker.calls == []


async def test_key_rotation_is_picked_up(fake_fal: FakeFal, fal: FalClient):
    async with bot_side(fake_fal, Tracker(fake_fal)) as bot:
        first = await submit(fal, bot.url)
        await deliveries(fake_fal, 1)
        fake_fal.webhooks.rotate()
        bot.clock.seconds = 61  # the cached keys are now old enough to refetch on a failure
        second = await submit(fal, bot.url)
        sent = await deliveries(fake_fal, 2)
    assert [d.status for d in sent] == [200, 200]
    assert bot.tracker.calls == [first.request_id, second.request_id]
    assert bot.jwks.fetches == 2 and fake_fal.count("jwks") == 2


async def test_one_broken_jwks_url_does_not_stop_webhooks(fake_fal: FakeFal, fal: FalClient):
    urls = [f"{fake_fal.base_url}/nowhere/jwks.json", fake_fal.jwks_url]
    async with bot_side(fake_fal, Tracker(fake_fal), jwks_urls=urls) as bot:
        job = await submit(fal, bot.url)
        (delivery,) = await deliveries(fake_fal, 1)
    assert delivery.status == 200 and bot.tracker.calls == [job.request_id]


async def test_unreachable_target_is_retried_and_recorded(quick: FakeFal, fal: FalClient):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await submit(fal, f"http://127.0.0.1:{port}/fal/webhook")
    sent = await deliveries(quick, 3)
    assert [(d.status, d.attempt) for d in sent] == [(None, 1), (None, 2), (None, 3)]
    assert all(d.error for d in sent)


async def test_no_webhook_unless_asked(fake_fal: FakeFal, fal: FalClient):
    job = await submit(fal, None)
    for _ in range(500):
        if isinstance(await fal.status(job.status_url), Completed):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the job never completed")
    assert fake_fal.submits[0].webhook is None and fake_fal.webhook_deliveries == []


async def test_jwks_route_publishes_the_signing_key(fake_fal: FakeFal):
    async with httpx.AsyncClient() as http:
        answer = await http.get(fake_fal.jwks_url)
    assert answer.status_code == 200
    (key,) = parse_jwks(answer.json())
    assert key.public_bytes_raw() == fake_fal.webhooks.key.public_key().public_bytes_raw()
