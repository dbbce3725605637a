"""Pure functions from domain values to Discord embeds and text. No I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import discord

from bot.i18n import tr
from bot.models import FailureReason, Job, JobState, PotScope, PotState
from bot.pricing import cost

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

FAILURES: dict[FailureReason, Callable[[str | None], str]] = {
    FailureReason.FAL_ERROR: lambda lo: tr(lo, "message.posts.failure.fal_error", "fal.ai couldn't make this video"),
    FailureReason.FAL_REJECTED: lambda lo: tr(lo, "message.posts.failure.fal_rejected", "fal.ai refused the input"),
    FailureReason.FAL_UNREACHABLE: lambda lo: tr(
        lo, "message.posts.failure.fal_unreachable", "fal.ai couldn't be reached"
    ),
    FailureReason.FAL_ACCOUNT: lambda lo: tr(
        lo, "message.posts.failure.fal_account", "Tween's fal.ai account needs attention from whoever runs the bot"
    ),
    FailureReason.RESTARTED: lambda lo: tr(
        lo, "message.posts.failure.restarted", "Tween restarted before the job was sent"
    ),
    FailureReason.LOST: lambda lo: tr(lo, "message.posts.failure.lost", "fal.ai lost track of the job"),
    FailureReason.NO_CARD: lambda lo: tr(lo, "message.posts.failure.no_card", "the job card couldn't be posted"),
    FailureReason.INTERNAL: lambda lo: tr(lo, "message.posts.failure.internal", "something went wrong on our side"),
    FailureReason.DENIED: lambda lo: tr(lo, "message.posts.failure.denied", "a moderator denied it"),
    FailureReason.CANCELLED: lambda lo: tr(lo, "message.posts.failure.cancelled", "it was cancelled"),
    FailureReason.STUCK: lambda lo: tr(
        lo, "message.posts.failure.stuck", "fal.ai's queue was too slow, so Tween cancelled it there"
    ),
}


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def stamp(moment: datetime, style: str = "R") -> str:
    """A Discord timestamp: every reader sees it in their own time zone, and relative ones tick by themselves."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def price_label(job: Job, *, dollars: bool = True) -> str:
    """`10 s · $1.12`, or `10 s` where the server shows its members seconds only."""
    return cost(job.duration, job.price_micros, dollars=dollars, inline=True)


def job_cost(job: Job, *, dollars: bool = True) -> str:
    """`10 s ($1.12)`, or `10 s` where the server shows its members seconds only."""
    return cost(job.duration, job.price_micros, dollars=dollars)


def state_line(job: Job, usual: float | None = None, *, locale: str | None = None) -> str:
    """The card's one-line state. `usual`: how many seconds a run of this model and duration usually takes."""
    state, approved, seconds = job.state, _approved(job, locale), job.duration
    if state in (JobState.RESERVED, JobState.UPLOADED, JobState.SUBMITTING):
        return tr(locale, "message.posts.state.sending", "{approved}📤 Sending to fal.ai…", approved=approved)
    if state is JobState.WAITING:
        ahead = _ahead_here(job.queue_position, locale)
        return tr(
            locale,
            "message.posts.state.waiting",
            "{approved}🕒 Waiting for a free slot on this server — {ahead}",
            approved=approved,
            ahead=ahead,
        )
    if state is JobState.AWAITING_APPROVAL:
        return tr(
            locale, "message.posts.state.awaiting", "🛂 Waiting for a moderator's approval; it starts once approved"
        )
    if state is JobState.QUEUED:
        return _queued_line(job, usual, locale)
    if state is JobState.RUNNING:
        return _running_line(job, usual, locale)
    if state in (JobState.COMPLETED, JobState.DELIVERING):
        return tr(locale, "message.posts.state.posting", "📦 Done — posting the video…")
    if state is JobState.DELIVERED:
        return tr(locale, "message.posts.state.done", "✅ Done in {took}", took=elapsed(job, locale=locale))
    if state is JobState.FAILED and job.failure is FailureReason.DENIED:
        return tr(
            locale, "message.posts.state.denied", "🚫 Denied by a moderator. {seconds} s refunded.", seconds=seconds
        )
    if state is JobState.FAILED:
        reason = failure_words(job, locale=locale)
        return tr(
            locale,
            "message.posts.state.failed",
            "❌ Failed: {reason}. {seconds} s refunded.",
            reason=reason,
            seconds=seconds,
        )
    if state is JobState.CANCELLED:
        return tr(locale, "message.posts.state.cancelled", "🚫 Cancelled. {seconds} s refunded.", seconds=seconds)
    if state is JobState.SUBMIT_UNKNOWN:
        return tr(
            locale,
            "message.posts.state.unknown",
            "⚠️ Unknown: the connection to fal.ai broke while sending; a moderator will settle it",
        )
    if state is JobState.UNDELIVERABLE:
        return tr(locale, "message.posts.state.undeliverable", "⚠️ Made, but Discord wouldn't take the post")
    return tr(locale, "message.posts.state.other", "Cancelled")


