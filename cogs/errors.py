"""The one place errors become words for members. Installed as the command tree's error handler."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.app import ShuttingDown, Throttled
from bot.errors import (
    BudgetExhausted,
    CannotCancel,
    DeliveryFailed,
    FalAccountProblem,
    FalError,
    ImageRejected,
    InputRejected,
    JobNotFound,
    NotModerator,
    Refused,
    TweenError,
)
from bot.i18n import tr
from bot.pricing import cost, price_micros
from cogs import render
from cogs.common import answer, private_locale
from cogs.input_texts import charged, guild_only, image_text, input_text

if TYPE_CHECKING:
    from bot.app import TweenBot

log = logging.getLogger(__name__)


def _refused_text(error: Refused, locale: str | None) -> str:
    d = error.details
    if error.reason == "paused":
        return tr(
            locale,
            "message.answers.refused.paused",
            "The moderators have paused video generation on this server for now. Ask a moderator when it comes "
            "back. Nothing was charged.",
        )
    if error.reason == "blocked" and d.get("why"):
        return tr(
            locale,
            "message.answers.refused.blocked_why",
            "A moderator has blocked you from making videos here. Their reason: {why}. Ask a moderator if you think "
            "this is a mistake. Nothing was charged.",
            why=str(d["why"]).rstrip("."),
        )
    if error.reason == "blocked":
        return tr(
            locale,
            "message.answers.refused.blocked",
            "A moderator has blocked you from making videos here. Ask a moderator if you think this is a mistake. "
            "Nothing was charged.",
        )
    if error.reason == "channel":
        return tr(
            locale,
            "message.answers.refused.channel",
            "Tween makes videos only in {channels} on this server; run /tween there. Nothing was charged.",
            channels=", ".join(f"<#{c}>" for c in d.get("allowed", [])),
        )
    if error.reason == "banned_word":
        return tr(
            locale,
            "message.answers.refused.banned_word",
            "Your prompt contains words this server doesn't allow ({words}). Nothing was charged.",
            words=", ".join(f"`{w}`" for w in d.get("words", [])),
        )
    return tr(locale, "message.answers.refused.other", "That isn't allowed here.")


def _asked(origin: str, locale: str | None) -> str:
    """What the member asked for, by where they asked: /tween, the Remix form, or a button whose duration is fixed."""
    if origin == "remix":
        return tr(locale, "message.answers.asked.remix", "This remix")
    if origin == "reroll":
        return tr(locale, "message.answers.asked.reroll", "A re-roll")
    if origin == "swap":
        return tr(locale, "message.answers.asked.swap", "A swap")
    return tr(locale, "message.answers.asked.tween", "This video")


def _pot(error: BudgetExhausted, locale: str | None) -> str:
    if error.scope == "member":
        return tr(locale, "message.answers.pot.member", "your allowance")
    if error.scope == "channel" and error.subject_id:
        return tr(locale, "message.answers.pot.named_channel", "the budget of <#{channel}>", channel=error.subject_id)
    if error.scope == "channel":
        return tr(locale, "message.answers.pot.channel", "this channel's budget")
    return tr(locale, "message.answers.pot.guild", "the server's budget")


def _ask_for_more(scope: str, locale: str | None) -> str:
    if scope == "member":
        return tr(locale, "message.answers.more.member", "ask a moderator for a grant")
    if scope == "channel":
        return tr(locale, "message.answers.more.channel", "ask a moderator to raise it")
    return tr(locale, "message.answers.more.guild", "ask a moderator to top it up")


def _shorter(origin: str, fits: int, resets: str, more: str, locale: str | None) -> str | None:
    """The advice to ask for what fits; none for a button whose duration is fixed and has no other way."""
    values = {"fits": fits, "resets": resets, "more": more}
    if origin == "tween":
        return tr(
            locale,
            "message.answers.budget.fits_tween",
            "Run /tween with duration {fits}, wait until it resets {resets}, or {more}.",
            **values,
        )
    if origin == "remix":
        return tr(
            locale,
            "message.answers.budget.fits_remix",
            "Remix with a duration of {fits} s or less, wait until it resets {resets}, or {more}.",
            **values,
        )
    if origin == "reroll":
        return tr(
            locale,
            "message.answers.budget.fits_reroll",
            "Remix it with a duration of {fits} s instead, wait until it resets {resets}, or {more}.",
            **values,
        )
    return None


def _no_time(error: BudgetExhausted, locale: str | None) -> str:
    if error.role_id:
        return tr(
            locale,
            "message.answers.budget.role_has_none",
            "Your role <@&{role}> has no video time here; ask a moderator for an allowance.",
            role=error.role_id,
        )
    return tr(
        locale,
        "message.answers.budget.member_has_none",
        "You have no video time here; ask a moderator for an allowance.",
    )


def _budget_text(error: BudgetExhausted, origin: str, locale: str | None = None) -> str:
    """One text per cause, each saying what would work; a button's duration is fixed, so it gets no duration
    advice of its own."""
    nothing = " " + charged(locale)
    if error.scope == "member" and error.total is not None and error.total <= 0:
        return _no_time(error, locale) + nothing
    # No price: the server shows its members seconds only (the budget service leaves it out).
    price = error.price_per_second
    left = cost(error.remaining, price_micros(error.remaining, price or 0), dollars=price is not None)
    head = tr(
        locale,
        "message.answers.budget.needs",
        "{asked} needs {needed} s and {pot} has {left} left.",
        asked=_asked(origin, locale),
        needed=error.needed,
        pot=_pot(error, locale),
        left=left,
    )
    resets = f"{render.stamp(error.resets_at)} ({render.stamp(error.resets_at, 'f')})"
    more = _ask_for_more(error.scope, locale)
    fits = error.remaining if error.fits is None else error.fits
    shorter = _shorter(origin, fits, resets, more, locale)
    if shorter and fits >= (error.min_duration or 1):
        return f"{head} {shorter}{nothing}"
    too_short = ""
    if error.min_duration and 0 < fits < error.min_duration and shorter:
        too_short = " " + tr(
            locale, "message.answers.budget.shortest", "The shortest video is {seconds} s.", seconds=error.min_duration
        )
    wait = tr(
        locale, "message.answers.budget.wait", "It resets {resets}; until then, {more}.", resets=resets, more=more
    )
    return f"{head}{too_short} {wait}{nothing}"


def restarting(locale: str | None = None) -> str:
    return tr(locale, "message.answers.restarting", "Tween is restarting. Try again in a minute; nothing was charged.")


def slow_down(retry_after: float, locale: str | None = None) -> str:
    return tr(
        locale,
        "message.answers.slow_down",
        "Slow down a little: you can use Tween again in {seconds} s.",
        seconds=max(1, round(retry_after)),
    )


def _cancel_refusal(error: CannotCancel, locale: str | None) -> str:
    if error.reason == "not_yours":
        return tr(
            locale,
            "message.answers.cancel.not_yours",
            "You can only cancel your own jobs (moderators can cancel any).",
        )
    if error.reason == "finished":
        return tr(locale, "message.answers.cancel.finished", "That job has already finished.")
    if error.reason == "moved_on":
        return tr(
            locale, "message.answers.cancel.moved_on", "That job moved on before the cancel arrived; look at its card."
        )
    if error.reason == "already_requested":
        return tr(
            locale,
            "message.answers.cancel.already_requested",
            "A cancel of that job is already on its way to fal.ai; its card shows how it ends.",
        )
    if error.reason == "unreachable":
        return tr(
            locale,
            "message.answers.cancel.unreachable",
            "I couldn't reach fal.ai to cancel that job, so it is still going and will be charged if it finishes. "
            "Try again in a minute.",
        )
    if error.reason == "not_unknown":
        return tr(
            locale, "message.answers.cancel.not_unknown", "Only jobs whose submit fate is unknown can be settled."
        )
    return tr(locale, "message.answers.cancel.other", "That job can't be cancelled now.")


def _service_text(error: BaseException, locale: str | None) -> str:
    """Errors about Tween's own reach (Discord permissions, fal.ai) rather than about what the member asked."""
    if isinstance(error, DeliveryFailed):
        return tr(
            locale,
            "message.answers.no_card",
            "I can't post the job card here. I need **Send Messages**, **Embed Links**, **Attach Files** and "
            "**Create Public Threads** in this channel.",
        )
    if isinstance(error, FalAccountProblem):
        return tr(
            locale,
            "message.answers.fal_account",
            "Tween can't make videos right now: its fal.ai account needs attention from whoever runs this bot.",
        )
    return tr(
        locale,
        "message.answers.fal_unreachable",
        "fal.ai can't be reached right now, so your job wasn't started. Try again in a minute.",
    )


