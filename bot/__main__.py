"""Entry point: `python -m bot [run]` runs the bot; the other commands help an operator around it.

python -m bot sync [--guild ID]     register the slash commands with Discord
python -m bot check [--offline]     is this machine ready to run Tween? (exit 1 if any check fails)
python -m bot backup PATH [--force] a consistent copy of the live SQLite database, checked
python -m bot health                ask the running bot's HTTP server (Docker HEALTHCHECK)
python -m bot migrate-db --to URL   copy the SQLite database into an empty PostgreSQL one, and verify it
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import aiohttp
import discord

from bot.app import TweenBot, point_discord_at
from bot.db.backup import BackupError, backup_database
from bot.db.connection import Database, is_postgres_url, open_database
from bot.db.leases import ShardLease, held_shards
from bot.db.pg_identify import PostgresIdentifyGate
from bot.errors import ConfigError, LeaseLost, ShardsHeld
from bot.fal import FalClient
from bot.log import setup_logging
from bot.ops import check, healthcheck, move
from bot.ops.metrics import DiscordRateLimitCounter, Metrics
from bot.ops.reach import Unreachable, first_unreachable, host_of, why
from bot.ops.wiring import operations, peer_notices
from bot.services import build_services
from bot.settings import DiscordSettings, Settings
from cogs import EXTENSIONS

log = logging.getLogger("bot")


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, *, track: bool = True) -> AsyncIterator[TweenBot]:
    """Open every resource the bot owns, in order, and close them in reverse."""
    wanted = track and settings.server.enabled and settings.server.metrics
    metrics = Metrics(owned=settings.discord.shards) if wanted else None
    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(open_database(settings.storage.target))
        # Before the tracker and Discord: a second process for the same shards stops here (ShardsHeld).
        lease = await stack.enter_async_context(shard_lease(db, settings)) if track else None
        fal = await stack.enter_async_context(FalClient(settings.fal_here, observer=metrics))
        point_discord_at(settings.discord)
        services = build_services(db, fal, settings)
        shards, gate = settings.discord.shards, None
        if is_postgres_url(settings.storage.target):
            # Processes sharing a database share Discord's IDENTIFY limit too: they take turns through it.
            gate = PostgresIdentifyGate(settings.storage.target)
            stack.push_async_callback(gate.close)
        bot = await stack.enter_async_context(
            TweenBot(services, extensions=EXTENSIONS, track=track, shards=shards, identify_gate=gate)
        )
        if lease is not None:
            lease.on_lost = _closer(bot)
        if metrics is not None:
            stack.callback(DiscordRateLimitCounter(metrics).attach().detach)
        if track:
            tracker = bot.services.tracker
            await stack.enter_async_context(peer_notices(settings, db, tracker))
            leased = lease.state if lease is not None else None
            ops = operations(settings, db, tracker, bot.gateway_state, metrics, fal.account.state, leased)
            await stack.enter_async_context(ops)
        yield bot


async def run(settings: Settings) -> Unreachable | None:
    """Run the bot until it is stopped. Returns what could not be reached at start (then nothing was started)."""
    if (unreachable := await first_unreachable(settings)) is not None:
        return unreachable
    async with running_bot(settings) as bot:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _stopper(bot, sig))
        if (unreachable := await log_in(bot, settings.discord)) is not None:
            return unreachable
        await connect(bot)
    log.info("stopped; unfinished jobs resume on the next start")
    return None


async def connect(bot: TweenBot) -> None:
    """Run the gateway until stopped; Discord refusing the shard settings is a configuration error, not a crash."""
    try:
        await bot.connect()
    except discord.ConnectionClosed as exc:
        if (problem := bot.shard_refusal(exc)) is None:
            raise
        raise ConfigError(problem) from None


async def log_in(bot: TweenBot, discord_settings: DiscordSettings) -> Unreachable | None:
    """discord.py's login, with Discord out of reach or failing (5xx) as an answer rather than a traceback."""
    try:
        await bot.login(discord_settings.token)
    except (aiohttp.ClientError, OSError, TimeoutError, discord.DiscordServerError) as exc:
        if bot.application is not None:
            raise  # Discord answered the login; this came from setup_hook, past Discord
        cause = f"it answered HTTP {exc.status}" if isinstance(exc, discord.DiscordServerError) else why(exc)
        return Unreachable("Discord", host_of(discord_settings.api_base), cause)
    return None


