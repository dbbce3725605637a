"""Discord wiring: the bot class, where the services meet discord.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Sequence

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.identify import IdentifyGate, IdentifyPacer, LocalIdentifyGate
from bot.ops.health import GatewayState, ShardState
from bot.services import Services
from bot.settings import DiscordSettings
from bot.sharding import ShardPlan, gateway_refusal

log = logging.getLogger(__name__)

# How long a shutdown waits for commands that are reserving, uploading or submitting.
SHUTDOWN_GRACE = 20.0

# What Tween asks for in the invite, and nothing more: docs/OPERATIONS.md ("What Tween needs from Discord") says
# why each is needed, and a test holds the two together.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    create_public_threads=True,
    send_messages_in_threads=True,
    manage_threads=True,
)
INVITE_SCOPES = ("bot", "applications.commands")
SYNC_HINT = "`python -m bot sync` (Docker: `docker compose run --rm tween sync`)"


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES)


def point_discord_at(settings: DiscordSettings) -> None:
    """Honour DISCORD_API_BASE / DISCORD_GATEWAY_URL (proxies, and the fake Discord in tests)."""
    discord.http.Route.BASE = settings.api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


class Throttled(app_commands.CheckFailure):
    """A member ran commands faster than the abuse limit allows."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry in {retry_after:.0f}s")
        self.retry_after = retry_after


class ShuttingDown(app_commands.CheckFailure):
    """The bot is stopping: new commands wait for the next start."""


class TweenTree(app_commands.CommandTree["TweenBot"]):
    async def interaction_check(self, interaction: discord.Interaction[TweenBot]) -> bool:
        if (refusal := self.client.refusal(interaction)) is not None:
            raise refusal
        return True


class TweenBot(commands.AutoShardedBot):
    def __init__(
        self,
        services: Services,
        *,
        extensions: Sequence[str],
        track: bool = True,
        shards: ShardPlan | None = None,
        identify_gate: IdentifyGate | None = None,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        plan = shards or ShardPlan()
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            tree_cls=TweenTree,
            shard_count=plan.count,
            shard_ids=list(plan.ids) if plan.ids is not None else None,
        )
        self.plan = plan
        self.pacer = IdentifyPacer(identify_gate or LocalIdentifyGate())
        self.recommended_shards: int | None = None
        self.services = services
        self._extensions = tuple(extensions)
        self._track = track
        self.closing = False
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._greeting: asyncio.Task[None] | None = None

    def refusal(self, interaction: discord.Interaction[TweenBot]) -> ShuttingDown | Throttled | None:
        """Why this command or button press is turned away before it runs (None: it may run). Slash commands and
        buttons both ask here; cogs/errors.py words the answer."""
        if interaction.type is discord.InteractionType.autocomplete:
            return None  # suggestions while typing spend nothing, and Discord shows no error text for them
        if self.closing:
            return ShuttingDown()
        retry = self.services.throttle.check(interaction.guild_id or 0, interaction.user.id)
        return None if retry is None else Throttled(retry)

    @contextlib.asynccontextmanager
    async def working(self) -> AsyncIterator[None]:
        """Marks a command that spends money as in progress, so a shutdown waits for it to finish."""
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def setup_hook(self) -> None:
        for extension in self._extensions:
            await self.load_extension(extension)
        if self._track:
            await self.services.tracker.start()
            # In the background: a slow answer about commands must not hold up the gateway connection.
            self._greeting = asyncio.create_task(self._greet(), name="greeting")

    async def _greet(self) -> None:
        """Tell the operator how to invite the bot and whether members can see its commands: a first run that was
        never synced shows members nothing, and the bot never registers commands itself."""
        application_id = self.application_id
        if application_id is None:
            return
        log.info("invite link, with the permissions Tween needs: %s", invite_url(application_id))
        try:
            commands = await self.tree.fetch_commands()
        except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("could not ask Discord which slash commands this application has (%s); carrying on", exc)
            return
        if not commands:
            log.warning(
                "Discord has no global slash commands for this application, so members see no /tween "
                "(unless they were synced to one server with --guild): run %s",
                SYNC_HINT,
            )
            return
        names = ", ".join(sorted(f"/{c.name}" for c in commands))
        log.info("Discord has %d global slash command(s) for this application: %s", len(commands), names)

    async def close(self) -> None:
        self.closing = True
        if self._greeting is not None and not self._greeting.done():
            self._greeting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._greeting
        if self._busy:
            log.info("waiting for %d command(s) in progress", self._busy)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SHUTDOWN_GRACE):
                    await self._idle.wait()
        if self._track:
            await self.services.tracker.stop()
        await super().close()

    async def launch_shards(self) -> None:
        """Ask /gateway/bot once, before any shard connects: the recommended count (when the config leaves it to
        Discord) and max_concurrency, which discord.py reads but never uses (bot/identify.py)."""
        if self.is_closed():
            return
        recommended, _, limits = await self.http.get_bot_gateway()
        self.recommended_shards = recommended
        self.pacer.learn(limits["max_concurrency"])
        self.plan = self.plan.resolved(recommended)
        # A count set here makes discord.py skip its own /gateway/bot call and connect to DEFAULT_GATEWAY, the URL
        # point_discord_at configured.
        self.shard_count = self.plan.count
        log.info(
            "this process runs %s (Discord recommends %d; %d IDENTIFY bucket(s))",
            self.plan.describe(),
            recommended,
            self.pacer.max_concurrency,
        )
        if self.plan.count is not None and self.plan.count < recommended:
            log.warning(
                "TWEEN_SHARD_COUNT=%d is below the %d shards Discord recommends; Discord refuses a shard of 2,500 "
                "servers or more (4011)",
                self.plan.count,
                recommended,
            )
        await super().launch_shards()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # Replaces discord.py's fixed 5 s sleep before every re-IDENTIFY with Discord's per-bucket rule.
        bucket = await self.pacer.wait(shard_id)
        log.debug("shard %s may IDENTIFY now (bucket %d)", shard_id, bucket)

    def shard_refusal(self, exc: discord.ConnectionClosed) -> str | None:
        """The operator's answer when Discord closed a shard for the shard settings (None: any other close)."""
        return gateway_refusal(exc.code, exc.shard_id, self.shard_count, self.recommended_shards)

    def gateway_state(self) -> GatewayState:
        """For /health: is_ready() stays true through reconnects, so ask each shard's websocket itself."""
        running = {sid: info for sid, info in self.shards.items() if not info.is_closed() and not self.is_closed()}
        # Every shard of the plan, launched or not: one still waiting for its turn to IDENTIFY is not up.
        states = tuple(
            ShardState(sid, sid in running, running[sid].latency if sid in running else None)
            for sid in (self.plan.ids or ())
        )
        latencies = [s.latency for s in states if s.latency is not None and math.isfinite(s.latency)]
        connected = bool(states) and all(s.connected for s in states)
        return GatewayState(connected, sum(latencies) / len(latencies) if latencies else None, states)

    async def on_shard_ready(self, shard_id: int) -> None:
        guilds = sum(1 for guild in self.guilds if guild.shard_id == shard_id)
        log.info("shard %d of %s ready with %d guild(s)", shard_id, self.shard_count, guilds)

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guild(s) on %s", self.user, len(self.guilds), self.plan.describe())
