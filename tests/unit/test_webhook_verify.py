"""fal webhook verification and the receiver, with JWKS served over httpx.MockTransport and a hand-moved clock."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.errors import TweenError
from bot.fal.webhook import (
    DuplicateWebhook,
    JwksCache,
    WebhookReceiver,
    WebhookRejected,
    WebhookVerifier,
    parse_jwks,
)
from bot.settings import WebhookSettings
from tests.support.settings import make_settings

URL_A = "https://rest.fal.test/.well-known/jwks.json"
URL_B = "https://rest.alpha.fal.test/.well-known/jwks.json"
RID = "123e4567-e89b-12d3-a456-426614174000"
START = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def jwk(key: Ed25519PrivateKey, *, pad: bool = False) -> dict[str, str]:
    x = base64.urlsafe_b64encode(key.public_key().public_bytes_raw()).decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x if pad else x.rstrip("=")}


class Fal:
    """What fal publishes at each JWKS URL, and how it signs; records every JWKS fetch."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.served: dict[str, object] = {URL_A: None, URL_B: None}  # None: the current key
        self.fetched: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.fetched.append(url)
        served = self.served[url]
        if isinstance(served, Exception):
            raise served
        if isinstance(served, int):
            return httpx.Response(served, text="nope")
        return httpx.Response(200, json=served if served is not None else {"keys": [jwk(self.key)]})

    def sign(
        self,
        body: bytes,
        *,
        rid: str = RID,
        ts: float = START,
        key: Ed25519PrivateKey | None = None,
        user: str = "user-1",
    ) -> dict[str, str]:
        stamp = str(int(ts))
        message = f"{rid}\n{user}\n{stamp}\n{hashlib.sha256(body).hexdigest()}".encode()
        return {
            "X-Fal-Webhook-Request-Id": rid,
            "X-Fal-Webhook-User-Id": user,
            "X-Fal-Webhook-Timestamp": stamp,
            "X-Fal-Webhook-Signature": (key or self.key).sign(message).hex(),
        }


def body_for(rid: str = RID, **extra: object) -> bytes:
    payload = {"video": {"url": "https://v3b.fal.media/x.mp4", "content_type": "video/mp4"}}
    return json.dumps(
        {"request_id": rid, "gateway_request_id": rid, "status": "OK", "payload": payload, **extra}
    ).encode()


def webhook_settings(**changes: object) -> WebhookSettings:
    return dataclasses.replace(make_settings().webhooks, jwks_urls=[URL_A, URL_B], **changes)


@dataclasses.dataclass
class Rig:
    fal: Fal
    clock: Clock
    jwks: JwksCache
    verifier: WebhookVerifier


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    fal, clock = Fal(), Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(fal.handler)) as http:
        jwks = JwksCache(webhook_settings(), http, clock=clock)
        yield Rig(fal, clock, jwks, WebhookVerifier(webhook_settings(), jwks, clock=clock, max_remembered=4))


async def rejected(rig: Rig, body: bytes, headers: dict[str, str]) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        await rig.verifier.verify(body, headers)
    return caught.value


# Verification.


async def test_good_signature_gives_the_request_id(rig: Rig):
    body = body_for()
    assert await rig.verifier.verify(body, rig.fal.sign(body)) == RID
    assert sorted(rig.fal.fetched) == sorted([URL_A, URL_B])


async def test_header_names_are_case_insensitive(rig: Rig):
    body = body_for()
    headers = {name.lower(): value for name, value in rig.fal.sign(body).items()}
    assert await rig.verifier.verify(body, headers) == RID


def test_rejection_is_a_tween_error():
    error = WebhookRejected("why", 400)
    assert isinstance(error, TweenError) and error.reason == "why" and error.status == 400


@pytest.mark.parametrize(
    "header",
    ["X-Fal-Webhook-Request-Id", "X-Fal-Webhook-User-Id", "X-Fal-Webhook-Timestamp", "X-Fal-Webhook-Signature"],
)
async def test_each_missing_header_is_refused(rig: Rig, header: str):
    body = body_for()
    headers = rig.fal.sign(body)
    del headers[header]
    error = await rejected(rig, body, headers)
    assert error.status == 401 and header.lower() in error.reason