def user_text(error: BaseException, origin: str = "tween", *, locale: str | None = None) -> str:
    """Words for a member, for every error we raise on purpose; a reference code for the rest. `origin` says where
    the member asked: "tween", "remix" or the button pressed ("reroll", "swap"...); `locale` is the member's."""
    nothing_spent = " " + charged(locale)
    if isinstance(error, ImageRejected):
        return image_text(error, locale) + nothing_spent
    if isinstance(error, InputRejected):
        return input_text(error, locale) + nothing_spent
    if isinstance(error, BudgetExhausted):
        return _budget_text(error, origin, locale)
    if isinstance(error, Refused):
        return _refused_text(error, locale)
    if isinstance(error, NotModerator):
        return tr(locale, "message.answers.not_moderator", "Only members with **Manage Server** can do that.")
    if isinstance(error, CannotCancel):
        return _cancel_refusal(error, locale)
    if isinstance(error, DeliveryFailed | FalError):  # FalAccountProblem is a FalError
        return _service_text(error, locale) + nothing_spent
    if isinstance(error, JobNotFound):
        return tr(locale, "message.answers.job_not_found", "I can't find that job any more.")
    if isinstance(error, app_commands.NoPrivateMessage):
        return guild_only(locale)
    if isinstance(error, ShuttingDown):
        return restarting(locale)
    if isinstance(error, Throttled):
        return slow_down(error.retry_after, locale)
    if isinstance(error, app_commands.CommandOnCooldown):
        return tr(
            locale,
            "message.answers.cooldown",
            "Slow down a little: try again in {seconds} s.",
            seconds=f"{error.retry_after:.0f}",
        )
    if isinstance(error, app_commands.CheckFailure):
        return tr(locale, "message.answers.check_failed", "You can't use this command here.")
    return ""


