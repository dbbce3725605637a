"""Buttons that keep working after a restart: their custom ids carry the job id (discord.py DynamicItem).

Every release has posted `tween:<action>:<job id>`, and buttons already in servers must keep working, so that
shape never changes. One DynamicItem class per family of actions: the job card's cancel, a result's session
buttons, and a moderator's approve and deny."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord
from discord.ext import commands

from bot.errors import InputRejected
from bot.i18n import tr
from bot.models import Job
from bot.pricing import format_usd, price_micros
from bot.tiers import Tier
from cogs import render, render_admin, render_answers
from cogs.common import answer, cancel_job, private_locale, public_locale, requester_from, submitted
from cogs.errors import report, report_error

if TYPE_CHECKING:
    from bot.app import TweenBot

Handler = Callable[["discord.Interaction[TweenBot]"], Awaitable[None]]

STYLES = {"approve": discord.ButtonStyle.success, "deny": discord.ButtonStyle.danger}
LABELS: dict[str, Callable[[str | None], str]] = {
    "approve": lambda lo: tr(lo, "message.posts.button.approve", "Approve"),
    "deny": lambda lo: tr(lo, "message.posts.button.deny", "Deny"),
    "cancel": lambda lo: tr(lo, "message.posts.button.cancel", "Cancel"),
    "reroll": lambda lo: tr(lo, "message.posts.button.reroll", "🔁 Re-roll"),
    "remix": lambda lo: tr(lo, "message.posts.button.remix", "✏️ Remix"),
    "swap": lambda lo: tr(lo, "message.posts.button.swap", "⇄ Swap frames"),
    "details": lambda lo: tr(lo, "message.posts.button.details", "ℹ️ Details"),
    "vote": lambda lo: "👍",
}


# The session buttons that make a new version, and so cost its seconds (a remix starts from the same length).
COSTING = frozenset({"reroll", "remix", "swap"})
# The cost suffix is the same in every language (the code adds it after the label): a vote redraws the buttons and
# reads it back from whatever language they were posted in.
COST_RE = re.compile(r" · (\d+) s$")


def template(*actions: str) -> str:
    return rf"tween:(?P<action>{'|'.join(actions)}):(?P<job>\d+)"


def custom_id(action: str, job_id: int) -> str:
    return f"tween:{action}:{job_id}"


class TweenButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=template("[a-z]+")):
    """What every family shares: the admission check, the shutdown guard and the one error answer. Only the
    families are registered: a subclass names its `actions`, and `handler` maps each to a method."""

    ACTIONS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, *, actions: tuple[str, ...]) -> None:
        super().__init_subclass__(template=template(*actions))
        cls.ACTIONS = actions

    def __init__(
        self,
        action: str,
        job_id: int,
        *,
        count: int | None = None,
        seconds: int | None = None,
        locale: str | None = None,
    ) -> None:
        label = LABELS[action](locale) + (f" {count}" if count is not None else "")
        if seconds is not None and action in COSTING:
            label += f" · {seconds} s"  # what the next version costs: only seconds, so every server may show it
        style = STYLES.get(action, discord.ButtonStyle.secondary)
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id(action, job_id)))
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[TweenBot], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(match["action"], int(match["job"]))

    async def interaction_check(self, interaction: discord.Interaction[TweenBot]) -> bool:
        refusal = interaction.client.refusal(interaction)
        if refusal is not None:
            await report_error(interaction, refusal)
        return refusal is None

    async def callback(self, interaction: discord.Interaction[TweenBot]) -> None:
        try:
            async with interaction.client.working():
                await self.handler()(interaction)
        except Exception as error:  # buttons bypass the tree's error handler
            await report(interaction, error, self.action)

    def handler(self) -> Handler:
        raise NotImplementedError


class JobButton(TweenButton, actions=("cancel",)):
    """On the public job card while the job can still be stopped."""

    def handler(self) -> Handler:
        return self.cancel

    async def cancel(self, interaction: discord.Interaction[TweenBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await answer(interaction, await cancel_job(interaction, self.job_id))


class SessionButton(TweenButton, actions=("reroll", "remix", "swap", "details", "vote")):
    """Under a delivered video: make the next version from it, look at it, or vote for it."""

    def handler(self) -> Handler:
        handlers = {
            "reroll": self.follow_up,
            "swap": self.follow_up,
            "remix": self.remix,
            "details": self.details,
            "vote": self.vote,
        }
        return handlers[self.action]

    async def follow_up(self, interaction: discord.Interaction[TweenBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        sessions = interaction.client.services.sessions
        job = await sessions.follow_up(
            requester_from(interaction), self.job_id, self.action, upload_limit=upload_limit(interaction)
        )
        await answer(interaction, await submitted(interaction, job))

    async def remix(self, interaction: discord.Interaction[TweenBot]) -> None:
        services = interaction.client.services
        job = await services.sessions.details(requester_from(interaction), self.job_id)
        tier = await services.budget.price_for(job.guild_id)
        dollars = await services.budget.dollars_shown(job.guild_id)
        max_prompt = services.settings.limits.max_prompt_chars
        modal = RemixModal(job, max_prompt, tier, dollars=dollars, locale=private_locale(interaction))
        await interaction.response.send_modal(modal)

    async def details(self, interaction: discord.Interaction[TweenBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        services = interaction.client.services
        job = await services.sessions.details(requester_from(interaction), self.job_id)
        dollars = await services.budget.dollars_shown(job.guild_id)
        await answer(
            interaction, embed=render_answers.details_embed(job, dollars=dollars, locale=private_locale(interaction))
        )

    async def vote(self, interaction: discord.Interaction[TweenBot]) -> None:
        voted, count = await interaction.client.services.sessions.vote(requester_from(interaction), self.job_id)
        message = interaction.message
        view = result_view(
            self.job_id,
            count,
            full_quality=link_button_url(message),
            seconds=seconds_on_buttons(message),
            locale=public_locale(interaction.client, interaction.guild_id or 0),  # the result is a public post
        )
        await interaction.response.edit_message(view=view)
        locale = private_locale(interaction)
        if voted:
            await answer(interaction, tr(locale, "message.answers.vote.counted", "👍 Vote counted."))
        else:
            await answer(interaction, tr(locale, "message.answers.vote.taken_back", "Vote taken back."))


def seconds_on_buttons(message: discord.Message | None) -> int | None:
    """The cost a result's buttons already show (`🔁 Re-roll · 10 s`), so redrawing them keeps it."""
    for row in message.components if message else []:
        for item in getattr(row, "children", []):
            if isinstance(item, discord.Button) and item.label and (found := COST_RE.search(item.label)):
                return int(found[1])
    return None