async def test_an_empty_header_counts_as_missing(rig: Rig):
    body = body_for()
    headers = rig.fal.sign(body) | {"X-Fal-Webhook-User-Id": ""}
    assert (await rejected(rig, body, headers)).status == 401


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86400])
async def test_timestamp_outside_the_skew_is_refused(rig: Rig, offset: int):
    body = body_for()
    error = await rejected(rig, body, rig.fal.sign(body, ts=START + offset))
    assert error.status == 401 and "skew" in error.reason


@pytest.mark.parametrize("offset", [-299, 299, 0])
async def test_timestamp_inside_the_skew_is_taken(rig: Rig, offset: int):
    body = body_for()
    assert await rig.verifier.verify(body, rig.fal.sign(body, ts=START + offset)) == RID


@pytest.mark.parametrize("stamp", ["soon", "1.7e9", "-1700000000", "1700000000.5", ""])
async def test_timestamp_must_be_unix_seconds(rig: Rig, stamp: str):
    body = body_for()
    headers = rig.fal.sign(body) | {"X-Fal-Webhook-Timestamp": stamp}
    assert (await rejected(rig, body, headers)).status == 401


@pytest.mark.parametrize("signature", ["zz" * 64, "ab" * 63, "ab" * 65, "ab " * 64])
async def test_signature_must_be_64_hex_bytes(rig: Rig, signature: str):
    body = body_for()
    headers = rig.fal.sign(body) | {"X-Fal-Webhook-Signature": signature}
    error = await rejected(rig, body, headers)
    assert error.status == 401 and "hex" in error.reason


async def test_wrong_key_is_refused(rig: Rig):
    body = body_for()
    error = await rejected(rig, body, rig.fal.sign(body, key=Ed25519PrivateKey.generate()))
    assert error.status == 401 and "signature" in error.reason


async def test_tampered_body_is_refused(rig: Rig):
    headers = rig.fal.sign(body_for())
    error = await rejected(rig, body_for(status="ERROR"), headers)
    assert error.status == 401


async def test_each_signed_field_is_covered(rig: Rig):
    body = body_for()
    headers = rig.fal.sign(body)
    for name, value in (
        ("X-Fal-Webhook-User-Id", "user-2"),
        ("X-Fal-Webhook-Timestamp", str(int(START) + 1)),
        ("X-Fal-Webhook-Request-Id", "another-id"),
    ):
        assert (await rejected(rig, body, headers | {name: value})).status == 401


async def test_body_request_id_must_match_the_header(rig: Rig):
    body = body_for("someone-else")
    error = await rejected(rig, body, rig.fal.sign(body))
    assert error.status == 400 and "request_id" in error.reason


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"status": "OK"}'])
async def test_malformed_signed_body_is_a_400(rig: Rig, body: bytes):
    assert (await rejected(rig, body, rig.fal.sign(body))).status == 400


async def test_unsigned_malformed_body_is_a_401_not_a_400(rig: Rig):
    body = b"not json"
    headers = rig.fal.sign(body, key=Ed25519PrivateKey.generate())
    assert (await rejected(rig, body, headers)).status == 401


# Duplicates and replays.


async def test_same_signed_message_twice_is_a_duplicate(rig: Rig):
    body = body_for()
    headers = rig.fal.sign(body)
    assert await rig.verifier.verify(body, headers) == RID
    with pytest.raises(DuplicateWebhook) as caught:
        await rig.verifier.verify(body, headers)
    assert caught.value.request_id == RID
    assert not isinstance(caught.value, WebhookRejected)


async def test_a_resigned_retry_is_not_a_replay(rig: Rig):
    body = body_for()
    assert await rig.verifier.verify(body, rig.fal.sign(body)) == RID
    rig.clock.now += 5
    assert await rig.verifier.verify(body, rig.fal.sign(body, ts=rig.clock.now)) == RID


