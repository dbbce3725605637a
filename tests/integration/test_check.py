"""`python -m bot check` against the fake Discord and the fake fal on 127.0.0.1, and real SQLite files."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from aiohttp import web

from bot.db.connection import open_database
from bot.db.migrate import apply_migrations, newest
from bot.ops import check
from bot.ops.check import Check, check_all, discord_token_id, fal_key_id
from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.fal_server import FakeFal

ROOT = Path(__file__).resolve().parents[2]
BOT_ID = 123456789012345678
SECRET_PART = "Zm9vYmFyYmF6cXV4LXNlY3JldC1wYXJ0"


def shaped_token(bot_id: int = BOT_ID, secret: str = SECRET_PART) -> str:
    """A token shaped like Discord's: base64url(id) . timestamp . HMAC."""
    first = base64.urlsafe_b64encode(str(bot_id).encode()).decode().rstrip("=")
    return f"{first}.GhIjKl.{secret}"


TOKEN = shaped_token()
FAL_KEY = "0f1e2d3c-aaaa-bbbb-cccc-123456789abc:9f8e7d6c5b4a39281706f5e4d3c2b1a0"
FAL_SECRET = FAL_KEY.partition(":")[2]


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def fal() -> AsyncIterator[FakeFal]:
    async with FakeFal(key=FAL_KEY) as fake:
        yield fake


@pytest.fixture
def env(discord_fake: FakeDiscord, fal: FakeFal, tmp_path: Path) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": TOKEN,
        "FAL_KEY": FAL_KEY,
        "DISCORD_API_BASE": discord_fake.api_base,
        "FAL_QUEUE_URL": fal.queue_url,
        "FAL_REST_URL": fal.rest_url,
        "TWEEN_DB_PATH": str(tmp_path / "data" / "tween.sqlite3"),
    }


def by_name(results: list[Check]) -> dict[str, Check]:
    return {r.name: r for r in results}


def failures(results: list[Check]) -> list[str]:
    return [r.line() for r in results if r.ok is False]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def with_config(env: dict[str, str], tmp_path: Path, toml: str) -> dict[str, str]:
    config = tmp_path / "override.toml"
    config.write_text(toml)
    return {**env, "TWEEN_CONFIG": str(config)}


# -- everything fine ---------------------------------------------------------------------------------------------


async def test_happy_path_every_check_passes(env, discord_fake, fal):
    results = await check_all(env)
    assert failures(results) == []
    checks = by_name(results)
    assert str(BOT_ID) in checks["DISCORD_TOKEN"].detail
    assert "0f1e2d3c-aaaa-bbbb-cccc-123456789abc" in checks["FAL_KEY"].detail
    assert checks["Discord"].ok and f"signed in as tween (id {discord_fake.bot_user.id})" in checks["Discord"].detail
    assert checks["fal queue"].ok and fal.queue_url in checks["fal queue"].detail
    assert checks["fal REST (storage)"].ok
    assert "does not exist yet" in checks["database"].detail
    assert checks["HTTP server"].ok is None and checks["fal webhooks"].ok is None
    text = "\n".join(r.line() for r in results)
    assert TOKEN not in text and SECRET_PART not in text and FAL_SECRET not in text
    assert [r.path for r in discord_fake.requests if "users/@me" in r.path]


async def test_the_fal_key_is_proven_with_one_harmless_authenticated_call(env, fal):
    checks = by_name(await check_all(env))
    assert checks["fal account"].ok, checks["fal account"].line()
    looks = [r for r in fal.requests if r.route == "status"]
    assert len(looks) == 1 and looks[0].status == 404  # a request id that cannot exist: the key was accepted


async def test_a_key_fal_refuses_fails_the_account_check(env, fal):
    wrong = FAL_KEY.replace("9f8e", "0000")
    checks = by_name(await check_all({**env, "FAL_KEY": wrong}))
    assert checks["fal account"].ok is False and "refused FAL_KEY (401)" in checks["fal account"].detail
    assert wrong.partition(":")[2] not in checks["fal account"].line()


async def test_a_locked_fal_account_fails_the_account_check(env, fal):
    fal.account_lock = "EXHAUSTED_BALANCE"
    checks = by_name(await check_all(env))
    assert checks["fal account"].ok is False and "EXHAUSTED_BALANCE" in checks["fal account"].detail