def link_button_url(message: discord.Message | None) -> str | None:
    """The Full quality link a result message already has, so redrawing its buttons keeps it."""
    for row in message.components if message else []:
        for item in getattr(row, "children", []):
            if isinstance(item, discord.Button) and item.url:
                return item.url
    return None


class ModerationButton(TweenButton, actions=("approve", "deny")):
    """On an approval request in the log channel."""

    def handler(self) -> Handler:
        return self.decide

    async def decide(self, interaction: discord.Interaction[TweenBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        moderation = interaction.client.services.moderation
        who = requester_from(interaction)
        approve = self.action == "approve"
        job = await moderation.decide(who, self.job_id, approve=approve)
        await answer(
            interaction,
            render_admin.decision_text(job, who.user_id, approve=approve, locale=private_locale(interaction)),
        )


FAMILIES: tuple[type[TweenButton], ...] = (JobButton, SessionButton, ModerationButton)


def button(
    action: str, job_id: int, *, count: int | None = None, seconds: int | None = None, locale: str | None = None
) -> TweenButton:
    family = next(f for f in FAMILIES if action in f.ACTIONS)
    return family(action, job_id, count=count, seconds=seconds, locale=locale)


def duration_label(tier: Tier, *, dollars: bool, locale: str | None = None) -> str:
    """The Remix form's duration label (Discord allows 45 characters): the range, and the price where shown."""
    span = f"{tier.min_duration}–{tier.max_duration}"
    if not dollars:
        return tr(locale, "message.answers.remix.duration", "Duration in seconds ({span})", span=span)
    return tr(
        locale,
        "message.answers.remix.duration_priced",
        "Duration in seconds ({span}, {price} each)",
        span=span,
        price=format_usd(price_micros(1, tier.price_per_second)),
    )


class RemixModal(discord.ui.Modal):
    """The prompt and duration of a version, prefilled, to make the next one from."""

    def __init__(
        self, job: Job, max_prompt: int, tier: Tier, *, dollars: bool = True, locale: str | None = None
    ) -> None:
        title = tr(
            locale,
            "message.answers.remix.title",
            "Remix Tween #{id}{version}",
            id=job.id,
            version=render.version_label(job),
        )
        super().__init__(title=title, custom_id=f"tween:remix-modal:{job.id}")
        self.job_id = job.id
        self.tier = tier
        self.prompt: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
            label=tr(locale, "message.answers.remix.prompt", "Prompt"),
            placeholder=tr(
                locale,
                "message.answers.remix.prompt_placeholder",
                "What happens between the frames; @Image1 is the start, @Image2 the end",
            ),
            style=discord.TextStyle.paragraph,
            default=job.prompt,
            max_length=max_prompt,
            custom_id="prompt",
        )
        self.duration: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
            label=duration_label(tier, dollars=dollars, locale=locale),
            default=str(job.duration),
            max_length=2,
            custom_id="duration",
        )
        self.add_item(self.prompt)
        self.add_item(self.duration)

    async def on_submit(self, interaction: discord.Interaction[TweenBot]) -> None:
        text = self.duration.value.strip()
        if not (text.isascii() and text.isdigit()):  # "²" is a digit to Python, not a number to a member
            raise InputRejected("bad_duration", low=self.tier.min_duration, high=self.tier.max_duration)
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = interaction.client
        async with bot.working():
            job = await bot.services.sessions.follow_up(
                requester_from(interaction),
                self.job_id,
                "remix",
                prompt=self.prompt.value,
                duration=int(text),
                upload_limit=upload_limit(interaction),
            )
            text = await submitted(interaction, job)
        await answer(interaction, text)

    async def on_error(self, interaction: discord.Interaction[TweenBot], error: Exception) -> None:
        await report(interaction, error, "remix")