async def test_replay_after_the_window_is_refused_as_stale(rig: Rig):
    body = body_for()
    headers = rig.fal.sign(body)
    await rig.verifier.verify(body, headers)
    rig.clock.now += 301
    error = await rejected(rig, body, headers)
    assert error.status == 401 and "skew" in error.reason


async def test_replay_memory_stays_bounded(rig: Rig):
    for n in range(10):
        rid = f"rid-{n}"
        body = body_for(rid)
        rig.clock.now += 1
        await rig.verifier.verify(body, rig.fal.sign(body, rid=rid, ts=rig.clock.now))
    assert len(rig.verifier._replays) <= 4


async def test_replay_memory_forgets_what_left_the_window(rig: Rig):
    first = body_for("rid-a")
    await rig.verifier.verify(first, rig.fal.sign(first, rid="rid-a"))
    rig.clock.now += 400
    second = body_for("rid-b")
    await rig.verifier.verify(second, rig.fal.sign(second, rid="rid-b", ts=rig.clock.now))
    assert len(rig.verifier._replays) == 1


# JWKS.


async def test_keys_are_cached(rig: Rig):
    for n in range(3):
        body = body_for(f"r{n}")
        await rig.verifier.verify(body, rig.fal.sign(body, rid=f"r{n}"))
    assert rig.jwks.fetches == 1 and len(rig.fal.fetched) == 2


async def test_keys_are_fetched_again_when_the_cache_expires(rig: Rig):
    body = body_for()
    await rig.verifier.verify(body, rig.fal.sign(body))
    rig.clock.now += 86_400
    body = body_for("later")
    await rig.verifier.verify(body, rig.fal.sign(body, rid="later", ts=rig.clock.now))
    assert rig.jwks.fetches == 2


async def test_rotation_refetches_once_the_keys_are_a_minute_old(rig: Rig):
    body = body_for()
    await rig.verifier.verify(body, rig.fal.sign(body))
    rig.fal.key = Ed25519PrivateKey.generate()  # fal rotates
    rig.clock.now += 30
    await rejected(rig, body, rig.fal.sign(body, ts=rig.clock.now))
    assert rig.jwks.fetches == 1  # keys this young are not refetched
    rig.clock.now += 31
    assert await rig.verifier.verify(body, rig.fal.sign(body, ts=rig.clock.now)) == RID
    assert rig.jwks.fetches == 2


async def test_a_flood_of_bad_signatures_refetches_at_most_once_a_minute(rig: Rig):
    body = body_for()
    await rig.verifier.verify(body, rig.fal.sign(body))
    forger = Ed25519PrivateKey.generate()
    for _ in range(50):
        rig.clock.now += 3  # 150 s of forgeries
        await rejected(rig, body, rig.fal.sign(body, ts=rig.clock.now, key=forger))
    assert rig.jwks.fetches <= 1 + 150 // 60


async def test_concurrent_failures_share_one_refetch(rig: Rig):
    body = body_for()
    await rig.verifier.verify(body, rig.fal.sign(body))
    rig.clock.now += 120
    forger = Ed25519PrivateKey.generate()
    headers = rig.fal.sign(body, ts=rig.clock.now, key=forger)
    results = await asyncio.gather(*(rig.verifier.verify(body, headers) for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, WebhookRejected) for r in results)
    assert rig.jwks.fetches == 2


