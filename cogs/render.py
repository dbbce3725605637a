"""Pure functions from domain values to Discord embeds and text. No I/O."""

from __future__ import annotations

import re

import discord

from bot.i18n import tr
from bot.models import FailureReason, Job, JobState
from bot.pricing import cost
from cogs.render_state import FAILURES as FAILURES
from cogs.render_state import about as about
from cogs.render_state import elapsed as elapsed
from cogs.render_state import ended_before_fal as ended_before_fal
from cogs.render_state import ended_line as ended_line
from cogs.render_state import failure_words as failure_words
from cogs.render_state import stamp as stamp
from cogs.render_state import state_line as state_line

PREVIEW_NAME = "frames.jpg"
MARKER = "Tween job {id}"
MARKER_RE = re.compile(r"Tween job (\d+)\b")

COLOURS = {
    JobState.QUEUED: 0x5865F2,
    JobState.RUNNING: 0xFEE75C,
    JobState.COMPLETED: 0x57F287,
    JobState.DELIVERING: 0x57F287,
    JobState.DELIVERED: 0x57F287,
    JobState.FAILED: 0xED4245,
    JobState.SUBMIT_UNKNOWN: 0xE67E22,
    JobState.UNDELIVERABLE: 0xE67E22,
    JobState.CANCELLED: 0x99AAB5,
}


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def price_label(job: Job, *, dollars: bool = True) -> str:
    """`10 s · $1.12`, or `10 s` where the server shows its members seconds only."""
    return cost(job.duration, job.price_micros, dollars=dollars, inline=True)


def job_cost(job: Job, *, dollars: bool = True) -> str:
    """`10 s ($1.12)`, or `10 s` where the server shows its members seconds only."""
    return cost(job.duration, job.price_micros, dollars=dollars)


def card_embed(
    job: Job, usual: float | None = None, *, dollars: bool = True, locale: str | None = None
) -> discord.Embed:
    embed = discord.Embed(
        title=f"🎬 Tween #{job.id}{version_label(job)}",
        description=quote(job.prompt, locale=locale),
        colour=COLOURS.get(job.state, 0x5865F2),
    )
    embed.add_field(
        name=tr(locale, "message.posts.field.state", "State"), value=state_line(job, usual, locale=locale), inline=False
    )
    embed.add_field(
        name=tr(locale, "message.posts.field.duration", "Duration"), value=price_label(job, dollars=dollars)
    )
    embed.add_field(name=tr(locale, "message.posts.field.asked_by", "Asked by"), value=f"<@{job.user_id}>")
    embed.add_field(name=tr(locale, "message.posts.field.started", "Started"), value=stamp(job.created_at))
    embed.set_image(url=f"attachment://{PREVIEW_NAME}")
    # The marker stays as it is in every language: find_delivery() looks for it.
    marker = MARKER.format(id=job.id)
    embed.set_footer(text=tr(locale, "message.posts.card.footer", "{marker} · start → end frames", marker=marker))
    return embed


def result_embed(job: Job, *, link: str | None, dollars: bool = True, locale: str | None = None) -> discord.Embed:
    what = f"Tween #{job.id}{version_label(job)}"
    title = tr(locale, "message.posts.result.title", "🎬 {job} is ready", job=what)
    embed = discord.Embed(title=title, description=quote(job.prompt, locale=locale), colour=0x57F287)
    embed.add_field(
        name=tr(locale, "message.posts.field.duration", "Duration"), value=price_label(job, dollars=dollars)
    )
    embed.add_field(name=tr(locale, "message.posts.field.asked_by", "Asked by"), value=f"<@{job.user_id}>")
    embed.add_field(name=tr(locale, "message.posts.field.took", "Took"), value=elapsed(job, locale=locale))
    if job.cancel_requested_by is not None:
        embed.add_field(
            name=tr(locale, "message.posts.result.too_late", "Cancel came too late"),
            value=tr(
                locale,
                "message.posts.result.too_late_text",
                "fal.ai was already making this video when the cancel arrived, so it was made and charged.",
            ),
            inline=False,
        )
    if link:
        name, words = link_note(job, locale=locale)
        value = tr(
            locale, "message.posts.result.link", "{note} [Watch or download it here]({link}).", note=words, link=link
        )
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=MARKER.format(id=job.id))
    return embed


# Discord shows an attachment's description as its alt text (screen readers say it); it takes up to 1,024 characters.
ALT_PROMPT_CHARS = 300


