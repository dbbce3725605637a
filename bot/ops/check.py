"""`python -m bot check`: is this machine ready to run Tween? One line per check, and never a secret.

Nothing here changes anything: the database is opened read-only and not migrated, the HTTP port is bound and
released at once, and the network checks only read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import os
import re
import socket
import sys
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from bot.db.backup import UnreadableDatabase, inspect_database
from bot.db.migrate import newest
from bot.db.pg_check import postgres_facts
from bot.errors import ConfigError
from bot.log import parse_level, setup_logging
from bot.ops.reach import TIMEOUT, USER_AGENT, get, why
from bot.settings import DEFAULT_CONFIG, DiscordSettings, ServerSettings, Settings

PASS, FAIL, SKIP = "✓", "✗", "–"
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: skipped
    detail: str
    hint: str = ""

    def line(self) -> str:
        mark = SKIP if self.ok is None else PASS if self.ok else FAIL
        text = f"{mark} {self.name}: {self.detail}"
        return f"{text} → {self.hint}" if self.hint and self.ok is False else text


def passed(name: str, detail: str) -> Check:
    return Check(name, True, detail)


def failed(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, False, detail, hint)


def skipped(name: str, detail: str) -> Check:
    return Check(name, None, detail)


# -- the command ------------------------------------------------------------------------------------------------


def main(env: Mapping[str, str], *, offline: bool = False, out: TextIO | None = None) -> int:
    """Run every check, print one line each and a summary; 0 when none failed."""
    out = out or sys.stdout
    secrets = _secrets_in(env)
    with contextlib.suppress(ConfigError):
        # Only so that a library's warning is scrubbed and formatted like the bot's own; a bad value is a ✗ below.
        setup_logging(Settings.load(env, require_secrets=False).logging, secrets)
    results = asyncio.run(check_all(env, offline=offline))
    for result in results:
        print(_scrub(result.line(), secrets), file=out)
    failures = sum(1 for r in results if r.ok is False)
    counted = sum(1 for r in results if r.ok is not None)
    print(f"{failures} of {counted} checks failed" if failures else f"all {counted} checks passed", file=out)
    return 1 if failures else 0


async def check_all(env: Mapping[str, str], *, offline: bool = False, patience: float = TIMEOUT) -> list[Check]:
    """Every check in the order they are printed."""
    try:
        settings = Settings.load(env, require_secrets=False)
        parse_level(settings.logging.level)
    except ConfigError as exc:
        return [failed("configuration", str(exc), "fix the value named above (or unset TWEEN_CONFIG)")]
    results = [
        check_configuration(settings, env.get("TWEEN_CONFIG", "")),
        check_discord_token(settings.discord.token),
        check_fal_key(settings.fal.key),
        *(await check_store(settings, patience)),
        check_port(settings.server),
    ]
    if offline:
        return [*results, skipped("network", "not checked (--offline)")]
    return results + await check_network(settings, patience)


# -- configuration and secrets ----------------------------------------------------------------------------------


def check_configuration(settings: Settings, layered: str) -> Check:
    files = f"{DEFAULT_CONFIG}, with {Path(layered).resolve()} (TWEEN_CONFIG) layered over it"
    if not layered:
        files = f"{DEFAULT_CONFIG} only (TWEEN_CONFIG is not set)"
    return passed("configuration", f"{files}; logs {settings.logging.format} at {settings.logging.level.upper()}")


def check_discord_token(token: str) -> Check:
    name = "DISCORD_TOKEN"
    if not token:
        return failed(name, "not set", "export DISCORD_TOKEN (Developer Portal → your application → Bot → token)")
    try:
        bot_id = discord_token_id(token)
    except ValueError as exc:
        return failed(name, f"malformed: {exc}", "copy the bot token again (Developer Portal → Bot → Reset Token)")
    return passed(name, f"well-formed, for application/bot id {bot_id}")


def discord_token_id(token: str) -> int:
    """The bot's id from the first part of its token; ValueError (never quoting the token) if it is malformed."""
    if token.lower().startswith("bot "):
        raise ValueError("it starts with 'Bot '; set the token alone")
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"{len(parts)} dot-separated part(s) where a bot token has 3")
    if not all(_BASE64URL.match(part) for part in parts):
        raise ValueError("characters outside base64url (A-Z a-z 0-9 - _) in a part")
    first = parts[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if not decoded.isdigit():
        raise ValueError("its first part does not decode to a numeric id")
    return int(decoded)


def check_fal_key(key: str) -> Check:
    name = "FAL_KEY"
    if not key:
        return failed(name, "not set", "export FAL_KEY (fal.ai dashboard → Keys)")
    try:
        key_id = fal_key_id(key)
    except ValueError as exc:
        return failed(name, f"malformed: {exc}", "copy the whole key from fal.ai (dashboard → Keys), id and secret")
    return passed(name, f"well-formed, key id {key_id} (secret not shown)")


def fal_key_id(key: str) -> str:
    """The key id of `<key id>:<secret>`; ValueError (never quoting the key) if it is malformed."""
    if key.lower().startswith("key "):
        raise ValueError("it starts with 'Key '; set <key id>:<secret> alone")
    if any(c.isspace() for c in key):
        raise ValueError("it contains whitespace")
    key_id, colon, secret = key.partition(":")
    if not colon:
        raise ValueError("no ':' where a fal key is <key id>:<secret>")
    if not key_id or not secret or ":" in secret:
        raise ValueError("it is not <key id>:<secret> with both parts present and one ':'")
    return key_id


# -- database ---------------------------------------------------------------------------------------------------


async def check_store(settings: Settings, patience: float) -> list[Check]:
    """The SQLite file, or the PostgreSQL server TWEEN_DATABASE_URL names."""
    url = settings.storage.database_url
    if not url:
        return check_database(Path(settings.storage.db_path))
    reachable, detail, version = await postgres_facts(url, patience)
    if not reachable:
        return [failed("database", detail, "check TWEEN_DATABASE_URL, the server, and that this host may connect")]
    return [passed("database", detail), *([check_schema(version)] if version is not None else [])]


def check_database(path: Path) -> list[Check]:
    """The folder, then (when the file exists) a read-only open with integrity_check, then the schema version."""
    folder = check_folder(path)
    if not path.exists():
        return [folder, passed("database", f"{path} does not exist yet; created at schema v{newest()} on start")]
    if not path.is_file():
        return [folder, failed("database", f"{path} is not a file", "point TWEEN_DB_PATH at the database file")]
    try:
        problems, version = inspect_database(path)
    except UnreadableDatabase as exc:
        return [folder, _unreadable(path, str(exc))]
    if problems != ["ok"]:
        return [folder, _unreadable(path, "integrity_check: " + "; ".join(problems[:3]))]
    size = path.stat().st_size
    return [folder, passed("database", f"{path} opens, integrity ok ({size:,} bytes)"), check_schema(version)]


def check_folder(path: Path) -> Check:
    name = "database folder"
    existing = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("/"))
    if not existing.is_dir():
        return failed(name, f"{existing} is not a folder", "point TWEEN_DB_PATH at a file in a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        return failed(name, f"{existing} is not writable by this user", "fix its owner or mode (SQLite adds files)")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return failed(name, f"{path} is not readable and writable by this user", "fix the file's owner or mode")
    if existing != path.parent:
        return passed(name, f"{path.parent} will be created (in writable {existing})")
    return passed(name, f"{path.parent} is writable")


def check_schema(version: int) -> Check:
    known = newest()
    if version == known:
        return passed("schema", f"v{version}, the newest")
    if version < known:
        return passed("schema", f"v{version}: will upgrade from v{version} to v{known} on start (back up first)")
    return failed(
        "schema",
        f"v{version} is newer than this Tween knows (v{known}); it would refuse to start",
        "run the newer release, or restore a backup made before the upgrade",
    )


def _unreadable(path: Path, why: str) -> Check:
    hint = "stop the bot and put a copy made by `python -m bot backup` in its place"
    return failed("database", f"{path} is damaged or not a database ({why})", hint)


# -- HTTP server port -------------------------------------------------------------------------------------------


def check_port(server: ServerSettings) -> Check:
    name = "HTTP server"
    if not server.enabled:
        return skipped(name, "off (server.port is 0); no port to check")
    try:
        family, _, _, _, address = socket.getaddrinfo(server.host or None, server.port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            # As the server itself will bind: a port left in TIME_WAIT by a previous run is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        return failed(
            name,
            f"cannot bind {server.host}:{server.port} ({exc.strerror or exc})",
            "another process (a running Tween?) holds it; stop it or change server.port / TWEEN_HTTP_PORT",
        )
    return passed(name, f"{server.host}:{server.port} is free to bind")


# -- network ----------------------------------------------------------------------------------------------------


async def check_network(settings: Settings, patience: float = TIMEOUT) -> list[Check]:
    """Discord, fal's queue and REST hosts and, with webhooks on, its JWKS; all at once, each `patience` s at most."""
    async with httpx.AsyncClient(timeout=patience, headers={"User-Agent": USER_AGENT}) as client:
        checks: list[Awaitable[Check]] = [
            check_discord(client, settings.discord, patience),
            check_reachable(client, "fal queue", settings.fal.queue_url, patience),
            check_reachable(client, "fal REST (storage)", settings.fal.rest_url, patience),
            check_fal_account(client, settings, patience),
        ]
        if settings.webhooks.enabled:
            checks += [check_jwks(client, url, patience) for url in settings.webhooks.jwks_urls]
        results = list(await asyncio.gather(*checks))
    if not settings.webhooks.enabled:
        results.append(skipped("fal webhooks", "off (no webhooks.public_url); JWKS not checked"))
    return results


async def check_discord(client: httpx.AsyncClient, discord: DiscordSettings, patience: float) -> Check:
    name = "Discord"
    try:
        discord_token_id(discord.token)
    except ValueError:
        return skipped(name, "not asked (DISCORD_TOKEN is missing or malformed)")
    url = f"{discord.api_base}/users/@me"
    try:
        response = await get(client, url, patience, {"Authorization": f"Bot {discord.token}"})
    except (httpx.HTTPError, TimeoutError) as exc:
        return failed(name, f"cannot reach {discord.api_base} ({why(exc, patience)})", "check DNS, firewall, proxy")
    if response.status_code == 401:
        return failed(name, "Discord refused DISCORD_TOKEN (401)", "reset it (Developer Portal → Bot) and update it")
    if response.status_code != 200:
        return failed(name, f"GET /users/@me answered HTTP {response.status_code}", "see https://discordstatus.com")
    me = _json_object(response)
    return passed(name, f"token accepted; signed in as {me.get('username', '?')} (id {me.get('id', '?')})")


async def check_reachable(client: httpx.AsyncClient, name: str, url: str, patience: float) -> Check:
    """Any HTTP answer at all (even 404 or 401) shows the host is reachable."""
    try:
        response = await get(client, url, patience)
    except (httpx.HTTPError, TimeoutError) as exc:
        return failed(name, f"cannot reach {url} ({why(exc, patience)})", "check DNS, firewall, proxy")
    return passed(name, f"{url} reachable (HTTP {response.status_code})")


# A request id fal can never have handed out: asking for its status shows whether fal takes the key (404) or not (401).
NO_SUCH_REQUEST = "00000000-0000-4000-8000-000000000000"


async def check_fal_account(client: httpx.AsyncClient, settings: Settings, patience: float) -> Check:
    """Two harmless authenticated calls: the status of a request that cannot exist (401: a bad key), then a storage
    token (403: an account fal has locked, e.g. for an exhausted balance)."""
    name = "fal account"
    try:
        fal_key_id(settings.fal.key)
    except ValueError:
        return skipped(name, "not asked (FAL_KEY is missing or malformed)")
    owner_app = "/".join(settings.model.default.endpoint.split("/")[:2])
    auth = {"Authorization": f"Key {settings.fal.key}"}
    status_url = f"{settings.fal.queue_url}/{owner_app}/requests/{NO_SUCH_REQUEST}/status"
    try:
        looked = await get(client, status_url, patience, auth)
        if looked.status_code == 401:
            return failed(name, "fal refused FAL_KEY (401)", "create a new key (fal.ai dashboard → Keys)")
        token = await client.post(
            f"{settings.fal.rest_url}/storage/auth/token", params={"storage_type": "fal-cdn-v3"}, json={}, headers=auth
        )
    except (httpx.HTTPError, TimeoutError) as exc:
        return skipped(name, f"not known: fal could not be asked ({why(exc, patience)}); see the lines above")
    if token.status_code in (401, 403):
        detail = _json_object(token).get("detail", f"HTTP {token.status_code}")
        return failed(
            name, f"fal refuses the account ({detail})", "see the fal.ai dashboard: billing and account status"
        )
    if looked.status_code != 404 or not token.is_success:
        return failed(name, f"unexpected answers (status {looked.status_code}, token {token.status_code})", "retry")
    return passed(name, "fal accepts FAL_KEY and the account may make videos")


async def check_jwks(client: httpx.AsyncClient, url: str, patience: float) -> Check:
    name = "fal webhook keys"
    hint = "webhooks cannot be verified without these keys; check the network or webhooks.jwks_urls"
    try:
        response = await get(client, url, patience)
    except (httpx.HTTPError, TimeoutError) as exc:
        return failed(name, f"cannot reach {url} ({why(exc, patience)})", hint)
    keys = _json_object(response).get("keys") if response.status_code == 200 else None
    if not isinstance(keys, list) or not keys:
        return failed(name, f"{url} answered HTTP {response.status_code} without a JSON list of keys", hint)
    return passed(name, f"{url} lists {len(keys)} key(s)")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# -- secrets ----------------------------------------------------------------------------------------------------


def _secrets_in(env: Mapping[str, str]) -> list[str]:
    found = [env.get("DISCORD_TOKEN", "").strip(), env.get("FAL_KEY", "").strip()]
    found.append(found[1].partition(":")[2])
    with contextlib.suppress(ValueError):
        found.append(urlsplit(env.get("TWEEN_DATABASE_URL", "")).password or "")
    return [s for s in found if s]


def _scrub(text: str, secrets: Iterable[str]) -> str:
    """Belt and braces: no check prints a secret, and this makes sure of it."""
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, "[redacted]")
    return text