@pytest.mark.parametrize("failure", [500, 404, httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_one_failing_jwks_url_is_skipped(rig: Rig, failure: object, caplog: pytest.LogCaptureFixture):
    rig.fal.served[URL_A] = failure
    body = body_for()
    assert await rig.verifier.verify(body, rig.fal.sign(body)) == RID
    assert "JWKS" in caplog.text


async def test_keys_from_both_urls_are_accepted(rig: Rig):
    old = Ed25519PrivateKey.generate()
    rig.fal.served[URL_B] = {"keys": [jwk(old)]}
    for rid, key in (("r-new", rig.fal.key), ("r-old", old)):
        body = body_for(rid)
        assert await rig.verifier.verify(body, rig.fal.sign(body, rid=rid, key=key)) == rid


@pytest.mark.parametrize("broken", [{"keys": []}, {"nothing": 1}, ["keys"], 503])
async def test_a_jwks_without_usable_keys_is_skipped(rig: Rig, broken: object):
    rig.fal.served[URL_B] = broken
    body = body_for()
    assert await rig.verifier.verify(body, rig.fal.sign(body)) == RID


async def test_no_keys_at_all_is_a_503_and_retried_later(rig: Rig):
    rig.fal.served[URL_A] = 500
    rig.fal.served[URL_B] = httpx.ConnectError("refused")
    body = body_for()
    assert (await rejected(rig, body, rig.fal.sign(body))).status == 503
    assert (await rejected(rig, body, rig.fal.sign(body))).status == 503
    assert rig.jwks.fetches == 1  # not refetched on every delivery
    rig.fal.served[URL_A] = None
    rig.clock.now += 10
    assert await rig.verifier.verify(body, rig.fal.sign(body, ts=rig.clock.now)) == RID


def test_parse_jwks_keeps_only_ed25519_keys():
    key = Ed25519PrivateKey.generate()
    document = {
        "keys": [
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            {"kty": "OKP", "crv": "X25519", "x": jwk(key)["x"]},
            {"kty": "OKP", "crv": "Ed25519", "x": "c2hvcnQ"},
            {"kty": "OKP", "crv": "Ed25519", "x": 42},
            "junk",
            jwk(key, pad=True),
            jwk(key),
        ]
    }
    keys = parse_jwks(document)
    assert [k.public_bytes_raw() for k in keys] == [key.public_key().public_bytes_raw()] * 2


# The receiver.


class Tracker:
    def __init__(self, known: set[str], *, gate: asyncio.Event | None = None, fail: int = 0) -> None:
        self.known = known
        self.gate = gate
        self.fail = fail
        self.calls: list[str] = []

    async def look_now(self, request_id: str) -> bool:
        self.calls.append(request_id)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise RuntimeError("tracker hiccup")
        return request_id in self.known


async def test_receiver_accepts_once_per_request_id(rig: Rig):
    tracker = Tracker({RID})
    receiver = WebhookReceiver(rig.verifier, tracker.look_now)
    body = body_for()
    first = await receiver.receive(body, rig.fal.sign(body))
    rig.clock.now += 2
    again = await receiver.receive(body, rig.fal.sign(body, ts=rig.clock.now))  # a re-signed retry
    exact = await receiver.receive(body, rig.fal.sign(body))  # the very same message
    assert (first.status, first.request_id, first.result) == (200, RID, "accepted") and first.ok
    assert (again.status, again.result) == (200, "duplicate")
    assert (exact.status, exact.result) == (200, "duplicate")
    assert tracker.calls == [RID]


async def test_receiver_unknown_request_is_200_and_a_warning(rig: Rig, caplog: pytest.LogCaptureFixture):
    tracker = Tracker(set())
    receiver = WebhookReceiver(rig.verifier, tracker.look_now)
    body = body_for()
    with caplog.at_level(logging.WARNING):
        outcome = await receiver.receive(body, rig.fal.sign(body))
    assert (outcome.status, outcome.result) == (200, "unknown request")
    assert any(r.levelno == logging.WARNING and RID in r.getMessage() for r in caplog.records)


async def test_receiver_rejection_is_logged_without_the_body(rig: Rig, caplog: pytest.LogCaptureFixture):
    tracker = Tracker({RID})
    receiver = WebhookReceiver(rig.verifier, tracker.look_now)
    body = body_for(note="SECRET-LOOKING-TEXT")
    headers = rig.fal.sign(body, key=Ed25519PrivateKey.generate())
    with caplog.at_level(logging.DEBUG):
        outcome = await receiver.receive(body, headers)
    assert (outcome.status, outcome.request_id, outcome.ok) == (401, None, False)
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert "SECRET-LOOKING-TEXT" not in caplog.text
    assert headers["X-Fal-Webhook-Signature"] not in caplog.text
    assert tracker.calls == []


async def test_receiver_malformed_body_is_a_400(rig: Rig):
    receiver = WebhookReceiver(rig.verifier, Tracker({RID}).look_now)
    body = b"{"
    outcome = await receiver.receive(body, rig.fal.sign(body))
    assert outcome.status == 400


async def test_receiver_survives_a_failing_lookup_and_lets_the_retry_in(rig: Rig, caplog: pytest.LogCaptureFixture):
    tracker = Tracker({RID}, fail=1)
    receiver = WebhookReceiver(rig.verifier, tracker.look_now)
    body = body_for()
    failed = await receiver.receive(body, rig.fal.sign(body))
    rig.clock.now += 1
    retried = await receiver.receive(body, rig.fal.sign(body, ts=rig.clock.now))
    assert (failed.status, failed.result) == (500, "internal error")
    assert (retried.status, retried.result) == (200, "accepted")
    assert tracker.calls == [RID, RID]
    assert "tracker hiccup" in caplog.text


async def test_receiver_answers_fast_when_the_lookup_is_slow(rig: Rig):
    # The lookup cannot finish before the test lets it, so an answer at all proves the receiver did not wait for
    # it (beyond its 0.05 s); a receiver that waited would time out here.
    gate = asyncio.Event()
    tracker = Tracker({RID}, gate=gate)
    receiver = WebhookReceiver(rig.verifier, tracker.look_now, callback_timeout=0.05)
    body = body_for()
    async with asyncio.timeout(10):
        outcome = await receiver.receive(body, rig.fal.sign(body))
    assert (outcome.status, outcome.result) == (200, "accepted")
    assert tracker.calls == [RID] and not gate.is_set()
    gate.set()
    await receiver.aclose()


async def test_receiver_remembers_a_bounded_number_of_ids(rig: Rig):
    tracker = Tracker({f"r{n}" for n in range(5)})
    receiver = WebhookReceiver(rig.verifier, tracker.look_now, max_remembered=2)
    for n in range(5):
        body = body_for(f"r{n}")
        rig.clock.now += 1
        assert (await receiver.receive(body, rig.fal.sign(body, rid=f"r{n}", ts=rig.clock.now))).ok
    assert len(receiver._accepted) == 2


async def test_receiver_lets_the_very_same_message_in_again_after_a_failed_lookup(rig: Rig):
    tracker = Tracker({RID}, fail=1)
    receiver = WebhookReceiver(rig.verifier, tracker.look_now)
    body = body_for()
    headers = rig.fal.sign(body)
    assert (await receiver.receive(body, headers)).status == 500
    assert (await receiver.receive(body, headers)).result == "accepted"
    assert (await receiver.receive(body, headers)).result == "duplicate"
    assert tracker.calls == [RID, RID]


async def test_after_a_retry_at_fal_the_job_is_found_by_either_id(rig: Rig):
    """fal's docs: request_id and gateway_request_id are equal unless fal retried the request; which of them the
    signed header carries then is not said, so the job is looked for under both."""
    gateway = "gw-after-a-retry"
    tracker = Tracker({RID})
    receiver = WebhookReceiver(rig.verifier, tracker.look_now)
    body = body_for(gateway, gateway_request_id=RID)  # the header and request_id name the gateway's id
    outcome = await receiver.receive(body, rig.fal.sign(body, rid=gateway))
    assert (outcome.status, outcome.result) == (200, "accepted")
    assert tracker.calls == [gateway, RID]
    swapped = body_for(RID, gateway_request_id=gateway)  # or the queue's id, with the gateway's beside it
    signed_as_gateway = await receiver.receive(swapped, rig.fal.sign(swapped, rid=gateway, ts=START + 1))
    assert signed_as_gateway.status == 200
