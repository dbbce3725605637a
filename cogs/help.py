"""/help: what Tween does, how to use it here, what the member may still spend, and whom to ask. Private."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.i18n import tr
from bot.models import Approval, GuildPolicy
from bot.pricing import format_seconds_price, format_usd, price_micros
from bot.services import Standing
from bot.settings import Settings
from cogs.common import answer, private_locale, requester_from
from cogs.render import stamp

if TYPE_CHECKING:
    from bot.app import TweenBot

COLOUR = 0x5865F2
FIELD_LIMIT = 1024


def help_embed(standing: Standing, settings: Settings, *, locale: str | None = None) -> discord.Embed:
    embed = discord.Embed(
        title=tr(locale, "message.member.help.title", "🎬 How Tween works"),
        colour=COLOUR,
        description=tr(
            locale,
            "message.member.help.intro",
            "Tween turns pictures into a short video: it starts at your **start frame**, ends at your **end frame** "
            "if you give one, and your **prompt** says what happens in between. The video lands in a thread, "
            "where anyone can make more versions.",
        ),
    )
    fields = [
        (tr(locale, "message.member.help.make", "Make a video"), _how(standing.policy, settings, locale)),
        (tr(locale, "message.member.help.mentions_title", "@Image1 and @Image2"), _mentions(locale)),
        (tr(locale, "message.member.help.frames", "Frames"), frame_rules(settings, locale=locale)),
        (tr(locale, "message.member.help.allowance", "Your allowance now"), allowance(standing, locale=locale)),
        (
            tr(locale, "message.member.help.price", "Lengths and price ({tier} tier)", tier=standing.tier.name),
            _price(standing, locale),
        ),
        (tr(locale, "message.member.help.questions", "Questions?"), whom_to_ask(standing.policy, locale=locale)),
    ]
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    return embed


def _mentions(locale: str | None) -> str:
    return tr(
        locale,
        "message.member.help.mentions",
        "In the prompt, **@Image1** is your start frame and **@Image2** your end frame, for example "
        "*@Image1 slowly turns into @Image2*.",
    )


def _how(policy: GuildPolicy, settings: Settings, locale: str | None) -> str:
    how = tr(
        locale,
        "message.member.help.how",
        "**In a channel:** `/tween` with a **start** frame (required), a **prompt** (required), and if you like "
        "an **end** frame and a **duration** ({default} s if you pick none).\n"
        "**In a Tween thread:** `{again}` makes the next version. Change only what you pick (prompt, length "
        "or frames); the rest comes from the thread. The buttons under each video re-roll, remix or swap it.",
        default=settings.model.default_duration,
        again=i18n.command(locale, "tween-again"),
    )
    mentions = [f"<#{c}>" for c in sorted(policy.tween_channels)]
    for shown in range(len(mentions), 0, -1):
        # Many allowed channels would overflow Discord's 1,024 characters a field: name as many as fit.
        channels = ", ".join(mentions[:shown] + (["…"] if shown < len(mentions) else []))
        where = tr(locale, "message.member.help.where", "/tween works in {channels}.", channels=channels)
        if len(how) + 1 + len(where) <= FIELD_LIMIT:
            return how + "\n" + where
    return how


def decimal(locale: str | None, number: str) -> str:
    """A number formatted in Python (`0.40`) written with the reader's decimal mark (`0,40` in German)."""
    return number.replace(".", tr(locale, "message.member.decimal_mark", "."))


def frame_rules(settings: Settings, *, locale: str | None = None) -> str:
    """The frame rules, read from the settings that enforce them."""
    limits = settings.limits
    pixels = settings.frames.max_pixels
    most = math.isqrt(pixels)
    largest = f"{most}×{most} px"
    if most * most != pixels:
        largest = tr(locale, "message.member.help.about_pixels", "about {size}", size=largest)
    return tr(
        locale,
        "message.member.help.frame_rules",
        "PNG, JPEG or WebP · up to {mb} MB · at least {side} px a side, at most {largest} "
        "({megapixels} megapixels) · width ÷ height from {tall} (tall) to {wide} (wide)",
        mb=decimal(locale, f"{limits.max_image_bytes / 1e6:g}"),
        side=limits.min_image_side,
        largest=largest,
        megapixels=decimal(locale, f"{pixels / 1e6:.1f}"),
        tall=decimal(locale, f"{limits.min_aspect_ratio:.2f}"),
        wide=decimal(locale, f"{limits.max_aspect_ratio:.2f}"),
    )


