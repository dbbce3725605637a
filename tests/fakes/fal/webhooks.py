"""fal's webhooks (reference §5): the JWKS route, and a signed POST to `?fal_webhook=` when a job completes.

Test controls live on `FakeFal.webhooks`: `wrong_key` signs with a key the JWKS does not list, `timestamp_offset`
shifts the signed timestamp (negative: stale), `rotate()` swaps the signing key, `attempts`/`retry_delay` shape the
retries, and `deliveries` records every attempt.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.fakes.fal.answers import json_answer
from tests.fakes.fal.job import COMPLETED, Job
from tests.fakes.fal.queue import final_answer

if TYPE_CHECKING:
    from tests.fakes.fal.server import FakeFal

POLL = 0.05  # how often a held job is looked at; release() wakes the watcher at once
DELIVERY_TIMEOUT = 15.0  # fal's timeout for the first delivery


@dataclass
class WebhookDelivery:
    request_id: str
    url: str
    attempt: int
    body: bytes
    headers: dict[str, str]
    status: int | None  # None: no HTTP answer (refused, reset or timed out)
    error: str | None
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class WebhookSender:
    """Signs with an Ed25519 key made at start-up, publishes it as a JWKS, and delivers completions."""

    def __init__(self, fake: FakeFal) -> None:
        self._fake = fake
        self.key = Ed25519PrivateKey.generate()
        self.retired: list[Ed25519PrivateKey] = []  # still published after rotate(keep_old=True)
        self.user_id = "fake-fal-user"
        self.wrong_key = False
        self.timestamp_offset = 0.0
        self.attempts = 4
        self.retry_delay = 0.05
        self.deliveries: list[WebhookDelivery] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}

    # Test controls.

    def rotate(self, *, keep_old: bool = False) -> None:
        """Sign with a new key from now on; the JWKS lists it (and the old one, if kept)."""
        if keep_old:
            self.retired.append(self.key)
        self.key = Ed25519PrivateKey.generate()

    def jwks(self) -> dict[str, Any]:
        return {"keys": [_jwk(key) for key in (self.key, *self.retired)]}

    def sign(self, request_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The four X-Fal-Webhook-* headers for body, as fal would send them."""
        stamp = str(timestamp if timestamp is not None else int(time.time() + self.timestamp_offset))
        message = "\n".join((request_id, self.user_id, stamp, hashlib.sha256(body).hexdigest())).encode()
        key = Ed25519PrivateKey.generate() if self.wrong_key else self.key
        return {
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": self.user_id,
            "X-Fal-Webhook-Timestamp": stamp,
            "X-Fal-Webhook-Signature": key.sign(message).hex(),
        }

    # Used by the server and the queue routes.

    def watch(self, job: Job, url: str) -> None:
        rid = job.request_id
        self._wake[rid] = asyncio.Event()
        task = asyncio.create_task(self._run(job, url), name=f"fake-fal-webhook-{rid}")
        task.add_done_callback(lambda _: self._tasks.pop(rid, None))
        self._tasks[rid] = task

    def wake(self, request_id: str) -> None:
        if (event := self._wake.get(request_id)) is not None:
            event.set()

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._wake.clear()

    async def _run(self, job: Job, url: str) -> None:
        await self._until_completed(job)
        code, payload, _ = final_answer(self._fake, job)
        body = json.dumps(_webhook_body(job, code, payload)).encode()
        await self._deliver(job.request_id, url, body)
        self._wake.pop(job.request_id, None)

    async def _until_completed(self, job: Job) -> None:
        wake = self._wake[job.request_id]
        while job.phase(self._fake.clock()) != COMPLETED:
            change = job.next_change(self._fake.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(POLL, change) if change is not None else POLL)
            wake.clear()

    async def _deliver(self, request_id: str, url: str, body: bytes) -> None:
        for attempt in range(1, self.attempts + 1):
            status = await self._post(request_id, url, body, attempt)
            # fal treats a redirect as a permanent failure (reference §5).
            if (status is not None and status < 400) or attempt == self.attempts:
                return
            await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))

    async def _post(self, request_id: str, url: str, body: bytes, attempt: int) -> int | None:
        headers = {"Content-Type": "application/json", **self.sign(request_id, body)}
        record = WebhookDelivery(request_id, url, attempt, body, headers, None, None, self._fake.clock())
        self.deliveries.append(record)
        try:
            async with self._fake._client().post(
                url, data=body, headers=headers, allow_redirects=False, timeout=aiohttp.ClientTimeout(DELIVERY_TIMEOUT)
            ) as answer:
                await answer.read()
                record.status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            record.error = str(exc) or type(exc).__name__
        return record.status


def _webhook_body(job: Job, code: int, payload: Any) -> dict[str, Any]:
    # request_id is the queue's id; gateway_request_id names the last attempt and differs after a retry (reference §5).
    body: dict[str, Any] = {"request_id": job.request_id, "gateway_request_id": job.gateway_request_id}
    if code == 200:
        return body | {"status": "OK", "payload": payload}
    return body | {"status": "ERROR", "error": f"Invalid status code: {code}", "payload": payload}


def _jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    raw = key.public_key().public_bytes_raw()
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": hashlib.sha256(raw).hexdigest()[:16], "alg": "EdDSA"}


async def jwks(fake: FakeFal, request: web.Request, params: Mapping[str, str]) -> web.StreamResponse:
    return json_answer(fake.webhooks.jwks())