async def test_an_existing_database_is_checked_read_only_and_not_changed(env):
    path = Path(env["TWEEN_DB_PATH"])
    async with open_database(path):
        pass
    before = digest(path)
    checks = by_name(await check_all(env, offline=True))
    assert checks["database"].ok and "integrity ok" in checks["database"].detail
    assert checks["schema"].ok and checks["schema"].detail == f"v{newest()}, the newest"
    assert digest(path) == before


# -- secrets -----------------------------------------------------------------------------------------------------


async def test_a_wrong_token_is_refused_by_discord(env):
    wrong = shaped_token(secret="c29tZW90aGVyc2VjcmV0dGhhdGlzd3Jvbmc")
    results = await check_all({**env, "DISCORD_TOKEN": wrong})
    (line,) = failures(results)
    assert line.startswith("✗ Discord: Discord refused DISCORD_TOKEN")
    assert wrong not in line


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("just-one-part", "1 dot-separated part"),
        ("a.b", "2 dot-separated part"),
        ("a.b.c.d", "4 dot-separated part"),
        (f"Bot {TOKEN}", "starts with 'Bot '"),
        ("MTIz.GhI+jKl.abc", "base64url"),
        ("bm90LWEtbnVtYmVy.GhIjKl.abcdef", "numeric id"),  # "not-a-number"
        ("A.GhIjKl.abcdef", "numeric id"),  # one base64 character cannot decode
        ("..", "base64url"),
    ],
)
def test_malformed_discord_tokens_are_named_without_quoting_them(token, why):
    with pytest.raises(ValueError, match=why) as caught:
        discord_token_id(token)
    assert token not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("no-colon-at-all", "no ':'"),
        (":secret-only", "both parts"),
        ("id-only:", "both parts"),
        ("id:sec:ret", "one ':'"),
        (f"Key {FAL_KEY}", "starts with 'Key '"),
        ("id:secret with space", "whitespace"),
    ],
)
def test_malformed_fal_keys_are_named_without_quoting_them(key, why):
    with pytest.raises(ValueError, match=why) as caught:
        fal_key_id(key)
    assert key.partition(":")[2] not in str(caught.value) or not key.partition(":")[2]


async def test_malformed_secrets_fail_and_discord_is_not_asked(env, discord_fake):
    results = await check_all({**env, "DISCORD_TOKEN": "not-a-token", "FAL_KEY": "nocolon"}, offline=False)
    checks = by_name(results)
    assert checks["DISCORD_TOKEN"].ok is False and "malformed" in checks["DISCORD_TOKEN"].detail
    assert checks["FAL_KEY"].ok is False and "malformed" in checks["FAL_KEY"].detail
    assert checks["Discord"].ok is None
    assert not [r for r in discord_fake.requests if "users/@me" in r.path]
    assert "nocolon" not in "\n".join(r.line() for r in results)


async def test_missing_secrets_are_reported_not_raised(env):
    bare = {k: v for k, v in env.items() if k not in ("DISCORD_TOKEN", "FAL_KEY")}
    checks = by_name(await check_all(bare, offline=True))
    assert checks["DISCORD_TOKEN"].line().startswith("✗ DISCORD_TOKEN: not set →")
    assert checks["FAL_KEY"].line().startswith("✗ FAL_KEY: not set →")


# -- reachability ------------------------------------------------------------------------------------------------


async def test_unreachable_fal_fails_with_the_url(env):
    dead = f"http://127.0.0.1:{closed_port()}"
    results = await check_all({**env, "FAL_QUEUE_URL": f"{dead}/queue", "FAL_REST_URL": f"{dead}/rest"})
    checks = by_name(results)
    assert checks["fal queue"].ok is False and f"cannot reach {dead}/queue" in checks["fal queue"].detail
    assert checks["fal REST (storage)"].ok is False
    assert checks["Discord"].ok is True
    assert len(failures(results)) == 2


async def test_a_silent_host_times_out_quickly(env):
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        checks = by_name(await check_all({**env, "FAL_REST_URL": url}, patience=0.3))
    assert checks["fal REST (storage)"].ok is False
    assert "no answer within 0.3 s" in checks["fal REST (storage)"].detail


async def test_offline_skips_every_network_check(env, discord_fake, fal):
    results = await check_all({**env, "FAL_QUEUE_URL": f"http://127.0.0.1:{closed_port()}"}, offline=True)
    assert failures(results) == []
    assert results[-1].line() == "– network: not checked (--offline)"
    assert not discord_fake.requests and not fal.requests


