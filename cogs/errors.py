"""The one place errors become words for members. Installed as the command tree's error handler."""

from __future__ import annotations

import logging
import math
import secrets
from typing import TYPE_CHECKING, Any

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
from bot.pricing import cost, price_micros
from cogs import render
from cogs.common import answer

if TYPE_CHECKING:
    from bot.app import TweenBot

log = logging.getLogger(__name__)

FRAME_NAMES = {"start": "The start frame", "end": "The end frame"}


def _image_text(error: ImageRejected) -> str:
    who, d = FRAME_NAMES.get(error.frame, "That image"), error.details
    texts = {
        "empty": f"{who} is empty.",
        "too_large": f"{who} is {render.megabytes(d.get('size', 0))}; fal.ai takes images up to "
        f"{render.megabytes(d.get('limit', 0))}.",
        "not_an_image": f"{who} isn't an image I can read. Send a PNG, JPEG or WebP file.",
        "corrupt": f"{who} looks damaged or cut off. Export it again and retry.",
        "animated": f"{who} is animated. Send a single still frame (PNG, JPEG or WebP).",
        "too_many_pixels": _too_many_pixels(who, d),
        "too_small": f"{who} is {d.get('width')}×{d.get('height')} px; both sides must be at least "
        f"{d.get('min_side')} px.",
        "bad_aspect": f"{who} is too {'wide' if d.get('ratio', 1) > 1 else 'tall'} "
        f"(aspect ratio {d.get('ratio', 0):.2f}); it must be between {d.get('min_ratio', 0):.2f} "
        f"and {d.get('max_ratio', 0):.2f}.",
    }
    return texts.get(error.reason, f"{who} can't be used.")


def _too_many_pixels(who: str, d: dict[str, Any]) -> str:
    limit = d.get("limit", 0)
    side = math.isqrt(limit)
    square = f"{side}×{side} px" if side * side == limit else f"about {side}×{side} px"
    kind = f"{d['kind']} " if d.get("kind") else ""
    takes = f"Tween takes {kind}frames up to {limit / 1e6:.1f} megapixels ({square})"
    if "width" not in d:
        return f"{who} has far too many pixels to open. {takes}: scale it down and send it again."
    width, height = d["width"], d["height"]
    advice = {
        "png": "Scale it down, or send it as a PNG or JPEG.",
        "jpeg": "Scale it down, or send it as a JPEG: Tween shrinks big JPEGs itself.",
        "baseline": "Scale it down, or save it as a standard JPEG rather than a progressive one: Tween shrinks "
        "those itself.",
    }.get(d.get("advice", ""), "Scale it down and send it again.")
    return f"{who} is {width}×{height} px ({width * height / 1e6:.1f} megapixels); {takes}. {advice}"


def _input_text(error: InputRejected) -> str:
    d = error.details
    texts = {
        "empty_prompt": "Your prompt is empty. Describe the motion between the two frames.",
        "long_prompt": f"Your prompt is {d.get('length')} characters; the limit is {d.get('limit')}.",
        "bad_duration": f"Pick a duration from {d.get('low')} to {d.get('high')} seconds.",
        "unreadable_attachment": "I couldn't download your attachment from Discord. Please try again.",
        "guild_only": "Tween works in server channels, not in direct messages.",
        "empty_word": "That word is empty.",
        "missing_start": "Attach a start frame (and usually an end frame). Inside a Tween thread, /tween-again "
        "reuses the thread's frames.",
        "again_outside_thread": "/tween-again makes the next version inside a Tween thread, reusing its frames and "
        "prompt. Here, start a new video with /tween and attach a start frame.",
        "no_session": "That video isn't part of a Tween thread, so it can't be re-rolled here.",
        "swap_needs_two": "Swapping needs both a start and an end frame.",
        "not_a_session": "Use /history inside a Tween thread.",
        "approval_needs_seconds": "With the `over` policy, say how many seconds a job may have without approval.",
        "approval_needs_role": "With the `without_role` policy, pick the role whose members skip approval.",
        "unknown_tier": f"There is no tier called `{d.get('tier')}` here. Pick one of: "
        + ", ".join(f"`{t}`" for t in d.get("known", []))
        + ".",
    }
    return texts.get(error.reason, "That input can't be used.")


def _refused_text(error: Refused) -> str:
    d = error.details
    if error.reason == "paused":
        return (
            "The moderators have paused video generation on this server for now. Ask a moderator when it comes "
            "back. Nothing was charged."
        )
    if error.reason == "blocked":
        why = f" Their reason: {str(d['why']).rstrip('.')}." if d.get("why") else ""
        return (
            f"A moderator has blocked you from making videos here.{why} Ask a moderator if you think this is a "
            "mistake. Nothing was charged."
        )
    if error.reason == "channel":
        places = ", ".join(f"<#{c}>" for c in d.get("allowed", []))
        return f"Tween makes videos only in {places} on this server; run /tween there. Nothing was charged."
    if error.reason == "banned_word":
        words = ", ".join(f"`{w}`" for w in d.get("words", []))
        return f"Your prompt contains words this server doesn't allow ({words}). Nothing was charged."
    return "That isn't allowed here."