async def report_error(interaction: discord.Interaction[TweenBot], error: BaseException) -> None:
    """The command tree's handler: a slash command's errors."""
    await report(interaction, error, "tween")


async def report(interaction: discord.Interaction[TweenBot], error: BaseException, origin: str) -> None:
    """Answer the member privately; log what we did not expect, with a code they can quote. `origin` as user_text's."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    locale = private_locale(interaction)
    text = user_text(error, origin, locale=locale)
    if not text:
        code = secrets.token_hex(3)
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error(
            "unexpected error %s in /%s (guild %s, user %s)",
            code,
            command,
            interaction.guild_id,
            interaction.user.id,
            exc_info=error,
        )
        text = tr(
            locale,
            "message.answers.unexpected",
            "Something went wrong on our side (reference `{code}`). If a job was started, its seconds were refunded.",
            code=code,
        )
    elif not isinstance(error, TweenError | app_commands.AppCommandError):
        log.warning("error shown to member: %r", error)
    try:
        await answer(interaction, text)
    except discord.HTTPException as exc:
        log.warning("could not tell the member about an error: %r", exc)


async def setup(bot: TweenBot) -> None:
    bot.tree.error(report_error)


async def teardown(bot: TweenBot) -> None:
    bot.tree.on_error = app_commands.CommandTree.on_error.__get__(bot.tree)  # type: ignore[method-assign]
