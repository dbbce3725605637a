"""The words for a host that cannot be reached, from the exceptions httpx and aiohttp really raise."""

from __future__ import annotations

import socket
import ssl

import aiohttp
import httpx
import pytest

from bot.ops.reach import Unreachable, host_of, why

UNRESOLVABLE = "tween-test.invalid"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_dns(monkeypatch) -> None:
    """Names under .invalid do not resolve, and no query leaves this machine to find that out."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


async def httpx_error(url: str) -> BaseException:
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.HTTPError) as caught:
            await client.get(url)
    return caught.value


async def aiohttp_error(url: str) -> BaseException:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError) as caught:
            await session.get(url)
    return caught.value


@pytest.mark.parametrize("fetch", [httpx_error, aiohttp_error], ids=["httpx", "aiohttp"])
async def test_a_closed_port_is_connection_refused(fetch):
    assert why(await fetch(f"http://127.0.0.1:{closed_port()}/")) == "connection refused"


@pytest.mark.parametrize("fetch", [httpx_error, aiohttp_error], ids=["httpx", "aiohttp"])
async def test_a_name_that_does_not_resolve_says_so(fetch, no_dns):
    assert why(await fetch(f"https://{UNRESOLVABLE}/")) == "name not resolved"


def test_timeouts_tls_and_other_socket_errors_are_named():
    assert why(httpx.ConnectTimeout("timed out"), 2.5) == "no answer within 2.5 s"
    assert why(TimeoutError()) == "no answer within 5 s"
    try:
        raise httpx.ConnectError("All connection attempts failed") from OSError(101, "Network is unreachable")
    except httpx.ConnectError as exc:
        assert why(exc) == "network is unreachable"
    untrusted = ssl.SSLCertVerificationError(1, "certificate verify failed")
    untrusted.verify_message = "self-signed certificate"
    assert why(untrusted) == "TLS certificate not trusted: self-signed certificate"
    assert why(RuntimeError("something else")) == "something else"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://discord.com/api/v10", "discord.com"),
        ("wss://gateway.discord.gg/", "gateway.discord.gg"),
        ("http://127.0.0.1:8123/api/v10", "127.0.0.1:8123"),
        ("ws://127.0.0.1:8124/", "127.0.0.1:8124"),
        ("https://queue.fal.run", "queue.fal.run"),
        ("https://[::1]:8443/x", "[::1]:8443"),
        ("not a url", "not a url"),
    ],
)
def test_the_host_is_named_as_the_operator_wrote_it(url, host):
    assert host_of(url) == host


def test_the_line_names_the_service_the_host_and_the_cause():
    line = Unreachable("fal.ai", "queue.fal.run", "name not resolved").line()
    assert line == "cannot reach fal.ai at queue.fal.run (name not resolved)"