# What the member asked for, by where they asked: /tween, the Remix form, or a button whose duration is fixed.
ASKED = {"tween": "This video", "remix": "This remix", "reroll": "A re-roll", "swap": "A swap"}
POT_NAMES = {"guild": "the server's budget", "member": "your allowance", "channel": "this channel's budget"}
ASK_FOR_MORE = {
    "guild": "ask a moderator to top it up",
    "member": "ask a moderator for a grant",
    "channel": "ask a moderator to raise it",
}


def _budget_text(error: BudgetExhausted, origin: str) -> str:
    """One text per cause, each saying what would work; a button's duration is fixed, so it gets no duration
    advice of its own."""
    charged = " Nothing was charged."
    if error.scope == "member" and error.total is not None and error.total <= 0:
        who = f"Your role <@&{error.role_id}> has" if error.role_id else "You have"
        return f"{who} no video time here; ask a moderator for an allowance.{charged}"
    # No price: the server shows its members seconds only (the budget service leaves it out).
    price = error.price_per_second
    left = cost(error.remaining, price_micros(error.remaining, price or 0), dollars=price is not None)
    pot = POT_NAMES.get(error.scope, POT_NAMES["guild"])
    if error.scope == "channel" and error.subject_id:
        pot = f"the budget of <#{error.subject_id}>"
    head = f"{ASKED.get(origin, ASKED['tween'])} needs {error.needed} s and {pot} has {left} left."
    resets = f"{render.stamp(error.resets_at)} ({render.stamp(error.resets_at, 'f')})"
    more = ASK_FOR_MORE.get(error.scope, ASK_FOR_MORE["guild"])
    fits = error.remaining if error.fits is None else error.fits
    shorter = {
        "tween": f"Run /tween with duration {fits}",
        "remix": f"Remix with a duration of {fits} s or less",
        "reroll": f"Remix it with a duration of {fits} s instead",
    }.get(origin)
    if shorter and fits >= (error.min_duration or 1):
        return f"{head} {shorter}, wait until it resets {resets}, or {more}.{charged}"
    too_short = (
        f" The shortest video is {error.min_duration} s."
        if error.min_duration and 0 < fits < error.min_duration and shorter
        else ""
    )
    return f"{head}{too_short} It resets {resets}; until then, {more}.{charged}"


RESTARTING = "Tween is restarting. Try again in a minute; nothing was charged."


def slow_down(retry_after: float) -> str:
    return f"Slow down a little: you can use Tween again in {max(1, round(retry_after))} s."


def user_text(error: BaseException, origin: str = "tween") -> str:
    """Words for a member, for every error we raise on purpose; a reference code for the rest. `origin` says where
    the member asked: "tween", "remix" or the button pressed ("reroll", "swap"...)."""
    nothing_spent = " Nothing was charged."
    if isinstance(error, ImageRejected):
        return _image_text(error) + nothing_spent
    if isinstance(error, InputRejected):
        return _input_text(error) + nothing_spent
    if isinstance(error, BudgetExhausted):
        return _budget_text(error, origin)
    if isinstance(error, Refused):
        return _refused_text(error)
    if isinstance(error, NotModerator):
        return "Only members with **Manage Server** can do that."
    if isinstance(error, CannotCancel):
        return {
            "not_yours": "You can only cancel your own jobs (moderators can cancel any).",
            "finished": "That job has already finished.",
            "moved_on": "That job moved on before the cancel arrived; look at its card.",
            "already_requested": "A cancel of that job is already on its way to fal.ai; its card shows how it ends.",
            "unreachable": (
                "I couldn't reach fal.ai to cancel that job, so it is still going and will be charged if it "
                "finishes. Try again in a minute."
            ),
            "not_unknown": "Only jobs whose submit fate is unknown can be settled.",
        }.get(error.reason, "That job can't be cancelled now.")
    if isinstance(error, DeliveryFailed):
        return (
            "I can't post the job card here. I need **Send Messages**, **Embed Links**, **Attach Files** and "
            "**Create Public Threads** in this channel." + nothing_spent
        )
    if isinstance(error, FalAccountProblem):
        return (
            "Tween can't make videos right now: its fal.ai account needs attention from whoever runs this bot."
            + nothing_spent
        )
    if isinstance(error, FalError):
        return "fal.ai can't be reached right now, so your job wasn't started. Try again in a minute." + nothing_spent
    if isinstance(error, JobNotFound):
        return "I can't find that job any more."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "Tween works in server channels, not in direct messages."
    if isinstance(error, ShuttingDown):
        return RESTARTING
    if isinstance(error, Throttled):
        return slow_down(error.retry_after)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return ""


async def report_error(interaction: discord.Interaction[TweenBot], error: BaseException) -> None:
    """The command tree's handler: a slash command's errors."""
    await report(interaction, error, "tween")


async def report(interaction: discord.Interaction[TweenBot], error: BaseException, origin: str) -> None:
    """Answer the member privately; log what we did not expect, with a code they can quote. `origin` as user_text's."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    text = user_text(error, origin)
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
        text = (
            f"Something went wrong on our side (reference `{code}`). If a job was started, its seconds were refunded."
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