# fal's queue is everyone's: "3 ahead at fal" is not a place in this server's line.
def _ahead_here(position: int | None, locale: str | None) -> str:
    if not position:
        return tr(locale, "message.posts.ahead.here_next", "next in line here")
    return tr(locale, "message.posts.ahead.here", "{count} ahead in line here", count=position)


def _ahead_at_fal(position: int, locale: str | None) -> str:
    if not position:
        return tr(locale, "message.posts.ahead.fal_next", "next at fal")
    return tr(locale, "message.posts.ahead.fal", "{count} ahead at fal", count=position)


def _queued_line(job: Job, usual: float | None, locale: str | None) -> str:
    approved, position = _approved(job, locale), job.queue_position
    if position is None and not usual:
        return tr(locale, "message.posts.queued.plain", "{approved}⏳ In fal.ai's queue", approved=approved)
    if position is None:
        return tr(
            locale,
            "message.posts.queued.usual",
            "{approved}⏳ In fal.ai's queue, then usually {about} to make",
            approved=approved,
            about=about(usual or 0, locale=locale),
        )
    ahead = _ahead_at_fal(position, locale)
    if not usual:
        return tr(
            locale,
            "message.posts.queued.ahead",
            "{approved}⏳ In fal.ai's queue — {ahead}",
            approved=approved,
            ahead=ahead,
        )
    return tr(
        locale,
        "message.posts.queued.ahead_usual",
        "{approved}⏳ In fal.ai's queue — {ahead}, then usually {about} to make",
        approved=approved,
        ahead=ahead,
        about=about(usual, locale=locale),
    )


def _running_line(job: Job, usual: float | None, locale: str | None) -> str:
    if job.started_at and usual:
        since, ready = stamp(job.started_at), stamp(job.started_at + timedelta(seconds=usual))
        line = tr(
            locale,
            "message.posts.running.since_usual",
            "🎞️ Generating since {since} · usually {about} · ready {ready}",
            since=since,
            about=about(usual, locale=locale),
            ready=ready,
        )
    elif job.started_at:
        line = tr(locale, "message.posts.running.since", "🎞️ Generating since {since}", since=stamp(job.started_at))
    elif usual:
        line = tr(
            locale, "message.posts.running.usual", "🎞️ Generating · usually {about}", about=about(usual, locale=locale)
        )
    else:
        line = tr(locale, "message.posts.running.plain", "🎞️ Generating")
    if job.cancel_requested_by:
        return tr(
            locale,
            "message.posts.running.cancel_requested",
            "{line} (cancel requested: fal.ai had started, so it may still be billed)",
            line=line,
        )
    return line


def about(seconds: float, *, locale: str | None = None) -> str:
    """A run length as people say it: "about 2 min", never a false precision."""
    if seconds < 60:
        return tr(locale, "message.posts.about.under_a_minute", "under a minute")
    minutes = max(1, round(seconds / 60))
    return tr(locale, "message.posts.about.minutes", "about {minutes} min", minutes=minutes)


