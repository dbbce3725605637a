"""The operator's first run: `python -m bot` against hosts it cannot reach says so in one line and exits 1; once
connected, the log says how to invite the bot and whether Discord has its commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import discord
import pytest
import yarl

from bot.__main__ import main, sync
from bot.ops.reach import Unreachable, first_unreachable
from bot.settings import Settings
from tests.e2e.conftest import ROOT, World, bot_process, run_bot
from tests.e2e.test_tween_e2e import ephemeral_text, run_tween
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

PERMISSIONS = 326417632256  # the eight permissions of docs/OPERATIONS.md, as the README's invite link asks


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_and_wait_for_exit(env: dict[str, str], timeout: float = 30.0) -> tuple[int, str]:
    """`python -m bot` as an operator starts it; its exit status and everything it wrote to stderr."""
    full_env = {**{k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "FAL_KEY")}, **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        async with asyncio.timeout(timeout):
            _, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, err.decode()


# -- hosts out of reach --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "service", "url"),
    [
        ("DISCORD_API_BASE", "Discord", "http://127.0.0.1:{port}/api/v10"),
        ("DISCORD_GATEWAY_URL", "Discord's gateway", "ws://127.0.0.1:{port}/"),
        ("FAL_QUEUE_URL", "fal.ai", "http://127.0.0.1:{port}"),
        ("FAL_REST_URL", "fal.ai", "http://127.0.0.1:{port}"),
    ],
)
async def test_a_host_refusing_connections_is_one_line_and_exit_1(world: World, variable, service, url):
    port = closed_port()
    code, err = await start_and_wait_for_exit(world.env() | {variable: url.format(port=port)})
    assert code == 1
    assert err == f"tween: cannot reach {service} at 127.0.0.1:{port} (connection refused)\n"
    assert not world.discord.gateway.identified  # nothing was started


@pytest.mark.parametrize(
    ("variable", "url", "line"),
    [
        ("DISCORD_API_BASE", "https://discord.tween-test.invalid/api/v10", "Discord at discord.tween-test.invalid"),
        ("FAL_QUEUE_URL", "https://queue.tween-test.invalid", "fal.ai at queue.tween-test.invalid"),
    ],
)
async def test_a_host_whose_name_does_not_resolve_is_one_line_and_exit_1(
    world: World, monkeypatch, capsys, root_logging, variable, url, line
):
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        # .invalid never resolves (RFC 6761); answering here keeps the question off the network.
        if (host.decode() if isinstance(host, bytes) else str(host)).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for name, value in (world.env() | {variable: url}).items():
        monkeypatch.setenv(name, value)
    with restored_discord_globals():
        assert await asyncio.to_thread(main, []) == 1
    assert capsys.readouterr().err == f"tween: cannot reach {line} (name not resolved)\n"


async def test_a_silent_host_is_given_up_on_within_the_probes_patience(world: World):
    with socket.socket() as silent:  # the kernel accepts the connection; nothing ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        settings = Settings.load(world.env() | {"FAL_REST_URL": f"http://127.0.0.1:{port}"})
        async with asyncio.timeout(5):
            unreachable = await first_unreachable(settings, patience=0.3)
    assert unreachable == Unreachable("fal.ai", f"127.0.0.1:{port}", "no answer within 0.3 s")
    assert await first_unreachable(Settings.load(world.env()), patience=5) is None


async def test_discord_failing_before_login_is_one_line_and_exit_1(world: World):
    world.discord.fail_next("GET", r"/gateway$", status=503)
    code, err = await start_and_wait_for_exit(world.env())
    assert code == 1
    assert err == f"tween: cannot reach Discord at {host(world)} (it answered HTTP 503)\n"


async def test_discord_failing_at_login_is_one_line_and_exit_1_without_voice_warnings(world: World):
    world.discord.fail_next("GET", r"/users/@me$", status=503)
    code, err = await start_and_wait_for_exit(world.env())
    assert code == 1
    assert "database ready" in err  # the log ran; the rest of it is quiet
    assert "Traceback" not in err and "voice will NOT be supported" not in err
    assert [line for line in err.splitlines() if line.startswith("tween:")] == [
        f"tween: cannot reach Discord at {host(world)} (it answered HTTP 503)"
    ]
    assert err.endswith("(it answered HTTP 503)\n")


async def test_a_wrong_token_still_says_so_and_exits_1(world: World):
    code, err = await start_and_wait_for_exit(world.env() | {"DISCORD_TOKEN": "not-the-token"})
    assert code == 1
    assert err.splitlines()[-1].startswith("tween: Discord refused DISCORD_TOKEN")
    assert "Traceback" not in err


def host(world: World) -> str:
    return yarl.URL(world.discord.base_url).raw_authority


@contextlib.contextmanager
def restored_discord_globals() -> Iterator[None]:
    """`main` and `sync` point discord.py at the fake; later tests expect it where it was."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        yield
    finally:
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


