"""A small typed client for fal's queue: submit, status, result, cancel, download, and storage uploads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from bot.errors import FalAccountProblem, FalApiError, FalUnavailable, SubmitFateUnknown, SubmitMaybeQueued
from bot.fal.account import AccountWatch
from bot.fal.models import (
    MalformedResponse,
    Queued,
    QueueStatus,
    Submitted,
    api_error,
    json_or_text,
    parse_status,
    parse_submitted,
    parse_video,
    request_base,
)
from bot.fal.pools import ClientPools
from bot.fal.retry import RetryPolicy, parse_retry_after, should_retry_status
from bot.fal.storage import FalStorage
from bot.fal.stream import status_stream
from bot.models import VideoResult
from bot.ratelimit import RateLimiter
from bot.settings import FalSettings

log = logging.getLogger(__name__)

USER_AGENT = "tween-bot/0.1 (+discord)"
CHUNK = 256 * 1024
MAX_REDIRECTS = 5
READ_CONNECTIONS = 64
STREAMS_PER_CLIENT = 32


class FalObserver(Protocol):
    """Watches fal calls (the Prometheus metrics): hooks for answers, and a call for transport failures."""

    def httpx_event_hooks(self) -> dict[str, list[Callable[..., Awaitable[None]]]]: ...

    def fal_transport_error(self, kind: str | None, exc: BaseException) -> None: ...


class FalClient:
    """One instance per process; owns its httpx clients. Reads are rate-limited and retried; submits never are
    once the request may have left."""

    def __init__(
        self,
        settings: FalSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: FalObserver | None = None,
    ) -> None:
        self._settings = settings
        self._observer = observer
        hooks = observer.httpx_event_hooks() if observer else None
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        tls = httpx.create_ssl_context()  # one for every client: each would load the CA bundle again

        def client(limits: httpx.Limits, **extra: Any) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                timeout=timeout, transport=transport, verify=tls, event_hooks=hooks, limits=limits, **extra
            )

        agent = {"User-Agent": USER_AGENT}
        # As many idle connections kept as may be open: with hundreds of jobs, closing them after each burst of
        # looks would pay a new TCP (and TLS) handshake per status read.
        self._reads_http = ClientPools(lambda limits: client(limits, headers=agent), READ_CONNECTIONS)
        # A fresh connection per submit: a failure on a reused keep-alive socket would make the fate unknown.
        self._submit_http = client(httpx.Limits(max_keepalive_connections=0), headers=agent)
        # Status streams hold a connection each for a job's whole life: apart from the reads' pools, so they never
        # starve them.
        stream_headers = {**agent, "Accept": "text/event-stream"}
        self._stream_http = ClientPools(
            lambda limits: client(_no_keepalive(limits), headers=stream_headers),
            max(settings.max_streams, 1),
            STREAMS_PER_CLIENT,
        )
        self.policy = RetryPolicy(settings.max_attempts, settings.backoff_base, settings.backoff_cap)
        self._reads = RateLimiter(settings.max_reads_per_second)
        self.storage = FalStorage(self, settings)
        self.account = AccountWatch(settings.account_pause_after, settings.account_probe_interval)

    def _transport_failed(self, kind: str | None, exc: BaseException) -> None:
        if self._observer is not None:
            self._observer.fal_transport_error(kind, exc)

    async def __aenter__(self) -> FalClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._reads_http.aclose()
        await self._submit_http.aclose()
        await self._stream_http.aclose()

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._settings.key}"}

    def stream_client(self) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        """A client to open one status stream on (bot/fal/stream.py), held for the stream's life."""
        return self._stream_http.client()

    def stream(self, status_url: str) -> AsyncIterator[QueueStatus]:
        """The job's statuses as fal sends them, to COMPLETED; StreamBroken or FalApiError when that fails."""
        s = self._settings
        return status_stream(self, status_url, stall=s.stream_stall_timeout, connect=s.connect_timeout)

    async def read_turn(self) -> None:
        """Wait for a turn under the read cap: a status stream's opening is one read."""
        await self._reads.acquire()

    async def submit(
        self,
        endpoint: str,
        arguments: dict[str, Any],
        *,
        webhook_url: str | None = None,
        start_timeout: float | None = None,
    ) -> Submitted:
        """POST a job. Retried only when fal certainly did not take it (no connection, or 429). With
        `start_timeout`, fal itself will not start the job later than that many seconds after it was taken."""
        url = f"{self._settings.queue_url}/{endpoint}"
        if webhook_url:
            url = f"{url}?{urlencode({'fal_webhook': webhook_url})}"
        headers = dict(self.auth_headers)
        # Generated media lives on fal's CDN as long as this asks: the "Full quality" button links there.
        retention = {"expiration_duration_seconds": self._settings.output_retention_seconds}
        headers["X-Fal-Object-Lifecycle-Preference"] = json.dumps(retention)
        if start_timeout is not None:
            headers["X-Fal-Request-Timeout"] = f"{start_timeout:g}"
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                response = await self._submit_http.post(url, json=arguments, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                self._transport_failed("submit", exc)
                if attempt == self.policy.max_attempts:
                    raise FalUnavailable(f"cannot connect to fal: {exc!r}") from exc
                await asyncio.sleep(self.policy.delay(attempt))
                continue
            except httpx.RequestError as exc:  # sent, then the answer broke (a reset, a body that won't decode)
                self._transport_failed("submit", exc)
                raise SubmitFateUnknown(f"submit sent but no answer: {exc!r}") from exc
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if response.status_code == 429 and attempt < self.policy.max_attempts:
                await asyncio.sleep(self.policy.delay(attempt, retry_after))
                continue
            # Only an answer from behind fal's ingress carries the request id: the job may have been queued.
            request_id = response.headers.get("x-fal-request-id")
            if response.is_success:
                self.account.accepted(billable=True)
                try:
                    return parse_submitted(_json(response), queue_url=self._settings.queue_url, endpoint=endpoint)
                except MalformedResponse as exc:
                    lost = SubmitMaybeQueued(request_id, str(exc)) if request_id else SubmitFateUnknown(str(exc))
                    raise lost from exc
            if response.status_code >= 500 and request_id:
                raise SubmitMaybeQueued(request_id, f"submit answered {response.status_code}")
            raise self._refused(
                api_error(response.status_code, json_or_text(response), dict(response.headers), retry_after)
            )
        raise FalUnavailable("fal kept refusing the submit")  # pragma: no cover - loop always returns or raises

    def _refused(self, error: FalApiError) -> FalApiError:
        if isinstance(error, FalAccountProblem):
            self.account.refused(error)
        return error

    async def look_up(self, endpoint: str, request_id: str) -> Submitted | None:
        """A request fal may have queued behind a failed answer: its URLs when fal knows it, None when not (404)."""
        base = request_base(self._settings.queue_url, endpoint, request_id)
        found = Submitted(request_id, f"{base}/status", base, f"{base}/cancel", None)
        try:
            status = await self.status(found.status_url)
        except FalApiError as exc:
            if exc.status == 404:
                return None
            raise
        return replace(found, queue_position=status.position) if isinstance(status, Queued) else found

    async def status(self, status_url: str, *, logs: bool = False) -> QueueStatus:
        """The job's queue status; 202 and 200 are both answers."""
        response = await self.read("GET", status_url, params={"logs": "1" if logs else "0"})
        return _parse(parse_status, response)

    async def result(self, response_url: str) -> VideoResult:
        """The finished job's video; fal's 422 becomes FalApiError with the field list."""
        response = await self.read("GET", response_url)
        return _parse(parse_video, response)

    async def cancel(self, cancel_url: str) -> str:
        """Ask fal to cancel; returns fal's word: CANCELLATION_REQUESTED, ALREADY_COMPLETED or NOT_FOUND."""
        try:
            response = await self.read("PUT", cancel_url)
        except FalApiError as exc:
            if exc.status in (400, 404):
                return exc.detail
            raise
        body = json_or_text(response)
        return str(body.get("status", "CANCELLATION_REQUESTED")) if isinstance(body, dict) else "CANCELLATION_REQUESTED"

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int | None:
        """Stream a public file to `dest`; None (and no file) if it is larger than `max_bytes`."""
        try:
            for _ in range(MAX_REDIRECTS + 1):
                async with (
                    self._reads_http.client() as http,
                    http.stream("GET", url, timeout=self._settings.upload_timeout) as response,
                ):
                    if response.is_redirect:
                        url = redirect_target(url, response)
                        continue
                    if not response.is_success:
                        raise FalApiError(response.status_code, f"video download answered {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared is not None and int(declared) > max_bytes:
                        return None
                    return await _stream_to(response, dest, max_bytes)
        except httpx.RequestError as exc:
            self._transport_failed("download", exc)
            dest.unlink(missing_ok=True)
            raise FalUnavailable(f"video download failed: {exc!r}") from exc
        raise FalApiError(310, f"more than {MAX_REDIRECTS} redirects for {url}")

    async def fetch(self, url: str, *, max_bytes: int) -> bytes:
        """A small public file (a stored frame) into memory; FalApiError when missing or too large."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self.read("GET", url, limited=False, auth=False)
            if not response.is_redirect:
                if len(response.content) > max_bytes:
                    raise FalApiError(413, f"file at {url} is larger than {max_bytes} bytes")
                return response.content
            url = redirect_target(url, response)
        raise FalApiError(310, f"more than {MAX_REDIRECTS} redirects for {url}")

    async def probe_account(self) -> None:
        """One harmless call that a bad key or a locked account is refused (a storage token): ends a pause when it
        goes through, raises FalAccountProblem when it does not."""
        await self.storage.renew_token()

    async def read(
        self,
        method: str,
        url: str,
        *,
        limited: bool = True,
        auth: bool = True,
        billable: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send an idempotent request, retrying transport errors and 408/429/5xx with backoff and Retry-After.
        `billable`: a call fal refuses a locked account (uploads), so its success proves the account works."""
        headers = {**(self.auth_headers if auth else {}), **kwargs.pop("headers", {})}
        last: Exception | None = None
        for attempt in range(1, self.policy.max_attempts + 1):
            if limited:
                await self._reads.acquire()
            try:
                async with self._reads_http.client() as http:
                    response = await http.request(method, url, headers=headers, **kwargs)
            except httpx.RequestError as exc:
                self._transport_failed(None, exc)
                last, retry_after = exc, None
            else:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if response.is_success or response.is_redirect:
                    if auth:
                        self.account.accepted(billable=billable)
                    return response
                error = api_error(response.status_code, json_or_text(response), dict(response.headers), retry_after)
                if not should_retry_status(response.status_code):
                    raise self._refused(error)
                last = error
            if attempt < self.policy.max_attempts:
                delay = self.policy.delay(attempt, retry_after)
                log.debug("fal %s %s failed (%r); retry %d in %.2fs", method, url, last, attempt, delay)
                await asyncio.sleep(delay)
        if isinstance(last, FalApiError):
            raise last
        raise FalUnavailable(f"fal unreachable after {self.policy.max_attempts} attempts: {last!r}") from last


def _no_keepalive(limits: httpx.Limits) -> httpx.Limits:
    return httpx.Limits(max_connections=limits.max_connections, max_keepalive_connections=0)


def redirect_target(url: str, response: httpx.Response) -> str:
    """Where a CDN's redirect points. Never from https down to plain http: a file is only fetched as safely as it
    was asked for."""
    location = response.headers.get("location")
    if not location:
        raise FalApiError(response.status_code, f"redirect from {url} without a Location")
    target = httpx.URL(url).join(location)
    if target.scheme != "https" and not (target.scheme == "http" and httpx.URL(url).scheme == "http"):
        raise FalApiError(response.status_code, f"refused redirect from {url} to {target}")
    return str(target)


async def _stream_to(response: httpx.Response, dest: Path, max_bytes: int) -> int | None:
    written = 0
    with dest.open("wb") as fh:
        async for chunk in response.aiter_bytes(CHUNK):
            written += len(chunk)
            if written > max_bytes:
                break
            fh.write(chunk)
    if written > max_bytes:
        dest.unlink(missing_ok=True)
        return None
    return written


def _parse(parser: Any, response: httpx.Response) -> Any:
    try:
        return parser(_json(response))
    except MalformedResponse as exc:
        raise FalApiError(response.status_code, str(exc), error_type="malformed_response") from exc


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedResponse(f"not JSON: {response.text[:200]!r}") from exc