# Ends that leave no doubt fal never made anything. A run that failed at fal may have started unseen between two
# looks (started_at is only what Tween saw), so that one keeps its card and its notice.
_NEVER_STARTED = (FailureReason.DENIED, FailureReason.CANCELLED, FailureReason.STUCK)


def ended_before_fal(job: Job) -> bool:
    """Refused, denied, cancelled or timed out before fal began making it: nothing was made, all refunded."""
    if job.started_at is not None:
        return False
    if job.state is JobState.CANCELLED:
        return True
    return job.state is JobState.FAILED and (job.request_id is None or job.failure in _NEVER_STARTED)


def ended_line(job: Job, *, locale: str | None = None) -> str:
    """What a card shrinks to when its job ended before fal started: one line, no frames, no buttons."""
    # A first version that never started is just the job: "v1" would promise a video.
    version = version_label(job) if job.version and job.version > 1 else ""
    what, member, seconds = f"Tween #{job.id}{version}", f"<@{job.user_id}>", job.duration
    if job.state is JobState.CANCELLED and job.cancel_requested_by:
        return tr(
            locale,
            "message.posts.ended.cancelled_by",
            "-# 🚫 {job} by {member} was cancelled by {by} before fal.ai started it · {seconds} s refunded",
            job=what,
            member=member,
            by=f"<@{job.cancel_requested_by}>",
            seconds=seconds,
        )
    if job.state is JobState.CANCELLED:
        return tr(
            locale,
            "message.posts.ended.cancelled",
            "-# 🚫 {job} by {member} was cancelled before fal.ai started it · {seconds} s refunded",
            job=what,
            member=member,
            seconds=seconds,
        )
    if job.failure is FailureReason.DENIED and job.decided_by:
        return tr(
            locale,
            "message.posts.ended.denied_by",
            "-# 🚫 {job} by {member} was denied by {by} · {seconds} s refunded",
            job=what,
            member=member,
            by=f"<@{job.decided_by}>",
            seconds=seconds,
        )
    if job.failure is FailureReason.DENIED:
        return tr(
            locale,
            "message.posts.ended.denied",
            "-# 🚫 {job} by {member} was denied · {seconds} s refunded",
            job=what,
            member=member,
            seconds=seconds,
        )
    return tr(
        locale,
        "message.posts.ended.failed",
        "-# ❌ {job} by {member} didn't start: {reason} · {seconds} s refunded",
        job=what,
        member=member,
        reason=failure_words(job, locale=locale),
        seconds=seconds,
    )


def _approved(job: Job, locale: str | None) -> str:
    """Until fal starts it, an approved job's card says it was approved: the member saw it wait for that."""
    return tr(locale, "message.posts.approved", "✅ Approved · ") if job.decided_by is not None else ""