# -- once connected ------------------------------------------------------------------------------------------------


def logged(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.app" and text in r.getMessage()]


async def test_a_first_run_gives_the_invite_link_and_says_to_sync(world: World, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    async with run_bot(world):
        (warning,) = await wait_until(lambda: logged(caplog, "no global slash commands"), what="the sync warning")
    assert warning.levelno == logging.WARNING
    assert "`python -m bot sync`" in warning.getMessage()
    assert "`docker compose run --rm tween sync`" in warning.getMessage()
    (invite,) = logged(caplog, "invite link")
    assert invite.levelno == logging.INFO
    assert invite.getMessage().endswith(
        "https://discord.com/oauth2/authorize"
        f"?client_id={world.discord.bot_user.id}&scope=bot+applications.commands&permissions={PERMISSIONS}"
    )


async def test_after_a_sync_the_log_counts_the_commands_discord_has(world: World, caplog):
    with restored_discord_globals():
        await sync(Settings.load(world.env()), None)
    synced = sorted(f"/{c['name']}" for c in world.discord.registered[None])
    # The operator's sync sends the translations as well: the translator is installed before it.
    help_command = next(c for c in world.discord.registered[None] if c["name"] == "help")
    assert help_command["name_localizations"] == {"de": "hilfe", "pt-BR": "ajuda"}
    caplog.set_level(logging.INFO, logger="bot")
    async with run_bot(world):
        (counted,) = await wait_until(lambda: logged(caplog, "global slash command(s)"), what="the command count")
    assert counted.levelno == logging.INFO
    assert counted.getMessage() == (
        f"Discord has {len(synced)} global slash command(s) for this application: {', '.join(synced)}"
    )
    assert "/tween" in synced and not logged(caplog, "no global slash commands")


async def test_commands_discord_will_not_list_are_one_warning_and_the_bot_carries_on(world: World, caplog):
    world.discord.fail_next("GET", r"/applications/\d+/commands$", status=403, code=50001, message="Missing Access")
    caplog.set_level(logging.INFO, logger="bot")
    async with run_bot(world) as bot:
        (warning,) = await wait_until(lambda: logged(caplog, "could not ask Discord"), what="the warning")
        quota = await world.discord.slash("quota", user=world.discord.guild.member)
        await quota.wait_acked()
        assert not bot.is_closed()
    assert warning.levelno == logging.WARNING and "Missing Access" in warning.getMessage()
    assert [r for r in caplog.records if r.name == "bot.app" and r.levelno >= logging.WARNING] == [warning]


# -- interaction tokens ----------------------------------------------------------------------------------------------


async def test_interaction_tokens_never_reach_the_log_even_at_debug(world: World, tmp_path):
    log = tmp_path / "bot.log"
    with bot_process(world.env() | {"TWEEN_LOG_LEVEL": "DEBUG"}, log):
        await world.discord.wait_ready(timeout=30)
        command = await run_tween(world)
        thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None), timeout=20)
        video = await world.discord.wait_for(
            lambda: next((m for m in world.discord.messages(thread.id) if m.attachments), None), timeout=30
        )
        details = await world.discord.click(video.id, "tween:details:1", user=world.discord.guild.member)
        await world.discord.wait_for(lambda: details.original is not None and details.original.embeds)
        await world.discord.wait_for(lambda: "on its way" in ephemeral_text(command))
    text = log.read_text()
    tokens = [ix.token for ix in world.discord.interactions.values()]
    assert len(tokens) == 2
    # discord.py did log the callback and followup URLs; each carries [redacted] where the token was.
    assert f"/interactions/{details.id}/[redacted]/callback" in text
    assert f"/webhooks/{world.discord.bot_user.id}/[redacted]" in text
    for token in tokens:
        assert token not in text
