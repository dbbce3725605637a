"""`python -m bot health`: ask the running bot's HTTP server how it is (the Docker HEALTHCHECK).

Standard library only (urllib), so it needs nothing the image might lack and does not wait on an event loop. With
the server off there is nothing to ask: it says so and succeeds; set server.port (TWEEN_HTTP_PORT) to get a real
health check.
"""

from __future__ import annotations

import http.client
import sys
import urllib.error
import urllib.request
from typing import TextIO

from bot.settings import ServerSettings

TIMEOUT = 3.0
_ANY_ADDRESS = {"", "0.0.0.0", "::", "*", "localhost"}


def main(server: ServerSettings, *, out: TextIO | None = None, timeout: float = TIMEOUT) -> int:
    """0 when /health answers 200, 1 otherwise (also when nothing answers); the body is printed either way."""
    out = out or sys.stdout
    if not server.enabled:
        print(
            "health: the HTTP server is off (server.port = 0), so there is nothing to ask; reporting healthy", file=out
        )
        return 0
    url = health_url(server)
    try:
        status, body = probe(url, timeout)
    except (OSError, http.client.HTTPException) as exc:
        print(f"health: no answer from {url}: {_reason(exc)}", file=out)
        return 1
    print(body, file=out)
    return 0 if status == 200 else 1


def health_url(server: ServerSettings) -> str:
    """Loopback when the server listens on every address; its own address when it is bound to one."""
    host = server.host.strip()
    if host in _ANY_ADDRESS:
        # asyncio binds "::" IPv6-only, so the IPv4 loopback would find nothing there.
        host = "::1" if host == "::" else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.port}/health"


def probe(url: str, timeout: float) -> tuple[int, str]:
    """The status and body of GET `url`; OSError (HTTPException for a garbled answer) when none comes in time."""
    # No proxy: an HTTP_PROXY meant for the outside world must not intercept a request to this container.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode("utf-8", "replace").strip()


def _reason(exc: Exception) -> str:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return str(reason) or type(reason).__name__
