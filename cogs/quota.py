"""/quota for everyone and /usage for moderators."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.charts import day_label, usage_alt, usage_chart
from bot.i18n import tr
from bot.pricing import format_usd
from bot.services.usage import Line, NamedUsage, Names, Place, UsageReport
from cogs.common import answer, private_locale, requester_from
from cogs.render import stamp
from cogs.render_admin import quota_embed

if TYPE_CHECKING:
    from bot.app import TweenBot

MANAGE = discord.Permissions(manage_guild=True)
# Names not in discord.py's cache are fetched one request each; past this many the CSV says "member <id>".
FETCH_LIMIT = 50


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
        embed = quota_embed(view, tier, paused=policy.paused, dollars=dollars, locale=private_locale(interaction))
        await answer(interaction, embed=embed)

    @app_commands.command(name="usage", description="This period's spending per member and channel (Manage Server)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def usage(self, interaction: discord.Interaction[TweenBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.services.usage.report(requester_from(interaction))
        named = report.named(await self._names(interaction.guild, report))
        title, subtitle = chart_titles(report)
        hourly = is_daily(report)
        chart = await asyncio.to_thread(usage_chart, title, subtitle, named.chart_members, named.slots, hourly=hourly)
        locale = private_locale(interaction)
        alt = usage_alt(f"{title}, {subtitle}", named.members, named.slots, hourly=hourly, locale=locale)
        rows = tr(locale, "message.moderation.usage.csv_alt", "Every job this period, one row each")
        files = [
            discord.File(io.BytesIO(chart), "usage.png", description=alt),
            discord.File(io.BytesIO(named.csv), "tween-usage.csv", description=rows),
        ]
        embed = discord.Embed(colour=0x5865F2).set_image(url="attachment://usage.png")
        await answer(interaction, usage_text(report, named, locale=locale), embed=embed, files=files)

    async def _names(self, guild: discord.Guild | None, report: UsageReport) -> Names:
        """Display names for the report's members and channels, from the cache or fetched (up to FETCH_LIMIT).
        An id Discord says is gone maps to None; one not looked up (or refused) is left out."""
        names = Names()
        if guild is None:
            return names
        fetches = [FETCH_LIMIT]
        for user_id in report.member_ids():
            await _member(guild, user_id, fetches, names.members)
        for channel_id in report.place_ids():
            await self._place(guild, channel_id, fetches, names.places)
        return names

    async def _place(
        self, guild: discord.Guild, channel_id: int, fetches: list[int], into: dict[int, Place | None]
    ) -> None:
        channel = guild.get_channel_or_thread(channel_id)
        if channel is None:
            if fetches[0] <= 0:
                return
            fetches[0] -= 1
            try:
                channel = await self.bot.fetch_channel(channel_id)
            except discord.NotFound:
                into[channel_id] = None
                return
            except discord.HTTPException:
                return  # e.g. a private thread Tween cannot see: not known to be gone
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        into[channel_id] = Place(getattr(channel, "name", None) or str(channel_id), parent)


async def _member(guild: discord.Guild, user_id: int, fetches: list[int], into: dict[int, str | None]) -> None:
    member = guild.get_member(user_id)
    if member is None:
        if fetches[0] <= 0:
            return
        fetches[0] -= 1
        try:
            member = await guild.fetch_member(user_id)
        except discord.NotFound:
            into[user_id] = None  # no longer a member of this server
            return
        except discord.HTTPException:
            return
    into[user_id] = member.display_name


def is_daily(report: UsageReport) -> bool:
    return report.period_end - report.period_start <= timedelta(days=1)


def chart_titles(report: UsageReport) -> tuple[str, str]:
    """The chart's heading (totals) and subheading (the period's dates in UTC, and the budget)."""
    start, end = report.period_start, report.period_end - timedelta(seconds=1)
    if is_daily(report):
        dates = f"{start:%a} {start.day} {start:%b %H:%M} to {end:%a} {end.day} {end:%b %H:%M} UTC"
    else:
        dates = f"{day_label(start)} {start:%b} to {day_label(end)} {end:%b %Y} (UTC)"
    pot = report.pot
    title = f"Tween usage: {report.total_seconds} s · {format_usd(report.total_micros)}"
    return title, f"{dates} · budget {pot.total_seconds} s"


def usage_text(report: UsageReport, named: NamedUsage, *, locale: str | None = None) -> str:
    pot = report.pot
    lines = [
        tr(
            locale,
            "message.moderation.usage.period",
            "**Tween usage this period**: since {start}, resets {end} (the same period and seconds as /quota)",
            start=stamp(report.period_start, "f"),
            end=stamp(report.period_end),
        ),
        tr(
            locale,
            "message.moderation.usage.totals",
            "**{seconds} s ({money})** charged of the server's {total} s · {reserved} s in flight · {left} s left",
            seconds=report.total_seconds,
            money=format_usd(report.total_micros),
            total=pot.total_seconds,
            reserved=pot.reserved_seconds,
            left=pot.remaining_seconds,
        ),
    ]
    if named.members:
        lines.append(tr(locale, "message.moderation.usage.per_member", "**Per member:**"))
        lines += [_member_line(m, locale) for m in named.members[:10]]
        if len(named.members) > 10:
            more = len(named.members) - 10
            lines.append(tr(locale, "message.moderation.usage.more", "…and {count} more in the CSV", count=more))
    if named.channels:
        escape = discord.utils.escape_markdown
        shares = [f"{escape(c.label)} {c.seconds} s · {format_usd(c.micros)}" for c in named.channels[:10]]
        lines.append(
            tr(
                locale,
                "message.moderation.usage.per_channel",
                "**Per channel** (threads count under their channel): {channels}",
                channels=", ".join(shares),
            )
        )
    text = "\n".join(lines)
    # Discord takes 2000 characters; only very long channel and member names get near it, and the CSV has them all.
    return text if len(text) <= 2000 else text[:1999] + "…"


def _member_line(member: Line, locale: str | None) -> str:
    values = {
        "name": discord.utils.escape_markdown(member.label),
        "count": member.jobs,
        "seconds": member.seconds,
        "money": format_usd(member.micros),
    }
    if member.jobs == 1:
        return tr(
            locale, "message.moderation.usage.member_one", "- {name} · {count} video · {seconds} s · {money}", **values
        )
    return tr(locale, "message.moderation.usage.member", "- {name} · {count} videos · {seconds} s · {money}", **values)


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(QuotaCog(bot))
