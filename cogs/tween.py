"""/tween: parse the interaction, hand it to the job service, answer privately."""

# No `from __future__ import annotations`: discord.py reads the command's annotations, and the prompt's length
# limit and the duration's range are local values that a string annotation could not see. (The interaction's own
# annotation is never read by discord.py, so it may name TweenBot, which exists only for type checkers.)
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import ImageRejected, InputRejected
from bot.pricing import format_seconds_price
from bot.services import RawFrame
from bot.tiers import Tier
from cogs.common import answer, requester_from, submitted

if TYPE_CHECKING:
    from bot.app import TweenBot

log = logging.getLogger(__name__)


def duration_choices(tier: Tier, typed: str = "", *, dollars: bool = True) -> list[app_commands.Choice[int]]:
    """The durations a tier takes, each priced at that tier (in seconds only where the server shows its members no
    dollars); those that start with what the member typed, or all."""
    choices = [
        app_commands.Choice(name=format_seconds_price(s, tier.price_per_second, dollars=dollars), value=s)
        for s in tier.durations
    ]
    matching = [c for c in choices if str(c.value).startswith(typed.strip())]
    return (matching or choices)[:25]


class TweenCog(commands.Cog):
    def __init__(self, bot: "TweenBot") -> None:
        self.bot = bot
        self.services = bot.services
        self.settings = bot.services.settings
        self.command = self._build_command()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.command)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.command.name)

    def _build_command(self) -> "app_commands.Command[Any, ..., None]":
        max_prompt = self.settings.limits.max_prompt_chars
        default = self.settings.model.default_duration
        # Discord enforces this range itself; a guild's own tier narrows it in the suggestions and in validation.
        shortest = min(t.min_duration for t in self.settings.tiers.values())
        longest = max(t.max_duration for t in self.settings.tiers.values())
        cog = self

        @app_commands.command(name="tween", description="Make a video that moves from a start frame to an end frame.")
        @app_commands.describe(
            start="The first frame: PNG, JPEG or WebP, 300 to 4096 px a side, up to 10 MB; optional in a Tween thread",
            prompt="What happens between the frames (@Image1 = start, @Image2 = end); in a Tween thread: optional",
            end="The last frame (optional, same rules as the start frame)",
            duration=f"Length of the video; {default} s if you pick none",
        )
        @app_commands.autocomplete(duration=self.durations)
        @app_commands.guild_only()
        async def tween(
            interaction: "discord.Interaction[TweenBot]",
            start: discord.Attachment | None = None,
            prompt: app_commands.Range[str, 1, max_prompt] | None = None,
            end: discord.Attachment | None = None,
            duration: app_commands.Range[int, shortest, longest] | None = None,
        ) -> None:
            await cog.tween(interaction, start, prompt, end, duration)

        return tween

    async def durations(
        self, interaction: "discord.Interaction[TweenBot]", typed: str
    ) -> list[app_commands.Choice[int]]:
        """Suggestions for the duration while the member types: their server's tier's range and prices."""
        guild_id = interaction.guild_id or 0
        tier = await self.services.budget.price_for(guild_id)
        return duration_choices(tier, str(typed), dollars=await self.services.budget.dollars_shown(guild_id))

    async def tween(
        self,
        interaction: "discord.Interaction[TweenBot]",
        start: discord.Attachment | None,
        prompt: str | None,
        end: discord.Attachment | None,
        duration: int | None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if interaction.guild_id is None or interaction.channel_id is None:
            raise InputRejected("guild_only")
        async with self.bot.working():
            job = await self.services.sessions.tween(
                requester_from(interaction),
                prompt=prompt,
                duration=duration,
                start=self._frame(start, "start") if start else None,
                end=self._frame(end, "end") if end else None,
                upload_limit=interaction.filesize_limit or self.settings.limits.default_upload_limit,
            )
            await answer(interaction, await submitted(interaction, job))

    def _frame(self, attachment: discord.Attachment, frame: str) -> RawFrame:
        """An attachment, downloaded only when the job service reads it; an oversized one is refused at once."""
        limit = self.settings.limits.max_image_bytes
        if attachment.size > limit:
            raise ImageRejected(frame, "too_large", size=attachment.size, limit=limit)

        async def read() -> bytes:
            try:
                return await attachment.read()
            except discord.HTTPException as exc:
                log.warning("could not download attachment %s: %r", attachment.id, exc)
                raise InputRejected("unreadable_attachment") from exc

        return RawFrame(filename=attachment.filename, size=attachment.size, read=read)


async def setup(bot: "TweenBot") -> None:
    await bot.add_cog(TweenCog(bot))
