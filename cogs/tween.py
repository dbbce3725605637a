"""/tween and /tween-again: parse the interaction, hand it to the sessions service, answer privately."""

# No `from __future__ import annotations`: discord.py reads the command's annotations, and the prompt's length
# limit and the duration's range are local values that a string annotation could not see. (The interaction's own
# annotation is never read by discord.py, so it may name TweenBot, which exists only for type checkers.)
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot import i18n
from bot.errors import ImageRejected, InputRejected
from bot.i18n import tr
from bot.pricing import format_usd, price_micros
from bot.services import RawFrame
from bot.settings import Settings
from bot.tiers import Tier
from cogs.common import answer, private_locale, requester_from, submitted

if TYPE_CHECKING:
    from bot.app import TweenBot

log = logging.getLogger(__name__)


def duration_choices(
    tier: Tier, typed: str = "", *, dollars: bool = True, locale: str | None = None
) -> list[app_commands.Choice[int]]:
    """The durations a tier takes, each priced at that tier (in seconds only where the server shows its members no
    dollars) and named in the typing member's language; those that start with what the member typed, or all."""
    choices = [
        app_commands.Choice(name=duration_name(tier, s, dollars=dollars, locale=locale), value=s)
        for s in tier.durations
    ]
    matching = [c for c in choices if str(c.value).startswith(typed.strip())]
    return (matching or choices)[:25]


def duration_name(tier: Tier, seconds: int, *, dollars: bool, locale: str | None) -> str:
    """`5 s · $0.56` (or `5 s`) in English, the unit spelled out where a translation does so."""
    if not dollars:
        return tr(locale, "message.answers.duration.seconds", "{seconds} s", seconds=seconds)
    price = format_usd(price_micros(seconds, tier.price_per_second))
    return tr(locale, "message.answers.duration.priced", "{seconds} s · {price}", seconds=seconds, price=price)


def option_terms(settings: Settings) -> dict[str, str]:
    """The frame rules and the default length as members read them, from the settings that apply them."""
    limits = settings.limits
    return {
        "side": str(limits.min_image_side),
        "mb": f"{limits.max_image_bytes / 1e6:g}",
        "default": str(settings.model.default_duration),
    }


def described(message: str, **values: str) -> locale_str:
    """An English text with {placeholders} filled in; the values go along so a translation can fill in its own."""
    used = {k: v for k, v in values.items() if k in i18n.placeholders(message)}
    return locale_str(message.format(**used), **used)


class TweenCog(commands.Cog):
    def __init__(self, bot: "TweenBot") -> None:
        self.bot = bot
        self.services = bot.services
        self.settings = bot.services.settings
        self.slash_commands = (self._build_tween(), self._build_again())

    async def cog_load(self) -> None:
        for command in self.slash_commands:
            self.bot.tree.add_command(command)

    async def cog_unload(self) -> None:
        for command in self.slash_commands:
            self.bot.tree.remove_command(command.name)

    def _build_tween(self) -> "app_commands.Command[Any, ..., None]":
        """/tween as a channel needs it: Discord shows the start frame and the prompt as required, first."""
        max_prompt = self.settings.limits.max_prompt_chars
        shortest, longest = self._duration_range()
        terms = option_terms(self.settings)
        cog = self

        @app_commands.command(name="tween", description="Make a video that moves from a start frame to an end frame")
        @app_commands.describe(
            start=described("The first frame: PNG, JPEG or WebP, at least {side} px a side, up to {mb} MB", **terms),
            prompt="What happens between the frames; @Image1 is the start frame, @Image2 the end frame",
            end="The last frame, if you want the video to arrive somewhere (same rules as the start frame)",
            duration=described("Length in seconds ({default} s if you pick none); the list shows the prices", **terms),
        )
        @app_commands.autocomplete(duration=self.durations)
        @app_commands.guild_only()
        async def tween(
            interaction: "discord.Interaction[TweenBot]",
            start: discord.Attachment,
            prompt: app_commands.Range[str, 1, max_prompt],
            end: discord.Attachment | None = None,
            duration: app_commands.Range[int, shortest, longest] | None = None,
        ) -> None:
            await cog.tween(interaction, start, prompt, end, duration, again=False)

        return tween

    def _build_again(self) -> "app_commands.Command[Any, ..., None]":
        """/tween-again for a Tween thread: every option optional, what is left out comes from the thread."""
        max_prompt = self.settings.limits.max_prompt_chars
        shortest, longest = self._duration_range()
        cog = self

        @app_commands.command(
            name="tween-again", description="In a Tween thread: make the next version, changing only what you pick"
        )
        @app_commands.describe(
            prompt="A new prompt (@Image1 = start, @Image2 = end); leave empty to keep the thread's prompt",
            duration="A new length in seconds; leave empty to keep the thread's length",
            start="A new first frame; leave empty to keep the thread's start frame",
            end="A new last frame; leave empty to keep the thread's end frame",
        )
        @app_commands.autocomplete(duration=self.durations)
        @app_commands.guild_only()
        async def tween_again(
            interaction: "discord.Interaction[TweenBot]",
            prompt: app_commands.Range[str, 1, max_prompt] | None = None,
            duration: app_commands.Range[int, shortest, longest] | None = None,
            start: discord.Attachment | None = None,
            end: discord.Attachment | None = None,
        ) -> None:
            await cog.tween(interaction, start, prompt, end, duration, again=True)

        return tween_again

    def _duration_range(self) -> tuple[int, int]:
        # Discord enforces this range itself; a guild's own tier narrows it in the suggestions and in validation.
        tiers = self.settings.tiers.values()
        return min(t.min_duration for t in tiers), max(t.max_duration for t in tiers)

    async def durations(
        self, interaction: "discord.Interaction[TweenBot]", typed: str
    ) -> list[app_commands.Choice[int]]:
        """Suggestions for the duration while the member types: their server's tier's range and prices."""
        guild_id = interaction.guild_id or 0
        tier = await self.services.budget.price_for(guild_id)
        dollars = await self.services.budget.dollars_shown(guild_id)
        return duration_choices(tier, str(typed), dollars=dollars, locale=private_locale(interaction))

    async def tween(
        self,
        interaction: "discord.Interaction[TweenBot]",
        start: discord.Attachment | None,
        prompt: str | None,
        end: discord.Attachment | None,
        duration: int | None,
        *,
        again: bool,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if interaction.guild_id is None or interaction.channel_id is None:
            raise InputRejected("guild_only")
        submit = self.services.sessions.again if again else self.services.sessions.tween
        async with self.bot.working():
            job = await submit(
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
