"""Discord wiring: the bot class, where the services meet discord.py."""

from __future__ import annotations

import logging

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.services import Services
from bot.settings import DiscordSettings
from cogs import EXTENSIONS

log = logging.getLogger(__name__)


def point_discord_at(settings: DiscordSettings) -> None:
    """Honour DISCORD_API_BASE / DISCORD_GATEWAY_URL (proxies, and the fake Discord in tests)."""
    discord.http.Route.BASE = settings.api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


class Throttled(app_commands.CheckFailure):
    """A member ran commands faster than the abuse limit allows."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry in {retry_after:.0f}s")
        self.retry_after = retry_after


class TweenTree(app_commands.CommandTree["TweenBot"]):
    async def interaction_check(self, interaction: discord.Interaction[TweenBot]) -> bool:
        retry = self.client.services.throttle.check(interaction.guild_id or 0, interaction.user.id)
        if retry is not None:
            raise Throttled(retry)
        return True


class TweenBot(commands.Bot):
    def __init__(self, services: Services, *, track: bool = True) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            tree_cls=TweenTree,
        )
        self.services = services
        self._track = track

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self._track:
            await self.services.tracker.start()

    async def close(self) -> None:
        if self._track:
            await self.services.tracker.stop()
        await super().close()

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guild(s)", self.user, len(self.guilds))