def allowance(standing: Standing, *, locale: str | None = None) -> str:
    view = standing.quota
    member, guild, channel = view.member, view.guild, view.channel
    can = min(p.remaining_seconds for p in [member, guild] + ([channel] if channel else []))
    values = {
        "member_left": member.remaining_seconds,
        "member_total": member.total_seconds,
        "server_left": guild.remaining_seconds,
        "server_total": guild.total_seconds,
        "resets": stamp(guild.period_end),
    }
    lines = [
        tr(locale, "message.member.help.can", "You can make up to **{seconds} s** of video right now.", seconds=can)
    ]
    if channel:
        lines.append(
            tr(
                locale,
                "message.member.help.pots_channel",
                "Yours: {member_left} of {member_total} s left · server: {server_left} of {server_total} s · "
                "this channel: {channel_left} of {channel_total} s · resets {resets}",
                channel_left=channel.remaining_seconds,
                channel_total=channel.total_seconds,
                **values,
            )
        )
    else:
        lines.append(
            tr(
                locale,
                "message.member.help.pots",
                "Yours: {member_left} of {member_total} s left · server: {server_left} of {server_total} s · "
                "resets {resets}",
                **values,
            )
        )
    if standing.policy.paused:
        lines.append(tr(locale, "message.member.help.paused", "⏸️ The moderators have paused new videos for now."))
    return "\n".join(lines)


def _price(standing: Standing, locale: str | None) -> str:
    tier = standing.tier
    return tr(
        locale,
        "message.member.help.lengths",
        "{shortest}–{longest} s · {each} per second of video (for example {example}). "
        "Your allowance counts seconds; a video that fails costs nothing.",
        shortest=tier.min_duration,
        longest=tier.max_duration,
        each=format_usd(price_micros(1, tier.price_per_second)),
        example=format_seconds_price(tier.default_duration, tier.price_per_second),
    )


def whom_to_ask(policy: GuildPolicy, *, locale: str | None = None) -> str:
    lines = [
        tr(
            locale,
            "message.member.help.ask",
            "Ask a moderator: members with **Manage Server**. `{quota}` shows your allowance in detail, "
            "`{queue}` what is running.",
            quota=i18n.command(locale, "quota"),
            queue=i18n.command(locale, "queue.show"),
        )
    ]
    if policy.approval is Approval.OVER:
        lines.append(
            tr(
                locale,
                "message.member.help.approval_over",
                "Here videos longer than {seconds} s wait for a moderator's approval before starting.",
                seconds=policy.approval_seconds,
            )
        )
    elif policy.approval is Approval.WITHOUT_ROLE:
        lines.append(
            tr(
                locale,
                "message.member.help.approval_without_role",
                "Here videos by members without {role} wait for a moderator's approval before starting.",
                role=f"<@&{policy.approval_role_id}>",
            )
        )
    elif policy.approval is Approval.ALWAYS:
        lines.append(
            tr(
                locale,
                "message.member.help.approval_always",
                "Here every video waits for a moderator's approval before starting.",
            )
        )
    if policy.log_channel_id:
        lines.append(
            tr(
                locale,
                "message.member.help.log",
                "Moderators follow requests and approvals in {channel}.",
                channel=f"<#{policy.log_channel_id}>",
            )
        )
    return "\n".join(lines)


class HelpCog(commands.Cog):
    def __init__(self, bot: TweenBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What Tween does, how to use it here, and what you can spend")
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction[TweenBot]) -> None:
        standing = await self.bot.services.budget.standing(requester_from(interaction))
        await answer(
            interaction, embed=help_embed(standing, self.bot.services.settings, locale=private_locale(interaction))
        )


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(HelpCog(bot))