def preview_alt(job: Job, *, locale: str | None = None) -> str:
    what, prompt = f"Tween #{job.id}", _alt_prompt(job.prompt)
    if job.end_url:
        return tr(
            locale,
            "message.posts.alt.preview_both",
            "The start frame, an arrow, and the end frame of {job}. Prompt: {prompt}",
            job=what,
            prompt=prompt,
        )
    return tr(
        locale, "message.posts.alt.preview_start", "The start frame of {job}. Prompt: {prompt}", job=what, prompt=prompt
    )


def video_alt(job: Job, *, locale: str | None = None) -> str:
    what, prompt, seconds = f"Tween #{job.id}", _alt_prompt(job.prompt), job.duration
    if job.version:
        return tr(
            locale,
            "message.posts.alt.video_version",
            "{job}, version {version}, a {seconds} second video. Prompt: {prompt}",
            job=what,
            version=job.version,
            seconds=seconds,
            prompt=prompt,
        )
    return tr(
        locale,
        "message.posts.alt.video",
        "{job}, a {seconds} second video. Prompt: {prompt}",
        job=what,
        seconds=seconds,
        prompt=prompt,
    )


def _alt_prompt(prompt: str) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= ALT_PROMPT_CHARS else flat[: ALT_PROMPT_CHARS - 1] + "…"


def file_size(size: int) -> str:
    """Sizes of videos and upload limits as Discord itself shows them: MB of 1,048,576 bytes (10 MiB is "10 MB")."""
    return f"{size / 1_048_576:.1f}".removesuffix(".0") + " MB"


def link_note(job: Job, *, locale: str | None = None) -> tuple[str, str]:
    """Why a result is a link and not a video in the thread, honestly: fal's file, or the server's limit."""
    limit = file_size(job.upload_limit)
    match job.video_problem:
        case "undecodable" | "no_video":
            return tr(locale, "message.posts.link.undecodable", "Could not attach the video"), tr(
                locale,
                "message.posts.link.undecodable_text",
                "fal.ai's file did not open as a playable video here, so it is not attached. It is fal's file as it "
                "came; it may still play in your browser.",
            )
        case "wrong_duration":
            return tr(locale, "message.posts.link.wrong_duration", "Not the length asked for"), tr(
                locale,
                "message.posts.link.wrong_duration_text",
                "fal.ai sent a video that is not {seconds} s long, so it is not attached as if it were.",
                seconds=job.duration,
            )
        case "too_big_to_fetch" | "does_not_fit":
            return tr(locale, "message.posts.link.too_big", "Too big to attach"), tr(
                locale,
                "message.posts.link.too_big_text",
                "The video could not be made to fit this server's {limit} upload limit.",
                limit=limit,
            )
        case _:
            return tr(locale, "message.posts.link.refused", "Not attached"), _refused_text(job, limit, locale)


def _refused_text(job: Job, limit: str, locale: str | None) -> str:
    if not job.video_size:
        return tr(
            locale,
            "message.posts.link.refused_text",
            "Discord would not take it as a file here ({limit} upload limit).",
            limit=limit,
        )
    return tr(
        locale,
        "message.posts.link.refused_size_text",
        "The video is {size}, and Discord would not take it as a file here ({limit} upload limit).",
        size=file_size(job.video_size),
        limit=limit,
    )


def attachment_line(job: Job) -> str | None:
    """For Details: what members got in the thread, when it is not simply fal's file."""
    if job.reencoded and job.video_size and job.posted_size:
        height = f" at {job.posted_height}p" if job.posted_height else ""
        return (
            f"Re-encoded from {file_size(job.video_size)} to {file_size(job.posted_size)}{height} to fit this "
            f"server's {file_size(job.upload_limit)} upload limit. **Full quality** opens fal.ai's original."
        )
    if job.state is JobState.DELIVERED and job.posted_size is None and job.video_url:
        return "Posted as a link: " + link_note(job)[1]
    return None


