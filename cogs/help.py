"""/help: what Tween does, how to use it here, what the member may still spend, and whom to ask. Private."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import Approval, GuildPolicy
from bot.pricing import format_seconds_price, format_usd, price_micros
from bot.services import Standing
from bot.settings import Settings
from cogs.common import answer, requester_from
from cogs.render import stamp

if TYPE_CHECKING:
    from bot.app import TweenBot

COLOUR = 0x5865F2
MENTIONS = (
    "In the prompt, **@Image1** is your start frame and **@Image2** your end frame, for example "
    "*@Image1 slowly turns into @Image2*."
)


def help_embed(standing: Standing, settings: Settings) -> discord.Embed:
    embed = discord.Embed(
        title="🎬 How Tween works",
        colour=COLOUR,
        description=(
            "Tween turns pictures into a short video: it starts at your **start frame**, ends at your **end frame** "
            "if you give one, and your **prompt** says what happens in between. The video lands in a thread, "
            "where anyone can make more versions."
        ),
    )
    embed.add_field(name="Make a video", value=_how(standing.policy, settings), inline=False)
    embed.add_field(name="@Image1 and @Image2", value=MENTIONS, inline=False)
    embed.add_field(name="Frames", value=frame_rules(settings), inline=False)
    embed.add_field(name="Your allowance now", value=allowance(standing), inline=False)
    embed.add_field(name=f"Lengths and price ({standing.tier.name} tier)", value=_price(standing), inline=False)
    embed.add_field(name="Questions?", value=whom_to_ask(standing.policy), inline=False)
    return embed


def _how(policy: GuildPolicy, settings: Settings) -> str:
    where = ""
    if policy.tween_channels:
        where = "\n/tween works in " + ", ".join(f"<#{c}>" for c in sorted(policy.tween_channels)) + "."
    return (
        "**In a channel:** `/tween` with a **start** frame (required), a **prompt** (required), and if you like "
        f"an **end** frame and a **duration** ({settings.model.default_duration} s if you pick none).\n"
        "**In a Tween thread:** `/tween-again` makes the next version. Change only what you pick (prompt, length "
        "or frames); the rest comes from the thread. The buttons under each video re-roll, remix or swap it." + where
    )


def frame_rules(settings: Settings) -> str:
    """The frame rules, read from the settings that enforce them."""
    limits = settings.limits
    side, pixels = limits.min_image_side, settings.frames.max_pixels
    most = math.isqrt(pixels)
    largest = f"{most}×{most} px" if most * most == pixels else f"about {most}×{most} px"
    return (
        f"PNG, JPEG or WebP · up to {limits.max_image_bytes / 1e6:g} MB · at least {side} px a side, at most {largest} "
        f"({pixels / 1e6:.1f} megapixels) · width ÷ height from {limits.min_aspect_ratio:.2f} (tall) to "
        f"{limits.max_aspect_ratio:.2f} (wide)"
    )


def allowance(standing: Standing) -> str:
    view = standing.quota
    pots = [view.member, view.guild] + ([view.channel] if view.channel else [])
    can = min(p.remaining_seconds for p in pots)
    lines = [f"You can make up to **{can} s** of video right now."]
    parts = [f"Yours: {view.member.remaining_seconds} of {view.member.total_seconds} s left"]
    parts.append(f"server: {view.guild.remaining_seconds} of {view.guild.total_seconds} s")
    if view.channel:
        parts.append(f"this channel: {view.channel.remaining_seconds} of {view.channel.total_seconds} s")
    lines.append(" · ".join(parts) + f" · resets {stamp(view.guild.period_end)}")
    if standing.policy.paused:
        lines.append("⏸️ The moderators have paused new videos for now.")
    return "\n".join(lines)


def _price(standing: Standing) -> str:
    tier = standing.tier
    each = format_usd(price_micros(1, tier.price_per_second))
    example = format_seconds_price(tier.default_duration, tier.price_per_second)
    return (
        f"{tier.min_duration}–{tier.max_duration} s · {each} per second of video (for example {example}). "
        "Your allowance counts seconds; a video that fails costs nothing."
    )


def whom_to_ask(policy: GuildPolicy) -> str:
    lines = [
        "Ask a moderator: members with **Manage Server**. `/quota` shows your allowance in detail, "
        "`/queue show` what is running."
    ]
    waits = {
        Approval.OVER: f"Here videos longer than {policy.approval_seconds} s wait",
        Approval.WITHOUT_ROLE: f"Here videos by members without <@&{policy.approval_role_id}> wait",
        Approval.ALWAYS: "Here every video waits",
    }.get(policy.approval)
    if waits:
        lines.append(f"{waits} for a moderator's approval before starting.")
    if policy.log_channel_id:
        lines.append(f"Moderators follow requests and approvals in <#{policy.log_channel_id}>.")
    return "\n".join(lines)


class HelpCog(commands.Cog):
    def __init__(self, bot: TweenBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What Tween does, how to use it here, and what you can spend")
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction[TweenBot]) -> None:
        standing = await self.bot.services.budget.standing(requester_from(interaction))
        await answer(interaction, embed=help_embed(standing, self.bot.services.settings))


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(HelpCog(bot))
