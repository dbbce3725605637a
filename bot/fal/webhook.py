"""fal webhooks (reference §5): signing keys from fal's JWKS, signature checks, and the receiver behind the route."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import heapq
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bot.errors import TweenError
from bot.settings import WebhookSettings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
OnCompletion = Callable[[str], Awaitable[bool]]

HEADER_REQUEST_ID = "x-fal-webhook-request-id"
HEADER_USER_ID = "x-fal-webhook-user-id"
HEADER_TIMESTAMP = "x-fal-webhook-timestamp"
HEADER_SIGNATURE = "x-fal-webhook-signature"
REQUIRED_HEADERS = (HEADER_REQUEST_ID, HEADER_USER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)

# Keys younger than this are not refetched on a failed signature: a flood of forgeries must not become a flood of
# JWKS fetches.
MIN_REFETCH_SECONDS = 60.0
# After every URL failed, wait this long before trying again.
FAILED_FETCH_RETRY_SECONDS = 10.0
JWKS_FETCH_TIMEOUT = 5.0
MAX_JWKS_BYTES = 256 * 1024
MAX_REMEMBERED = 10_000
CALLBACK_TIMEOUT = 2.0

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]{128}")
_PRINTABLE = re.compile(r"[\x21-\x7e]{1,200}")


class WebhookRejected(TweenError):
    """A webhook delivery that will not be acted on; `status` is the HTTP answer for fal."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class DuplicateWebhook(TweenError):
    """The exact signed message was already accepted: a redelivery, answered 200 and otherwise ignored."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"duplicate webhook for {request_id}")
        self.request_id = request_id


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    request_id: str | None
    result: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class JwksCache:
    """fal's Ed25519 signing keys, fetched from every configured JWKS URL and kept for `jwks_cache_seconds`."""

    def __init__(
        self,
        settings: WebhookSettings,
        http: httpx.AsyncClient,
        *,
        clock: Clock = time.time,
        min_refetch_seconds: float = MIN_REFETCH_SECONDS,
        failed_retry_seconds: float = FAILED_FETCH_RETRY_SECONDS,
    ) -> None:
        self._urls = tuple(settings.jwks_urls)
        self._ttl = settings.jwks_cache_seconds
        self._http = http
        self._clock = clock
        self._min_refetch = min_refetch_seconds
        self._failed_retry = failed_retry_seconds
        self._keys: tuple[Ed25519PublicKey, ...] = ()
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def keys(self) -> tuple[Ed25519PublicKey, ...]:
        """Fresh keys, fetching them if the cache is empty or expired; raises WebhookRejected(503) if none."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh() and self._may_retry_failure():
                    await self._fetch()
        if not self._fresh():
            raise WebhookRejected("fal signing keys are unavailable", 503)
        return self._keys

    async def refetch_for_rotation(self) -> bool:
        """Fetch again after a signature failed, at most once per `min_refetch_seconds`; True if keys changed."""
        async with self._lock:
            if not self._may_refetch():
                return False
            before = _raw_keys(self._keys)
            await self._fetch()
            return _raw_keys(self._keys) != before

    def _fresh(self) -> bool:
        return self._fetched_at is not None and bool(self._keys) and self._clock() - self._fetched_at < self._ttl

    def _may_retry_failure(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._failed_retry

    def _may_refetch(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._min_refetch

    async def _fetch(self) -> None:
        self._attempted_at = self._clock()
        self.fetches += 1
        results = await asyncio.gather(*(self._fetch_one(url) for url in self._urls))
        fetched = [keys for keys in results if keys is not None]
        if not fetched:
            log.warning("could not fetch fal's webhook signing keys from any of %d URL(s)", len(self._urls))
            return
        self._keys = _unique(key for keys in fetched for key in keys)
        self._fetched_at = self._attempted_at
        log.info("fetched %d fal webhook signing key(s)", len(self._keys))

    async def _fetch_one(self, url: str) -> list[Ed25519PublicKey] | None:
        try:
            response = await self._http.get(url, timeout=JWKS_FETCH_TIMEOUT)
            response.raise_for_status()
            if len(response.content) > MAX_JWKS_BYTES:
                raise ValueError(f"{len(response.content)} bytes is too large for a JWKS")
            keys = parse_jwks(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            why = f"HTTP {exc.response.status_code}" if isinstance(exc, httpx.HTTPStatusError) else type(exc).__name__
            log.warning("fal JWKS at %s failed: %s", url, why)
            return None
        if not keys:
            log.warning("fal JWKS at %s has no Ed25519 keys", url)
            return None
        return keys


def parse_jwks(document: Any) -> list[Ed25519PublicKey]:
    """The Ed25519 public keys in a JWKS document; other kinds of key are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("JWKS has no keys list")
    return [key for entry in entries if (key := _ed25519(entry)) is not None]


