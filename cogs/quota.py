"""/quota for everyone and /usage for moderators."""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.charts import usage_chart
from bot.pricing import format_usd
from cogs.common import answer, requester_from
from cogs.render_admin import quota_embed

if TYPE_CHECKING:
    from bot.app import TweenBot
    from bot.services.usage import UsageReport

MANAGE = discord.Permissions(manage_guild=True)


class QuotaCog(commands.Cog):
    def __init__(self, bot: TweenBot) -> None:
        self.bot = bot

    @app_commands.command(name="quota", description="How many video-seconds you and this server have left")
    @app_commands.guild_only()
    async def quota(self, interaction: discord.Interaction[TweenBot]) -> None:
        who = requester_from(interaction)
        services = self.bot.services
        view = await services.budget.overview(who)
        policy = await services.moderation.policy(who.guild_id)
        tier = await services.budget.price_for(who.guild_id)
        dollars = not policy.seconds_only
        await answer(interaction, embed=quota_embed(view, tier, paused=policy.paused, dollars=dollars))

    @app_commands.command(name="usage", description="This period's spending per member and channel (Manage Server)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def usage(self, interaction: discord.Interaction[TweenBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.services.usage.report(requester_from(interaction))
        names = {row.subject_id: await self._name(interaction, row.subject_id) for row in report.members[:15]}
        rows = [(names[r.subject_id], r.seconds) for r in report.members[:15]]
        chart = await asyncio.to_thread(usage_chart, "Video-seconds per member this period", rows)
        files = [discord.File(io.BytesIO(chart), "usage.png"), discord.File(io.BytesIO(report.csv), "tween-usage.csv")]
        await answer(
            interaction, usage_text(report), embed=discord.Embed().set_image(url="attachment://usage.png"), files=files
        )

    async def _name(self, interaction: discord.Interaction[TweenBot], user_id: int) -> str:
        guild = interaction.guild
        member = guild.get_member(user_id) if guild else None
        if member is None and guild is not None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.HTTPException:
                return str(user_id)
        return member.display_name if member else str(user_id)


def usage_text(report: UsageReport) -> str:
    lines = [
        f"**This period** (since <t:{int(report.period_start.timestamp())}:f>): {report.total_seconds} s, "
        f"{format_usd(report.total_micros)}"
    ]
    lines += [
        f"<@{r.subject_id}> · {r.jobs} videos · {r.seconds} s · {format_usd(r.micros)}" for r in report.members[:10]
    ]
    if report.channels:
        lines.append("**Per channel:** " + ", ".join(f"<#{r.subject_id}> {r.seconds} s" for r in report.channels[:10]))
    return "\n".join(lines)


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(QuotaCog(bot))