# -- webhooks and the HTTP server ----------------------------------------------------------------------------------


@pytest.fixture
async def jwks() -> AsyncIterator[str]:
    """A JWKS host: /good lists a key, /empty lists none, /html is not JSON."""

    async def good(request: web.Request) -> web.Response:
        return web.json_response({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "abc", "kid": "k1"}]})

    async def empty(request: web.Request) -> web.Response:
        return web.json_response({"keys": []})

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>hello</html>", content_type="text/html")

    app = web.Application()
    app.add_routes([web.get("/good", good), web.get("/empty", empty), web.get("/html", html)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def webhook_toml(port: int, *urls: str) -> str:
    listed = ", ".join(f'"{u}"' for u in urls)
    return f'[server]\nport = {port}\n[webhooks]\npublic_url = "https://tween.example"\njwks_urls = [{listed}]\n'


async def test_webhooks_on_checks_each_jwks_url_and_the_port(env, tmp_path, jwks):
    port = closed_port()
    layered = with_config(env, tmp_path, webhook_toml(port, f"{jwks}/good", f"{jwks}/empty", f"{jwks}/html"))
    results = await check_all(layered)
    keys = [r for r in results if r.name == "fal webhook keys"]
    assert [k.ok for k in keys] == [True, False, False]
    assert "lists 1 key(s)" in keys[0].detail and "without a JSON list of keys" in keys[2].detail
    checks = by_name(results)
    assert checks["HTTP server"].ok and f"127.0.0.1:{port} is free" in checks["HTTP server"].detail
    assert str(tmp_path / "override.toml") in checks["configuration"].detail


async def test_a_port_in_use_fails(env, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        checks = by_name(await check_all(with_config(env, tmp_path, f"[server]\nport = {port}\n"), offline=True))
    assert checks["HTTP server"].ok is False
    assert f"cannot bind 127.0.0.1:{port}" in checks["HTTP server"].detail
    assert "a running Tween?" in checks["HTTP server"].hint


# -- configuration -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[budget]\nperiod = 'year'\n", "budget.period"),
        ("[logging]\nlevel = 'chatty'\n", "logging.level"),
        ("not toml [", "not valid TOML"),
    ],
)
async def test_a_bad_configuration_is_one_failed_line(env, tmp_path, toml, message):
    (result,) = await check_all(with_config(env, tmp_path, toml), offline=True)
    assert result.name == "configuration" and result.ok is False and message in result.detail


async def test_a_missing_config_file_is_named(env, tmp_path):
    (result,) = await check_all({**env, "TWEEN_CONFIG": str(tmp_path / "nope.toml")}, offline=True)
    assert "config file not found" in result.detail


# -- the database ------------------------------------------------------------------------------------------------


async def test_an_old_database_will_upgrade_and_is_not_migrated_by_the_check(env):
    path = Path(env["TWEEN_DB_PATH"])
    path.parent.mkdir(parents=True)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await apply_migrations(conn, target=1)
    before = digest(path)
    checks = by_name(await check_all(env, offline=True))
    assert checks["schema"].ok is True
    assert checks["schema"].detail.startswith(f"v1: will upgrade from v1 to v{newest()} on start")
    assert digest(path) == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)


async def test_a_database_from_a_newer_tween_fails(env):
    path = Path(env["TWEEN_DB_PATH"])
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {newest() + 1}")
    checks = by_name(await check_all(env, offline=True))
    assert checks["schema"].ok is False and "newer than this Tween knows" in checks["schema"].detail


async def test_a_file_that_is_not_a_database_fails(env):
    path = Path(env["TWEEN_DB_PATH"])
    path.parent.mkdir(parents=True)
    path.write_bytes(b"definitely not SQLite " * 200)
    checks = by_name(await check_all(env, offline=True))
    assert checks["database"].ok is False
    assert "damaged or not a database" in checks["database"].detail
    assert "schema" not in checks


async def test_a_database_with_scribbled_pages_fails(env):
    path = Path(env["TWEEN_DB_PATH"])
    async with open_database(path) as db, db.transaction() as conn:
        rows = [("d" * 300,) for _ in range(200)]
        await conn.executemany("INSERT INTO audit (guild_id, action, detail, at) VALUES (1, 'a', ?, 'x')", rows)
    data = bytearray(path.read_bytes())
    data[-3 * 4096 : -2 * 4096] = b"\xff" * 4096  # one page near the end, overwritten
    path.write_bytes(bytes(data))
    checks = by_name(await check_all(env, offline=True))
    assert checks["database"].ok is False and "damaged" in checks["database"].detail