def shard_lease(db: Database, settings: Settings) -> contextlib.AbstractAsyncContextManager[ShardLease]:
    return held_shards(db, settings.discord.shards, ttl=settings.storage.lease_seconds)


def _closer(bot: TweenBot) -> Callable[[], None]:
    """Shuts the bot down once, as a signal would: for a process whose shards another process took over."""
    closing: list[asyncio.Task[None]] = []

    def close() -> None:
        if not closing:
            closing.append(asyncio.get_running_loop().create_task(bot.close()))

    return close


def _stopper(bot: TweenBot, sig: signal.Signals) -> Callable[[], None]:
    closing: list[asyncio.Task[None]] = []

    def stop() -> None:
        log.info("%s received: shutting down (jobs in flight are saved and resume on the next start)", sig.name)
        if not closing:
            closing.append(asyncio.get_running_loop().create_task(bot.close()))

    return stop


async def sync(settings: Settings, guild_id: int | None) -> Unreachable | None:
    async with running_bot(settings, track=False) as bot:
        if (unreachable := await log_in(bot, settings.discord)) is not None:
            return unreachable
        guild = discord.Object(guild_id) if guild_id else None
        if guild is not None:
            bot.tree.copy_global_to(guild=guild)
        commands = await bot.tree.sync(guild=guild)
        where = f"guild {guild_id}" if guild_id else "every guild (global; Discord may take up to an hour)"
        print(f"synced {len(commands)} command(s) to {where}: {', '.join(c.name for c in commands)}")
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Tween, the keyframe-to-video Discord bot.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    sync_parser = sub.add_parser("sync", help="register the slash commands with Discord")
    sync_parser.add_argument("--guild", type=int, help="sync to one guild only (instant; for testing)")
    check_parser = sub.add_parser("check", help="check configuration, secrets, database and network; change nothing")
    check_parser.add_argument("--offline", action="store_true", help="skip the checks that need the network")
    backup_parser = sub.add_parser("backup", help="copy the live database (safe while the bot runs)")
    backup_parser.add_argument("path", type=Path, help="where to write the copy")
    backup_parser.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    sub.add_parser("health", help="ask the running bot's /health (exit 0 when healthy)")
    move_parser = sub.add_parser("migrate-db", help="copy the SQLite database into PostgreSQL and verify the copy")
    move_parser.add_argument("--to", required=True, help="postgresql://user:password@host/db (empty database)")
    return parser


POSTGRES_BACKUP = (
    "backup copies the SQLite file only, and TWEEN_DATABASE_URL points this Tween at PostgreSQL: back that up with "
    "pg_dump (docs/OPERATIONS.md, Scaling out)"
)

# Commands that talk to Discord and fal need the secrets; the rest work without them.
_NEEDS_SECRETS = frozenset({None, "run", "sync"})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return check.main(os.environ, offline=args.offline)
    try:
        settings = Settings.load(os.environ, require_secrets=args.command in _NEEDS_SECRETS)
        setup_logging(settings.logging, secrets=(settings.discord.token, settings.fal.key, *settings.storage.secrets))
    except ConfigError as exc:
        print(f"tween: {exc}", file=sys.stderr)
        return 2
    if args.command == "health":
        return healthcheck.main(settings.server)
    if args.command == "backup":
        return backup(settings, args.path, force=args.force)
    if args.command == "migrate-db":
        return move.main(settings.storage.db_path, args.to)
    unreachable: Unreachable | None = None
    try:
        unreachable = asyncio.run(sync(settings, args.guild) if args.command == "sync" else run(settings))
    except discord.LoginFailure:
        print("tween: Discord refused DISCORD_TOKEN; check the bot token in the developer portal.", file=sys.stderr)
        return 1
    except (ShardsHeld, LeaseLost) as exc:  # another process serves these shards; a later start may take them
        print(f"tween: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"tween: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    if unreachable is not None:
        print(f"tween: {unreachable.line()}", file=sys.stderr)
        return 1
    return 0


def backup(settings: Settings, path: Path, *, force: bool) -> int:
    if settings.storage.database_url:
        # The SQLite file still exists after a move; copying it would look like a backup and hold nothing current.
        print(f"tween: {POSTGRES_BACKUP}", file=sys.stderr)
        return 2
    try:
        report = backup_database(settings.storage.db_path, path, force=force)
    except (BackupError, OSError) as exc:
        print(f"tween: backup failed: {exc}", file=sys.stderr)
        return 1
    print(report.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