def elapsed(job: Job, *, locale: str | None = None) -> str:
    end = job.finished_at or job.updated_at
    seconds = max(0, int((end - job.created_at).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    if minutes:
        return tr(
            locale, "message.posts.elapsed.minutes", "{minutes} min {seconds} s", minutes=minutes, seconds=seconds
        )
    return tr(locale, "message.posts.elapsed.seconds", "{seconds} s", seconds=seconds)


def failure_words(job: Job, *, locale: str | None = None) -> str:
    words = FAILURES[job.failure](locale) if job.failure in FAILURES else None
    words = words or tr(locale, "message.posts.failure.other", "it failed")
    if job.failure_detail and job.failure in (FailureReason.FAL_ERROR, FailureReason.FAL_REJECTED):
        words += f" ({job.failure_detail[:200]})"  # fal's own words, as fal said them
    return words


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


def submitted_text(job: Job, paid_from: Sequence[PotState] = (), *, dollars: bool = True) -> str:
    """The private answer to a submit. With the pots the job reserved from, the money is said once: who pays, from
    which pots, and what each has left."""
    link = jump_url(job.guild_id, job.channel_id, job.card_message_id)
    where = f" Follow it here: {link}" if link else ""
    if job.state in (JobState.FAILED, JobState.SUBMIT_UNKNOWN):
        return f"{state_line(job)}{where}"
    if paid_from:
        paid = f" {job_cost(job, dollars=dollars)} from {_pots_left(paid_from)}."
        if job.state is JobState.AWAITING_APPROVAL:
            return f"Your tween is reserved and waits for a moderator's approval.{paid}{where}"
        if job.state is JobState.WAITING:
            return f"Your tween is reserved and waits for a free slot; it starts by itself.{paid}{where}"
        return f"Your tween is on its way.{paid}{where}"
    label = price_label(job, dollars=dollars)
    if job.state is JobState.AWAITING_APPROVAL:
        return f"Your tween ({label}) is reserved and waits for a moderator's approval.{where}"
    if job.state is JobState.WAITING:
        return f"Your tween ({label}) is reserved and waits for a free slot; it starts by itself.{where}"
    return f"Your tween is on its way ({label}, reserved from the server's budget).{where}"


# The member's own pot first: it is the one they can do something about.
_PAY_ORDER = {PotScope.MEMBER: 0, PotScope.CHANNEL: 1, PotScope.GUILD: 2}


def _pots_left(paid_from: Sequence[PotState]) -> str:
    names = {PotScope.MEMBER: "your allowance", PotScope.GUILD: "the server's budget"}
    parts = [
        f"{names.get(p.scope, f'the budget of <#{p.subject_id}>')} ({max(0, p.remaining_seconds)} s left)"
        for p in sorted(paid_from, key=lambda p: _PAY_ORDER[p.scope])
    ]
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]


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


def cancel_text(job: Job, *, refunded: bool, too_late: bool = False, dollars: bool = True) -> str:
    money = job_cost(job, dollars=dollars)
    if refunded:
        return f"🚫 Tween #{job.id} is cancelled and its {money} refunded."
    if too_late:
        return f"Too late: fal.ai had already finished Tween #{job.id}, so it will be posted and its {money} charged."
    asked = (
        f"Tween #{job.id} is being sent to fal.ai right now; I'll ask fal to stop it the moment it arrives."
        if job.state is JobState.SUBMITTING
        else f"Asked fal.ai to stop Tween #{job.id}."
    )
    return (
        f"{asked} If fal stops it, its {money} are refunded; if fal was already making the video, it will be "
        "posted and charged. Its card shows how it ends."
    )


def watch_label(job: Job, *, locale: str | None = None) -> str:
    if job.version:
        return tr(locale, "message.posts.watch.version", "▶ Watch v{version}", version=job.version)
    return tr(locale, "message.posts.watch.video", "▶ Watch the video")


def version_label(job: Job) -> str:
    return f" · v{job.version}" if job.version else ""


ORIGINS = {"tween": "/tween", "reroll": "re-roll", "remix": "remix", "swap": "swapped frames"}


def details_embed(job: Job, *, dollars: bool = True) -> discord.Embed:
    embed = discord.Embed(title=f"ℹ️ Tween #{job.id}{version_label(job)}", description=full_prompt(job.prompt))
    embed.add_field(name="Price", value=price_label(job, dollars=dollars))
    embed.add_field(name="Asked by", value=f"<@{job.user_id}> ({ORIGINS.get(job.origin, job.origin)})")
    embed.add_field(name="State", value=state_line(job), inline=False)
    embed.add_field(name="Model", value=f"`{job.model}`", inline=False)
    embed.add_field(name="fal request", value=f"`{job.request_id}`" if job.request_id else "not sent yet")
    timings = [f"asked {stamp(job.created_at, 'T')}"]
    for label, moment in (("sent", job.submitted_at), ("started", job.started_at), ("finished", job.finished_at)):
        if moment is not None:
            timings.append(f"{label} {stamp(moment, 'T')}")
    if job.finished_at:
        timings.append(f"took {elapsed(job)}")
    embed.add_field(name="Timings", value=" · ".join(timings), inline=False)
    if job.video_url:
        embed.add_field(name="Video", value=f"[fal.ai link]({job.video_url})", inline=False)
    if line := attachment_line(job):
        embed.add_field(name="Attachment", value=line, inline=False)
    return embed
