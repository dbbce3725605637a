"""A job's state and how it ended, in words: the card's state line, the one line left of a job that ended before
fal started it, and the pieces they share. Pure functions, no I/O; cogs.render re-exports them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.i18n import tr
from bot.models import FailureReason, Job, JobState

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


def stamp(moment: datetime, style: str = "R") -> str:
    """A Discord timestamp: every reader sees it in their own time zone, and relative ones tick by themselves."""
    return f"<t:{int(moment.timestamp())}:{style}>"


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
    version = f" · v{job.version}" if job.version and job.version > 1 else ""
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
