"""The operator commands as `python -m bot` parses and runs them: health, backup, and their exit codes."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.__main__ import build_parser, main
from bot.db.connection import open_database
from bot.db.migrate import newest
from bot.ops import healthcheck
from bot.settings import ServerSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path, root_logging) -> None:
    """No secrets needed for these commands; main() rewires logging, which root_logging puts back afterwards."""
    for name in (
        "DISCORD_TOKEN",
        "FAL_KEY",
        "TWEEN_CONFIG",
        "TWEEN_HTTP_HOST",
        "TWEEN_HTTP_PORT",
        "TWEEN_PUBLIC_URL",
        "TWEEN_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWEEN_DB_PATH", str(tmp_path / "live.sqlite3"))


def test_parser_knows_every_command():
    parser = build_parser()
    assert parser.parse_args(["check", "--offline"]).offline is True
    args = parser.parse_args(["backup", "/tmp/x.sqlite3", "--force"])
    assert (str(args.path), args.force) == ("/tmp/x.sqlite3", True)
    assert parser.parse_args(["health"]).command == "health"
    assert parser.parse_args([]).command is None


# -- health --------------------------------------------------------------------------------------------------------


class HealthServer:
    """A stand-in for the bot's HTTP server: /health answers with `status` and a small JSON body."""

    def __init__(self) -> None:
        self.status = 200
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = {"status": "ok" if self.status == 200 else "degraded", "discord": self.status == 200}
        return web.json_response(body, status=self.status)


@pytest.fixture
async def health_server() -> AsyncIterator[HealthServer]:
    server = HealthServer()
    app = web.Application()
    app.router.add_get("/health", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server.port = runner.addresses[0][1]
    yield server
    await runner.cleanup()


def server_on(port: int, host: str = "127.0.0.1") -> ServerSettings:
    return ServerSettings(host=host, port=port, metrics=True)


async def run_health(settings: ServerSettings, timeout: float = 3.0) -> tuple[int, str]:
    out = io.StringIO()
    code = await asyncio.to_thread(healthcheck.main, settings, out=out, timeout=timeout)
    return code, out.getvalue()


async def test_health_200_exits_0_and_prints_the_body(health_server):
    code, text = await run_health(server_on(health_server.port))
    assert code == 0 and json.loads(text) == {"status": "ok", "discord": True}


async def test_health_503_exits_1_and_still_prints_the_body(health_server):
    health_server.status = 503
    code, text = await run_health(server_on(health_server.port, host="0.0.0.0"))
    assert code == 1 and json.loads(text)["status"] == "degraded"


async def test_health_with_nothing_listening_exits_1():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, text = await run_health(server_on(port))
    assert code == 1 and text.startswith(f"health: no answer from http://127.0.0.1:{port}/health")


def test_health_with_the_server_off_says_so_and_exits_0(capsys):
    assert main(["health"]) == 0
    assert "HTTP server is off" in capsys.readouterr().out


async def test_health_command_reads_the_port_from_settings(health_server, monkeypatch, capsys):
    monkeypatch.setenv("TWEEN_HTTP_PORT", str(health_server.port))
    assert await asyncio.to_thread(main, ["health"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "ok"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8080/health"),
        ("127.0.0.1", "http://127.0.0.1:8080/health"),
        ("::", "http://[::1]:8080/health"),
        ("localhost", "http://127.0.0.1:8080/health"),
        ("10.1.2.3", "http://10.1.2.3:8080/health"),
        ("::1", "http://[::1]:8080/health"),
    ],
)
def test_health_asks_where_the_server_listens(host, url):
    assert healthcheck.health_url(server_on(8080, host)) == url


# -- backup --------------------------------------------------------------------------------------------------------


async def test_backup_command_prints_what_it_wrote_and_refuses_to_overwrite(tmp_path, capsys):
    async with open_database(tmp_path / "live.sqlite3"):
        pass
    target = tmp_path / "copies" / "b.sqlite3"
    assert await asyncio.to_thread(main, ["backup", str(target)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"backup written to {target}: ")
    assert out.endswith(f"schema v{newest()}, 0 job(s), integrity ok")
    assert await asyncio.to_thread(main, ["backup", str(target)]) == 1
    assert "already exists; pass --force" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["backup", str(target), "--force"]) == 0


def test_backup_without_a_database_fails_with_one_line(tmp_path, capsys):
    assert main(["backup", str(tmp_path / "b.sqlite3")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tween: backup failed: no database at") and "Traceback" not in err


async def test_backup_refuses_when_the_bot_runs_on_postgresql(tmp_path, monkeypatch, capsys):
    """After a move the SQLite file is still there, but copying it would be a backup of nothing current."""
    async with open_database(tmp_path / "live.sqlite3"):
        pass
    monkeypatch.setenv("TWEEN_DATABASE_URL", "postgresql://tween:s3cret-pw@db.internal/tween")
    target = tmp_path / "b.sqlite3"
    assert await asyncio.to_thread(main, ["backup", str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("tween: backup copies the SQLite file only") and "pg_dump" in captured.err
    assert "s3cret-pw" not in captured.err
    assert not target.exists()
