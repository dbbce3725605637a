"""The /usage export: one row per job of the period, written for spreadsheets (Excel, LibreOffice, Google Sheets).

Discord ids are 18-20 digits. Every spreadsheet reads a bare id as a number, and Excel and Sheets do so even when
it is quoted, keeping 15 significant digits: 1577668495812853768 comes back as 1577668495812850000. So ids are
written as the formula ="…", which Excel and Sheets turn into the digits as text; LibreOffice does the same when
"Evaluate formulas" is ticked on import, and otherwise shows ="…" as it stands, its digits still whole. A program
reading the file strips the three characters. Text members typed (names, prompts) is the opposite case: a cell
starting with = + - @ would run as a formula, so such cells get a leading apostrophe, which spreadsheets take as
"this is text". The file starts with a UTF-8 byte order mark, without which Excel reads accents and emoji as
Latin-1."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from bot.db.usage import PeriodJob

HEADER = [
    "job",
    "asked_at_utc",
    "charged_at_utc",
    "member",
    "member_id",
    "channel",
    "channel_id",
    "thread_id",
    "seconds_asked",
    "seconds_charged",
    "usd_charged",
    "state",
    "failure",
    "prompt",
    "link",
    "model",
]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportLine:
    """A job with the names the chat side found for it; `channel_id` is the channel it counts under."""

    job: PeriodJob
    member: str
    channel_id: int
    channel: str


def as_text_id(value: int | None) -> str:
    """An id a spreadsheet keeps digit for digit (see the module's note)."""
    return "" if value is None else f'="{value}"'


def as_text(value: str) -> str:
    """Member-typed text that a spreadsheet shows and never runs."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def jump_link(guild_id: int, channel_id: int, message_id: int | None) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}" if message_id else ""


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _row(guild_id: int, line: ExportLine) -> list[str]:
    job = line.job
    thread = job.thread_id or (job.channel_id if job.channel_id != line.channel_id else None)
    return [
        str(job.job_id),
        _when(job.created_at),
        _when(job.charged_at),
        as_text(line.member),
        as_text_id(job.user_id),
        as_text(line.channel),
        as_text_id(line.channel_id),
        as_text_id(thread),
        str(job.duration),
        str(job.charged_seconds or 0),
        f"{job.charged_micros / 1_000_000:.3f}",
        job.state,
        job.failure or "",
        as_text(job.prompt),
        jump_link(guild_id, job.channel_id, job.card_message_id),  # the job's card, where /tween was run
        job.model,
    ]


def usage_csv(guild_id: int, lines: list[ExportLine]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(_row(guild_id, line) for line in lines)
    return out.getvalue().encode("utf-8-sig")