def upload_limit(interaction: discord.Interaction[TweenBot]) -> int:
    return interaction.filesize_limit or interaction.client.services.settings.limits.default_upload_limit


def result_view(
    job_id: int,
    votes: int | None,
    *,
    full_quality: str | None = None,
    seconds: int | None = None,
    locale: str | None = None,
) -> discord.ui.View:
    """The buttons under a result: the session's (when `votes` is given, i.e. the job has a session), those that
    make a new version labelled with its `seconds`, and a link to fal's original file when the attachment is a
    smaller re-encode of it."""
    view = discord.ui.View(timeout=None)
    if votes is not None:
        for action in ("reroll", "remix", "swap", "details"):
            view.add_item(button(action, job_id, seconds=seconds, locale=locale))
        view.add_item(button("vote", job_id, count=votes, locale=locale))
    if full_quality is not None:
        label = tr(locale, "message.posts.button.full_quality", "Full quality")
        view.add_item(discord.ui.Button(label=label, emoji="🎞️", url=full_quality, row=1))
    return view


def job_view(job_id: int, *actions: str, locale: str | None = None) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(button(action, job_id, locale=locale))
    return view


class ButtonsCog(commands.Cog):
    def __init__(self, bot: TweenBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*FAMILIES)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*FAMILIES)


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(ButtonsCog(bot))


__all__ = ["FAMILIES", "JobButton", "ModerationButton", "SessionButton", "job_view", "result_view"]