def failure_text(job: Job, *, dollars: bool = True, locale: str | None = None) -> str:
    """The notice in a job's thread when it ends without a video. Names pinged: the member only (the publisher's
    allowed mentions), so a moderator's name here does not ping them."""
    texts = dict(member=f"<@{job.user_id}>", job=f"Tween #{job.id}", money=job_cost(job, dollars=dollars))
    if job.failure is FailureReason.DENIED:
        if job.decided_by:
            return tr(
                locale,
                "message.posts.notice.denied_by",
                "🚫 {member}, {job} was denied by {by}, so it was not made and nothing was charged: your {money} were "
                "refunded.",
                by=f"<@{job.decided_by}>",
                **texts,
            )
        return tr(
            locale,
            "message.posts.notice.denied",
            "🚫 {member}, {job} was denied by a moderator, so it was not made and nothing was charged: your {money} "
            "were refunded.",
            **texts,
        )
    if job.state is JobState.CANCELLED:
        return _cancelled_notice(job, texts, locale)
    if job.state is JobState.UNDELIVERABLE:
        return tr(
            locale,
            "message.posts.notice.undeliverable",
            "⚠️ {member}, fal.ai made {job} but no longer hands the video out, so I can't post it. fal billed it, so "
            "its {money} were charged.",
            **texts,
        )
    if job.state is JobState.SUBMIT_UNKNOWN:
        return tr(
            locale,
            "message.posts.notice.unknown",
            "⚠️ {member}, the connection to fal.ai broke while {job} was being sent, so I can't tell whether fal "
            "received it. I won't send it twice. Its {seconds} s stay reserved until a moderator checks; if a video "
            "arrives on fal's side it was billed.",
            seconds=job.duration,
            **texts,
        )
    reason = failure_words(job, locale=locale)
    return tr(
        locale,
        "message.posts.notice.failed",
        "❌ {member}, {job} failed: {reason}. Your {money} were refunded.",
        reason=reason,
        **texts,
    )


def _cancelled_notice(job: Job, texts: dict[str, str], locale: str | None) -> str:
    if job.cancel_requested_by:
        return tr(
            locale,
            "message.posts.notice.cancelled_by",
            "🚫 {job} was cancelled by {by} before fal.ai started it. {member}, your {money} were refunded.",
            by=f"<@{job.cancel_requested_by}>",
            **texts,
        )
    return tr(
        locale,
        "message.posts.notice.cancelled",
        "🚫 {job} was cancelled by a moderator before fal.ai started it. {member}, your {money} were refunded.",
        **texts,
    )


def jump_url(guild_id: int, channel_id: int, message_id: int | None) -> str | None:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}" if message_id else None


def thread_name(job: Job) -> str:
    words = " ".join(job.prompt.split())
    name = f"Tween #{job.id} · {words}"
    return name if len(name) <= 90 else name[:89] + "…"


# A card shows the start of a prompt: a few lines read at a glance, and Discord caps an embed's description at 4,096
# characters (a 1,250-line prompt, quoted line by line, was refused outright).
CARD_PROMPT_LINES = 8
CARD_PROMPT_CHARS = 1000
SHORTENED = "-# shortened: **Details** shows the whole prompt"


def quote(
    text: str, limit: int = CARD_PROMPT_CHARS, max_lines: int = CARD_PROMPT_LINES, *, locale: str | None = None
) -> str:
    """A member's prompt as a block quote that shows it as typed: no masked link, heading, list or mention from the
    prompt itself takes effect. Long or many-lined prompts are cut, and say so."""
    lines = [safe_text(line) for line in text.splitlines() if line.strip()] or [""]
    kept: list[str] = []
    cut = False
    for line in lines[:max_lines]:
        room = limit - sum(len(k) + 1 for k in kept) - 2
        if room <= 1:
            break
        cut = len(line) > room
        kept.append("> " + (line[: room - 1] + "…" if cut else line))
    shortened = cut or len(kept) < len(lines)
    note = tr(locale, "message.posts.shortened", "-# shortened: **Details** shows the whole prompt")
    return "\n".join(kept + ([note] if shortened else []))


def full_prompt(text: str) -> str:
    """The whole prompt for Details: a code block keeps every line and character as typed, with no markdown and
    no per-line prefix eating into the 4,096 characters (prompts are at most limits.max_prompt_chars = 2,500)."""
    return "```\n" + text.replace("```", "`\u200b``")[:4000] + "\n```"


def safe_text(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def watch_label(job: Job, *, locale: str | None = None) -> str:
    if job.version:
        return tr(locale, "message.posts.watch.version", "▶ Watch v{version}", version=job.version)
    return tr(locale, "message.posts.watch.video", "▶ Watch the video")


def version_label(job: Job) -> str:
    return f" · v{job.version}" if job.version else ""