async def test_a_readable_database_whose_index_disagrees_fails_integrity_check(env):
    path = Path(env["TWEEN_DB_PATH"])
    async with open_database(path) as db:
        for n in range(3):
            await db.execute(
                "INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, "
                "upload_limit, created_at, updated_at) VALUES (?, 1, 1, 'p', 5, 1, 'm', 'running', 1, 'x', 'x')",
                (n,),
            )
    conn = sqlite3.connect(path, isolation_level=None)
    try:  # the index now claims an order its entries do not have: every row is "missing" from it
        conn.execute("PRAGMA writable_schema = ON")
        sql = "CREATE INDEX jobs_guild ON jobs (guild_id DESC, created_at)"
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'jobs_guild'", (sql,))
    finally:
        conn.close()
    checks = by_name(await check_all(env, offline=True))
    assert checks["database"].ok is False
    assert "integrity_check: row 1 missing from index jobs_guild" in checks["database"].detail


async def test_a_database_path_under_a_file_fails_the_folder_check(env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    checks = by_name(await check_all({**env, "TWEEN_DB_PATH": str(blocker / "sub" / "t.sqlite3")}, offline=True))
    assert checks["database folder"].ok is False and "is not a folder" in checks["database folder"].detail


# -- the command -------------------------------------------------------------------------------------------------


def test_main_prints_one_line_per_check_and_a_summary(tmp_path, root_logging):
    env = {"DISCORD_TOKEN": TOKEN, "FAL_KEY": "no-colon-" + FAL_SECRET, "TWEEN_DB_PATH": str(tmp_path / "t.db")}
    out = io.StringIO()
    assert check.main(env, offline=True, out=out) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("✓ configuration: ") and lines[-1] == "1 of 5 checks failed"
    assert any(line.startswith("✗ FAL_KEY: malformed") for line in lines)
    assert FAL_SECRET not in out.getvalue() and TOKEN not in out.getvalue()


def test_check_offline_as_a_subprocess_passes_and_prints_no_secret(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "FAL_", "TWEEN_"))},
        "DISCORD_TOKEN": TOKEN,
        "FAL_KEY": FAL_KEY,
        "TWEEN_DB_PATH": str(tmp_path / "data" / "tween.sqlite3"),
        "TWEEN_LOG_FORMAT": "json",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--offline"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "all 5 checks passed"
    assert "✓ DISCORD_TOKEN: well-formed, for application/bot id 123456789012345678" in result.stdout
    for secret in (TOKEN, SECRET_PART, FAL_KEY, FAL_SECRET):
        assert secret not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists()  # the check created nothing


# -- PostgreSQL ----------------------------------------------------------------------------------------------------


async def test_a_postgresql_store_is_checked_without_its_password_or_a_change(env, tween_postgres_url):
    url = tween_postgres_url.replace("postgresql://tween@", "postgresql://tween:hunter2-secret@")
    checks = by_name(await check_all({**env, "TWEEN_DATABASE_URL": url}, offline=True))
    assert checks["database"].ok and "answers (PostgreSQL" in checks["database"].detail
    assert "hunter2-secret" not in checks["database"].detail and "tween:***@" in checks["database"].detail
    assert checks["schema"].detail == f"v{newest()}, the newest"


async def test_an_empty_postgresql_database_will_be_created_on_start(env, postgres_url):
    checks = by_name(await check_all({**env, "TWEEN_DATABASE_URL": postgres_url}, offline=True))
    assert checks["database"].ok and f"empty: created at v{newest()} on start" in checks["database"].detail
    assert "schema" not in checks


async def test_an_unreachable_postgresql_server_fails_the_check_with_what_to_do(env):
    url = f"postgresql://tween:pw-secret-1@127.0.0.1:{closed_port()}/tween"
    check = by_name(await check_all({**env, "TWEEN_DATABASE_URL": url}, offline=True))["database"]
    assert check.ok is False and "cannot be reached" in check.detail and "TWEEN_DATABASE_URL" in check.line()
    assert "pw-secret-1" not in check.line()