def _ed25519(entry: Any) -> Ed25519PublicKey | None:
    if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
        return None
    x = entry.get("x")
    if not isinstance(x, str):
        return None
    try:
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
        return Ed25519PublicKey.from_public_bytes(raw) if len(raw) == 32 else None
    except ValueError:  # binascii.Error is one
        return None


def _raw_keys(keys: Iterable[Ed25519PublicKey]) -> frozenset[bytes]:
    return frozenset(key.public_bytes_raw() for key in keys)


def _unique(keys: Iterable[Ed25519PublicKey]) -> tuple[Ed25519PublicKey, ...]:
    seen: dict[bytes, Ed25519PublicKey] = {}
    for key in keys:
        seen.setdefault(key.public_bytes_raw(), key)
    return tuple(seen.values())


def signed_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """The bytes fal signs: the three headers and the body's SHA-256, one per line."""
    return "\n".join((request_id, user_id, timestamp, hashlib.sha256(body).hexdigest())).encode()


@dataclass(frozen=True)
class _Signed:
    request_id: str
    user_id: str
    timestamp: str
    signature: bytes

    @property
    def replay_key(self) -> tuple[str, str, bytes]:
        return self.request_id, self.timestamp, self.signature


class _ReplayMemory:
    """Signed messages already accepted, each kept until its timestamp leaves the skew window."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[tuple[str, str, bytes]] = set()
        self._expiry: list[tuple[float, tuple[str, str, bytes]]] = []

    def __contains__(self, key: tuple[str, str, bytes]) -> bool:
        return key in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, key: tuple[str, str, bytes], expires_at: float, now: float) -> None:
        while self._expiry and (self._expiry[0][0] < now or len(self._seen) >= self._limit):
            _, old = heapq.heappop(self._expiry)
            self._seen.discard(old)
        self._seen.add(key)
        heapq.heappush(self._expiry, (expires_at, key))

    def forget(self, request_id: str) -> None:
        # The heap keeps its entries; popping one whose key is gone is harmless.
        self._seen = {key for key in self._seen if key[0] != request_id}


class WebhookVerifier:
    """Checks a delivery came from fal: headers, timestamp, Ed25519 signature over the raw body, and body shape."""

    def __init__(
        self,
        settings: WebhookSettings,
        jwks: JwksCache,
        *,
        clock: Clock = time.time,
        max_remembered: int = MAX_REMEMBERED,
    ) -> None:
        self._skew = settings.max_skew_seconds
        self._jwks = jwks
        self._clock = clock
        self._replays = _ReplayMemory(max_remembered)

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """The request id of a genuine, fresh delivery; raises WebhookRejected, or DuplicateWebhook for a repeat."""
        signed = _read_headers(headers)
        stamp = self._check_timestamp(signed.timestamp)
        message = signed_message(signed.request_id, signed.user_id, signed.timestamp, body)
        await self._check_signature(signed.signature, message)
        _check_body(body, signed.request_id)
        if signed.replay_key in self._replays:
            raise DuplicateWebhook(signed.request_id)
        self._replays.add(signed.replay_key, stamp + self._skew, self._clock())
        return signed.request_id

    def forget(self, request_id: str) -> None:
        """Let the same signed message in again, after the receiver could not act on it."""
        self._replays.forget(request_id)

    def _check_timestamp(self, timestamp: str) -> float:
        if not _TIMESTAMP.fullmatch(timestamp):
            raise WebhookRejected("timestamp is not unix seconds")
        stamp = float(timestamp)
        if abs(self._clock() - stamp) > self._skew:
            raise WebhookRejected("timestamp is outside the allowed skew")
        return stamp

    async def _check_signature(self, signature: bytes, message: bytes) -> None:
        if _any_verifies(await self._jwks.keys(), signature, message):
            return
        # fal may have rotated its keys since we fetched them.
        if await self._jwks.refetch_for_rotation() and _any_verifies(await self._jwks.keys(), signature, message):
            return
        raise WebhookRejected("signature does not verify")


def _read_headers(headers: Mapping[str, str]) -> _Signed:
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    missing = [name for name in REQUIRED_HEADERS if not lowered.get(name)]
    if missing:
        raise WebhookRejected(f"missing header(s): {', '.join(missing)}")
    request_id, user_id = lowered[HEADER_REQUEST_ID], lowered[HEADER_USER_ID]
    if not (_PRINTABLE.fullmatch(request_id) and _PRINTABLE.fullmatch(user_id)):
        raise WebhookRejected("request or user id header is malformed")
    signature = lowered[HEADER_SIGNATURE]
    if not _SIGNATURE.fullmatch(signature):
        raise WebhookRejected("signature is not 64 hex-encoded bytes")
    return _Signed(request_id, user_id, lowered[HEADER_TIMESTAMP], bytes.fromhex(signature))


def _any_verifies(keys: Iterable[Ed25519PublicKey], signature: bytes, message: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


def _check_body(body: bytes, request_id: str) -> None:
    if request_id not in body_ids(body):
        raise WebhookRejected("body request_id does not match the signed header", 400)


def body_ids(body: bytes) -> tuple[str, ...]:
    """The request ids a delivery names: `request_id`, then `gateway_request_id` when fal retried the request and
    the two differ. Which one the signed header carries after a retry is not documented, so either counts."""
    try:
        document = json.loads(body)
    except ValueError:
        raise WebhookRejected("body is not JSON", 400) from None
    if not isinstance(document, dict):
        raise WebhookRejected("body is not a JSON object", 400)
    ids = (document.get("request_id"), document.get("gateway_request_id"))
    return tuple(dict.fromkeys(i for i in ids if isinstance(i, str) and i))


class WebhookReceiver:
    """Turns a verified delivery into one prompt look at the job; answers fal quickly and never raises."""

    def __init__(
        self,
        verifier: WebhookVerifier,
        on_completion: OnCompletion,
        *,
        callback_timeout: float = CALLBACK_TIMEOUT,
        max_remembered: int = MAX_REMEMBERED,
    ) -> None:
        self._verifier = verifier
        self._on_completion = on_completion
        self._timeout = callback_timeout
        self._limit = max_remembered
        self._accepted: OrderedDict[str, None] = OrderedDict()
        self._pending: set[asyncio.Task[bool]] = set()

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        try:
            request_id = await self._verifier.verify(body, headers)
        except DuplicateWebhook as dup:
            log.info("fal webhook for %s delivered again; already handled", dup.request_id)
            return WebhookOutcome(200, dup.request_id, "duplicate")
        except WebhookRejected as exc:
            log.warning("fal webhook rejected (%d): %s", exc.status, exc.reason)
            return WebhookOutcome(exc.status, None, exc.reason)
        if request_id in self._accepted:
            log.info("fal webhook for %s repeated; already handled", request_id)
            return WebhookOutcome(200, request_id, "duplicate")
        # Verified already, so the body is JSON naming the signed id; the other id finds a job fal retried.
        others = tuple(i for i in body_ids(body) if i != request_id)
        return await self._complete(request_id, others)

    async def aclose(self) -> None:
        """Wait briefly for callbacks still running past their timeout, then cancel them."""
        if self._pending:
            _, late = await asyncio.wait(self._pending, timeout=self._timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _complete(self, request_id: str, others: tuple[str, ...] = ()) -> WebhookOutcome:
        # Claimed before the await, so a concurrent redelivery is a duplicate rather than a second look.
        self._remember(request_id)
        task = asyncio.create_task(self._look((request_id, *others)), name=f"fal-webhook-{request_id}")
        done, _ = await asyncio.wait({task}, timeout=self._timeout)
        if not done:
            # Cancelling could cut the tracker's work in half; let it finish on its own and say so if it fails.
            self._pending.add(task)
            task.add_done_callback(self._finish_late)
            log.warning("fal webhook for %s: the job lookup is still running after %.1fs", request_id, self._timeout)
            return WebhookOutcome(200, request_id, "accepted")
        try:
            known = task.result()
        except Exception:
            self._forget(request_id)  # fal retries a 500; let that retry in
            log.exception("fal webhook for %s: the job lookup failed", request_id)
            return WebhookOutcome(500, request_id, "internal error")
        if not known:
            self._forget(request_id)
            log.warning("fal webhook for %s matches no job", request_id)
            return WebhookOutcome(200, request_id, "unknown request")
        log.info("fal webhook for %s accepted", request_id)
        return WebhookOutcome(200, request_id, "accepted")

    async def _look(self, ids: tuple[str, ...]) -> bool:
        for request_id in ids:
            if await self._on_completion(request_id):
                return True
        return False

    def _forget(self, request_id: str) -> None:
        self._accepted.pop(request_id, None)
        self._verifier.forget(request_id)

    def _remember(self, request_id: str) -> None:
        self._accepted[request_id] = None
        while len(self._accepted) > self._limit:
            self._accepted.popitem(last=False)

    def _finish_late(self, task: asyncio.Task[bool]) -> None:
        self._pending.discard(task)
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            log.error("fal webhook: a late job lookup failed", exc_info=exc)
