"""Entry point: `python -m bot` runs the bot; `python -m bot sync [--guild ID]` registers slash commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence

import discord

from bot.app import TweenBot, point_discord_at
from bot.db.connection import open_database
from bot.errors import ConfigError
from bot.fal import FalClient
from bot.log import setup_logging
from bot.services import build_services
from bot.settings import Settings

log = logging.getLogger("bot")


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, *, track: bool = True) -> AsyncIterator[TweenBot]:
    """Open every resource the bot owns, in order, and close them in reverse."""
    async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
        point_discord_at(settings.discord)
        async with TweenBot(build_services(db, fal, settings), track=track) as bot:
            yield bot


async def run(settings: Settings) -> None:
    async with running_bot(settings) as bot:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _stopper(bot, sig))
        await bot.start(settings.discord.token)
    log.info("stopped; unfinished jobs resume on the next start")


def _stopper(bot: TweenBot, sig: signal.Signals) -> Callable[[], None]:
    closing: list[asyncio.Task[None]] = []

    def stop() -> None:
        log.info("%s received: shutting down (jobs in flight are saved and resume on the next start)", sig.name)
        if not closing:
            closing.append(asyncio.get_running_loop().create_task(bot.close()))

    return stop


async def sync(settings: Settings, guild_id: int | None) -> None:
    async with running_bot(settings, track=False) as bot:
        await bot.login(settings.discord.token)
        guild = discord.Object(guild_id) if guild_id else None
        if guild is not None:
            bot.tree.copy_global_to(guild=guild)
        commands = await bot.tree.sync(guild=guild)
        where = f"guild {guild_id}" if guild_id else "every guild (global; Discord may take up to an hour)"
        print(f"synced {len(commands)} command(s) to {where}: {', '.join(c.name for c in commands)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Tween, the keyframe-to-video Discord bot.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    sync_parser = sub.add_parser("sync", help="register the slash commands with Discord")
    sync_parser.add_argument("--guild", type=int, help="sync to one guild only (instant; for testing)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(os.environ)
    except ConfigError as exc:
        print(f"tween: {exc}", file=sys.stderr)
        return 2
    setup_logging(secrets=(settings.discord.token, settings.fal.key))
    try:
        if args.command == "sync":
            asyncio.run(sync(settings, args.guild))
        else:
            asyncio.run(run(settings))
    except discord.LoginFailure:
        print("tween: Discord refused DISCORD_TOKEN; check the bot token in the developer portal.", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"tween: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
