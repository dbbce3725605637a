"""/history: a session thread's versions as a tree, with who changed what and how each turned out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import tr
from bot.models import Job, JobState
from bot.services import Lineage
from bot.services.sessions import prompt_change
from cogs import render, render_answers
from cogs.common import answer, private_locale, requester_from

if TYPE_CHECKING:
    from bot.app import TweenBot

OUTCOMES = {JobState.DELIVERED: "✅", JobState.FAILED: "❌", JobState.CANCELLED: "🚫", JobState.UNDELIVERABLE: "⚠️"}


def history_embed(lineage: Lineage, *, dollars: bool = True, locale: str | None = None) -> discord.Embed:
    by_id = {j.id: j for j in lineage.versions}
    children: dict[int | None, list[Job]] = {}
    for job in lineage.versions:
        parent = job.parent_job_id if job.parent_job_id in by_id else None
        children.setdefault(parent, []).append(job)
    favourite = lineage.favourite
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for job in children.get(parent, []):
            lines.append(
                _line(
                    job,
                    by_id.get(job.parent_job_id or 0),
                    depth,
                    lineage.votes.get(job.id, 0),
                    favourite is not None and favourite.id == job.id,
                    dollars,
                    locale,
                )
            )
            walk(job.id, depth + 1)

    walk(None, 0)
    title = tr(locale, "message.member.history.title", "🌳 Versions in this thread")
    embed = discord.Embed(title=title, colour=0x5865F2, description="\n".join(lines)[:4000])
    if favourite is not None:
        link = render.jump_url(favourite.guild_id, favourite.destination_id, favourite.result_message_id)
        embed.add_field(
            name=tr(locale, "message.member.history.favourite", "⭐ Favourite"),
            value=f"v{favourite.version} ({lineage.votes[favourite.id]} 👍) {link or ''}",
        )
    footer = tr(
        locale, "message.member.history.footer", "Re-roll, remix or swap any version with the buttons under its video"
    )
    embed.set_footer(text=footer)
    return embed


def _line(
    job: Job, parent: Job | None, depth: int, votes: int, favourite: bool, dollars: bool, locale: str | None
) -> str:
    change = ""
    if parent is not None:
        diff = prompt_change(parent.prompt, job.prompt)
        change = f" · {render_answers.origin_words(job.origin, locale)}" + (f": {diff[:120]}" if diff else "")
        if job.duration != parent.duration:
            change += f" · {parent.duration}→{job.duration} s"
    link = render.jump_url(job.guild_id, job.destination_id, job.result_message_id)
    outcome = OUTCOMES.get(job.state, "⏳")
    tail = (f" · {votes} 👍" if votes else "") + (" ⭐" if favourite else "")
    if link:
        tail += " · " + tr(locale, "message.member.history.jump", "[jump]({link})", link=link)
    indent = "\u2003" * depth + ("└ " if depth else "")
    price = render.price_label(job, dollars=dollars)
    return f"{indent}**v{job.version}** <@{job.user_id}>{change} · {price} {outcome}{tail}"


class SessionsCog(commands.Cog):
    def __init__(self, bot: TweenBot) -> None:
        self.bot = bot

    @app_commands.command(name="history", description="The versions made in this thread, as a tree")
    @app_commands.guild_only()
    async def history(self, interaction: discord.Interaction[TweenBot]) -> None:
        who = requester_from(interaction)
        lineage = await self.bot.services.sessions.lineage(who)
        dollars = await self.bot.services.budget.dollars_shown(who.guild_id)
        await answer(interaction, embed=history_embed(lineage, dollars=dollars, locale=private_locale(interaction)))


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(SessionsCog(bot))
