"""The /usage report's arithmetic, its CSV, its chart and the words for a budget change, without a database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from bot.charts import MAX_HEIGHT, WIDTH, usage_alt, usage_chart
from bot.db.usage import PeriodJob
from bot.models import PotScope, PotState
from bot.services.usage import Names, Place, UsageReport
from bot.services.usage_csv import as_text, as_text_id, jump_link
from cogs.render_admin import period_change_text, reset_schedule

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)
GENERAL, ART, THREAD, SESSION_THREAD = 100, 200, 300, 400
MIRA, JONAS, GONE = 1577668495812853768, 1577668497020813335, 1577668400000000001


def pot(start: datetime, days: int, spent: int = 0, **extra: int) -> PotState:
    values = {"extra_seconds": 0, "reserved_seconds": 0, **extra}
    return PotState(
        1, 9, PotScope.GUILD, 9, 600, values["extra_seconds"], values["reserved_seconds"], spent, start,
        start + timedelta(days=days),
    )  # fmt: skip


def job(n: int, user: int, channel: int, seconds: int | None, at: datetime, session: int | None = None) -> PeriodJob:
    return PeriodJob(
        job_id=n, created_at=at, charged_at=at + timedelta(seconds=30) if seconds else None, user_id=user,
        channel_id=channel, session_channel_id=session, thread_id=None, card_message_id=5000 + n, duration=seconds or 4,
        charged_seconds=seconds, price_micros=(seconds or 4) * 112_000, model="m", state="delivered" if seconds else
        "failed", failure=None if seconds else "fal_error", prompt=f"prompt {n}",
    )  # fmt: skip


NAMES = Names(
    members={MIRA: "mira", JONAS: "jonas", GONE: None},
    places={GENERAL: Place("general"), ART: Place("art"), THREAD: Place("Tween #1 · a cat", parent_id=ART)},
)


def weekly() -> UsageReport:
    tuesday = MONDAY + timedelta(days=1, hours=9)
    jobs = [
        job(1, MIRA, GENERAL, 10, tuesday),
        job(2, MIRA, SESSION_THREAD, 5, tuesday + timedelta(days=1), session=GENERAL),
        job(3, JONAS, THREAD, 8, tuesday + timedelta(days=1)),
        job(4, GONE, ART, 3, tuesday + timedelta(days=5)),
        job(5, JONAS, GENERAL, None, tuesday),
    ]
    return UsageReport(9, pot(MONDAY, 7, spent=26), 0.112, jobs)


def test_totals_count_only_what_was_charged():
    report = weekly()
    assert (report.total_seconds, report.total_micros) == (26, 26 * 112_000)
    assert report.member_ids() == [MIRA, JONAS, GONE]


def test_threads_count_under_their_channel_and_members_are_named():
    named = weekly().named(NAMES)
    assert [(m.label, m.jobs, m.seconds) for m in named.members] == [
        ("mira", 2, 15),
        ("jonas", 1, 8),
        (f"former member ({GONE})", 1, 3),
    ]
    assert [(c.label, c.seconds) for c in named.channels] == [("#general", 15), ("#art", 11)]
    assert named.chart_members[2].label == "ex-member …0001"


def test_a_name_that_was_not_looked_up_is_said_as_an_id():
    names = Names()
    assert names.member(MIRA) == f"member {MIRA}" and names.channel(GENERAL) == f"channel {GENERAL}"
    assert Names(places={ART: None}).channel(ART) == f"deleted channel ({ART})"


def test_the_time_axis_has_a_slot_per_day_or_per_hour():
    slots = weekly().slots()
    assert [s.start for s in slots] == [MONDAY + timedelta(days=d) for d in range(7)]
    assert [s.seconds for s in slots] == [0, 10, 13, 0, 0, 0, 3]
    daily = UsageReport(9, pot(MONDAY, 1), 0.112, [job(1, MIRA, GENERAL, 4, MONDAY + timedelta(hours=6, minutes=5))])
    hours = daily.slots()
    assert len(hours) == 24 and hours[6].seconds == 4 and hours[6].micros == 448_000


def test_the_csv_keeps_ids_whole_names_prompts_and_links():
    data = weekly().named(NAMES).csv
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark: Excel reads names right
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 5
    first, in_session, in_thread = rows[0], rows[1], rows[2]
    assert (first["member"], first["member_id"]) == ("mira", f'="{MIRA}"')
    assert (first["channel"], first["channel_id"], first["thread_id"]) == ("#general", f'="{GENERAL}"', "")
    assert first["link"] == f"https://discord.com/channels/9/{GENERAL}/5001" and first["prompt"] == "prompt 1"
    assert (first["asked_at_utc"], first["usd_charged"]) == ("2026-12-01 09:00:00", "1.120")
    assert (in_session["channel"], in_session["thread_id"]) == ("#general", f'="{SESSION_THREAD}"')
    assert (in_thread["channel"], in_thread["thread_id"]) == ("#art", f'="{THREAD}"')
    assert rows[3]["member"] == f"former member ({GONE})"
    assert (rows[4]["seconds_asked"], rows[4]["seconds_charged"], rows[4]["charged_at_utc"]) == ("4", "0", "")


@pytest.mark.parametrize("typed", ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tcmd"])
def test_member_text_never_runs_as_a_formula(typed):
    assert as_text(typed) == "'" + typed
    assert as_text("a cat =1") == "a cat =1"


def test_ids_and_links():
    assert as_text_id(None) == "" and as_text_id(12) == '="12"'
    assert jump_link(1, 2, 3) == "https://discord.com/channels/1/2/3" and jump_link(1, 2, None) == ""


@pytest.mark.parametrize("days", [1, 7, 31])
@pytest.mark.parametrize("members", [0, 3, 20])
def test_the_chart_fits_discords_embed_shape(days, members):
    report = weekly()
    lines = report.named(NAMES).chart_members * members
    slots = UsageReport(9, pot(MONDAY, days), 0.112, report.jobs).slots()
    png = usage_chart("Tween usage: 26 s · $2.912", "Mon 30 Nov to Sun 6 Dec 2026", lines, slots, hourly=days == 1)
    image = Image.open(io.BytesIO(png))
    assert image.size[0] == WIDTH and image.size[1] <= MAX_HEIGHT
    assert image.size[0] / image.size[1] >= 4 / 3  # scaled to 400 px wide it stays within 300 px high


def test_the_alt_text_says_the_chart_in_words():
    named = weekly().named(NAMES)
    alt = usage_alt("Tween usage: 26 s", named.members * 30, named.slots, hourly=False)
    assert alt.startswith("Chart: Tween usage: 26 s. Per member: mira 15 s · $1.68; jonas 8 s · $0.896")
    assert "Tue 1 10 s" in alt and len(alt) <= 1024


def test_schedule_words():
    assert reset_schedule("week", 6) == "every Monday at 06:00 UTC"
    assert reset_schedule("day", 0) == "every day at 00:00 UTC"
    assert reset_schedule("month", 23) == "on the 1st of each month at 23:00 UTC"


def test_a_later_start_says_what_no_longer_counts():
    before = pot(MONDAY, 7, spent=26)
    after = pot(MONDAY + timedelta(days=2), 1, spent=13, extra_seconds=20, reserved_seconds=5)
    text = period_change_text("day", 0, before, after, 0.112)
    assert "The budget resets every day at 00:00 UTC." in text
    assert f"This day is now counted from <t:{int(after.period_start.timestamp())}:f>" in text
    assert "13 s ($1.456) so far, 5 s in flight, 602 s left of 620 s." in text
    assert "The 13 s charged before that no longer count." in text
    assert "The 20 s of one-off top-ups stay until the reset." in text
    assert f"Next reset: <t:{int(after.period_end.timestamp())}:R>" in text


def test_a_longer_period_takes_in_earlier_charges_and_an_unmoved_one_says_so():
    day = pot(MONDAY + timedelta(days=2), 1, spent=13)
    week = pot(MONDAY, 7, spent=26)
    assert "That takes in 13 s charged earlier in the week." in period_change_text("week", 0, day, week, 0.112)
    same = period_change_text("week", 0, week, week, 0.112)
    assert "that has not moved" in same and "no longer" not in same and "takes in" not in same
