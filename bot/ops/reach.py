"""Can this machine reach Discord and fal? Shared by `python -m bot check` and the start-up probe of `python -m bot`,
which names the first host it cannot reach in one line instead of a library's traceback.

Nothing here spends anything: every call is an unauthenticated GET that any HTTP answer settles.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from bot.settings import Settings

TIMEOUT = 5.0
USER_AGENT = "DiscordBot (https://github.com/tween-bot/tween, 0.1) tween-check"


@dataclass(frozen=True)
class Unreachable:
    """A service this machine cannot talk to, and why."""

    service: str  # "Discord", "Discord's gateway", "fal.ai"
    host: str
    cause: str

    def line(self) -> str:
        return f"cannot reach {self.service} at {self.host} ({self.cause})"


async def get(
    client: httpx.AsyncClient, url: str, patience: float, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    # httpx's timeout is per phase; this bounds the whole request, so a trickling server cannot stall the caller.
    async with asyncio.timeout(patience):
        return await client.get(url, headers=headers)


def why(exc: BaseException, patience: float = TIMEOUT) -> str:
    """The cause of a failed connection in a few words, from httpx's, aiohttp's or the socket's exception.

    The libraries wrap the socket's error (httpx twice, under "All connection attempts failed"), so the chain is
    searched for the error that names the cause."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError | httpx.TimeoutException):
            return f"no answer within {patience:g} s"
        if isinstance(seen, socket.gaierror):
            return "name not resolved"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {seen.verify_message}"
        if isinstance(seen, ssl.SSLError):
            return f"TLS failed: {seen.reason or seen}"
        if isinstance(seen, OSError) and seen.errno and seen.errno in errno.errorcode:
            return os.strerror(seen.errno).lower()
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


def host_of(url: str) -> str:
    """host[:port] of a URL, as an operator would recognise it; the scheme's own port is left out."""
    try:
        parsed = httpx.URL(_as_http(url))
    except httpx.InvalidURL:
        return url
    if not parsed.host:
        return url
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{host}:{parsed.port}" if parsed.port is not None else host


async def first_unreachable(settings: Settings, patience: float = TIMEOUT) -> Unreachable | None:
    """Ask Discord's REST API and gateway and fal's queue and REST hosts at once; the first that cannot be reached,
    in that order, or None. Discord's REST API must also answer without a server error: login would fail there."""
    targets = [
        ("Discord", f"{settings.discord.api_base.rstrip('/')}/gateway", True),
        ("Discord's gateway", _as_http(settings.discord.gateway_url), False),
        ("fal.ai", settings.fal.queue_url, False),
        ("fal.ai", settings.fal.rest_url, False),
    ]
    async with httpx.AsyncClient(timeout=patience, headers={"User-Agent": USER_AGENT}) as client:
        causes = await asyncio.gather(*(_cause(client, url, patience, strict) for _, url, strict in targets))
    for (service, url, _), cause in zip(targets, causes, strict=True):
        if cause is not None:
            return Unreachable(service, host_of(url), cause)
    return None


async def _cause(client: httpx.AsyncClient, url: str, patience: float, strict: bool) -> str | None:
    try:
        response = await get(client, url, patience)
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        return why(exc, patience)
    if strict and response.is_server_error:
        return f"it answered HTTP {response.status_code}"
    return None


def _as_http(url: str) -> str:
    """The gateway is a websocket URL; the HTTP request that opens the websocket goes to the same host."""
    for ws, http in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(ws):
            return http + url.removeprefix(ws)
    return url
