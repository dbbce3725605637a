from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import BudgetExhausted, FalAccountProblem, ImageRejected, InputRejected
from bot.models import FailureReason, Job, JobState, LogEvent
from cogs import render, render_answers
from cogs.errors import user_text
from cogs.render_admin import log_text

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)
JOB = Job(
    id=7,
    guild_id=1,
    channel_id=2,
    user_id=3,
    prompt="@Image1 melts into @Image2 @everyone <@&55>",
    duration=5,
    price_micros=560_000,
    model="fal-ai/kling-video/o1/image-to-video",
    state=JobState.QUEUED,
    created_at=T0,
    updated_at=T0,
    upload_limit=10 * 1024 * 1024,
    queue_position=2,
    started_at=T0 + timedelta(seconds=30),
    finished_at=T0 + timedelta(seconds=95),
    failure=FailureReason.FAL_ERROR,
    failure_detail="Out of GPUs",
    video_size=23_400_000,
    video_url="https://v3.fal.media/files/x/output.mp4",
)


def within_discord_limits(embed) -> bool:
    data = embed.to_dict()
    total = len(data.get("title", "")) + len(data.get("description", "")) + len(data.get("footer", {}).get("text", ""))
    for f in data.get("fields", []):
        assert len(f["name"]) <= 256 and len(f["value"]) <= 1024
        total += len(f["name"]) + len(f["value"])
    return len(data.get("title", "")) <= 256 and len(data.get("description", "")) <= 4096 and total <= 6000


@pytest.mark.parametrize("state", list(JobState))
def test_card_embed_every_state_fits_discord(state):
    embed = render.card_embed(replace(JOB, state=state, prompt="x" * 2500))
    assert within_discord_limits(embed)
    assert embed.footer.text.startswith("Tween job 7")


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (JobState.QUEUED, "2 ahead"),
        (JobState.RUNNING, "Generating since <t:"),
        (JobState.DELIVERED, "Done in 1 min 35 s"),
        (JobState.FAILED, "Failed: fal.ai couldn't make this video (Out of GPUs). 5 s refunded."),
        (JobState.SUBMIT_UNKNOWN, "Unknown"),
    ],
)
def test_state_line(state, text):
    assert text in render.state_line(replace(JOB, state=state))


def test_queue_positions_say_whose_queue_they_are():
    assert render.state_line(replace(JOB, queue_position=0)) == "⏳ In fal.ai's queue — next at fal"
    assert render.state_line(replace(JOB, queue_position=3)) == "⏳ In fal.ai's queue — 3 ahead at fal"
    assert "then usually about 2 min to make" in render.state_line(JOB, usual=130)
    waiting = replace(JOB, state=JobState.WAITING)
    assert render.state_line(replace(waiting, queue_position=0)).endswith("next in line here")
    assert render.state_line(waiting).endswith("2 ahead in line here")


def test_a_running_job_says_how_long_it_usually_takes_and_when_it_should_be_ready():
    line = render.state_line(replace(JOB, state=JobState.RUNNING), usual=125)
    ready = int((JOB.started_at + timedelta(seconds=125)).timestamp())
    since = int(JOB.started_at.timestamp())
    assert line == f"🎞️ Generating since <t:{since}:R> · usually about 2 min · ready <t:{ready}:R>"
    assert render.about(40) == "under a minute"
    assert render.about(61) == "about 1 min"


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        (
            {"state": JobState.CANCELLED, "cancel_requested_by": 3},
            "-# 🚫 Tween #7 by <@3> was cancelled by <@3> before fal.ai started it · 5 s refunded",
        ),
        (
            {"state": JobState.FAILED, "failure": FailureReason.DENIED, "decided_by": 9},
            "-# 🚫 Tween #7 by <@3> was denied by <@9> · 5 s refunded",
        ),
        (
            {"state": JobState.FAILED, "failure": FailureReason.STUCK, "failure_detail": None},
            "-# ❌ Tween #7 by <@3> didn't start: fal.ai's queue was too slow, so Tween cancelled it there"
            " · 5 s refunded",
        ),
    ],
)
def test_a_job_that_ended_before_fal_started_is_one_line(changes, line):
    job = replace(JOB, started_at=None, **changes)
    assert render.ended_before_fal(job)
    assert render.ended_line(job) == line


def test_a_job_fal_started_keeps_its_card():
    assert not render.ended_before_fal(replace(JOB, state=JobState.FAILED))
    # A run that failed at fal may have started between two looks: it keeps its card and its notice.
    assert not render.ended_before_fal(replace(JOB, state=JobState.FAILED, started_at=None, request_id="r-1"))
    assert render.ended_before_fal(replace(JOB, state=JobState.FAILED, started_at=None, request_id=None))
    assert "· v1" not in render.ended_line(replace(JOB, state=JobState.CANCELLED, version=1))
    assert "Tween #7 · v3 by" in render.ended_line(replace(JOB, state=JobState.CANCELLED, version=3))
    assert not render.ended_before_fal(replace(JOB, state=JobState.DELIVERED, started_at=None))


def test_card_shows_price_and_requester_and_prompt_quoted():
    embed = render.card_embed(JOB)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Duration"] == "5 s · $0.56"
    assert fields["Asked by"] == "<@3>"
    assert embed.description.startswith("> @Image1 melts")


def test_result_embed_link_says_why_in_words_members_know():
    embed = render.result_embed(replace(JOB, video_problem="does_not_fit"), link=JOB.video_url)
    text = " ".join(f.value for f in embed.fields)
    assert "10 MB upload limit" in text and JOB.video_url in text
    assert embed.footer.text == "Tween job 7"
    broken = render.result_embed(replace(JOB, video_problem="undecodable"), link=JOB.video_url)
    assert "did not open as a playable video" in " ".join(f.value for f in broken.fields)
    refused = render.result_embed(JOB, link=JOB.video_url)
    assert "22.3 MB" in " ".join(f.value for f in refused.fields)  # 23,400,000 bytes, as Discord counts


def test_details_say_when_the_attachment_was_reencoded():
    done = replace(JOB, state=JobState.DELIVERED, video_size=27_588_984, posted_size=10_170_000, posted_height=1080)
    line = next(f.value for f in render_answers.details_embed(done).fields if f.name == "Attachment")
    assert "Re-encoded from 26.3 MB to 9.7 MB at 1080p" in line and "10 MB upload limit" in line
    assert "Full quality" in line
    as_is = replace(done, posted_size=27_588_984)
    assert not any(f.name == "Attachment" for f in render_answers.details_embed(as_is).fields)


def test_failure_and_unknown_texts():
    assert "refunded" in render.failure_text(replace(JOB, state=JobState.FAILED))
    unknown = render.failure_text(replace(JOB, state=JobState.SUBMIT_UNKNOWN))
    assert "won't send it twice" in unknown and "reserved" in unknown


def test_thread_name_short_and_single_line():
    name = render.thread_name(replace(JOB, prompt="line one\nline two " + "y" * 200))
    assert len(name) <= 90 and "\n" not in name and name.startswith("Tween #7 · line one line two")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ImageRejected("start", "too_small", width=200, height=640, min_side=300), "200×640 px"),
        (ImageRejected("end", "bad_aspect", ratio=2.6, min_ratio=0.4, max_ratio=2.5), "too wide"),
        (ImageRejected("start", "not_an_image"), "PNG, JPEG or WebP"),
        (ImageRejected("start", "too_large", size=12_000_000, limit=10_000_000), "12.0 MB"),
        (
            ImageRejected("start", "too_many_pixels", width=8000, height=8000, limit=4096 * 4096, advice="jpeg"),
            "The start frame is 8000×8000 px (64.0 megapixels); Tween takes frames up to 16.8 megapixels "
            "(4096×4096 px). Scale it down, or send it as a JPEG: Tween shrinks big JPEGs itself.",
        ),
        (
            ImageRejected("end", "too_many_pixels", width=4096, height=4096, limit=2048**2, kind="WebP", advice="png"),
            "Tween takes WebP frames up to 4.2 megapixels (2048×2048 px). Scale it down, or send it as a PNG or JPEG.",
        ),
        (
            ImageRejected("start", "too_many_pixels", width=6000, height=4000, limit=4096**2, advice="baseline"),
            "save it as a standard JPEG rather than a progressive one",
        ),
        (
            ImageRejected("end", "too_many_pixels", limit=1920 * 1080),
            "far too many pixels to open. Tween takes frames up to 2.1 megapixels (1440×1440 px): scale it down",
        ),
        (InputRejected("empty_prompt"), "prompt is empty"),
        (InputRejected("long_prompt", length=2600, limit=2500), "2600 characters"),
    ],
)
def test_user_text_is_specific_and_says_nothing_spent(error, expected):
    text = user_text(error)
    assert expected in text and "Nothing was charged" in text


def test_budget_text_says_left_and_reset():
    text = user_text(BudgetExhausted(needed=5, remaining=3, resets_at=T0, price_per_second=0.112))
    assert "3 s ($0.336) left" in text and f"<t:{int(T0.timestamp())}:R>" in text


def test_budget_text_prices_what_is_left_at_the_tier_the_error_carries():
    text = user_text(BudgetExhausted(needed=5, remaining=3, resets_at=T0, price_per_second=0.084))
    assert "3 s ($0.252) left" in text
    assert "3 s left" in user_text(BudgetExhausted(needed=5, remaining=3, resets_at=T0))


def test_unknown_errors_have_no_user_text():
    assert user_text(RuntimeError("bug")) == ""


def test_submitted_text_never_says_on_its_way_for_a_job_that_failed_to_start():
    failed = render_answers.submitted_text(replace(JOB, state=JobState.FAILED, failure=FailureReason.FAL_UNREACHABLE))
    assert "on its way" not in failed and "refunded" in failed
    assert "on its way" in render_answers.submitted_text(JOB)


def test_an_account_problem_is_not_called_a_network_problem():
    locked = FalAccountProblem(403, "User is locked. Reason: EXHAUSTED_BALANCE")
    text = user_text(locked)
    assert "account needs attention" in text and "Nothing was charged" in text and "reached" not in text
    failed = replace(JOB, state=JobState.FAILED, failure=FailureReason.FAL_ACCOUNT)
    assert "account needs attention" in render.failure_text(failed)
    line = log_text(LogEvent(1, "fal_account", detail={"status": 401, "detail": "No user found"}), 0.112)
    assert "rejected its API key" in line and "<@" not in line
    assert all(reason in render.FAILURES for reason in FailureReason)


def test_cancel_answers_say_what_happens_to_the_money():
    assert "refunded" in render_answers.cancel_text(replace(JOB, state=JobState.CANCELLED), refunded=True)
    asked = render_answers.cancel_text(replace(JOB, state=JobState.RUNNING), refunded=False)
    assert "If fal stops it" in asked and "charged" in asked and "refunded." not in asked.split("If")[0]
    sending = render_answers.cancel_text(replace(JOB, state=JobState.SUBMITTING), refunded=False)
    assert "the moment it arrives" in sending
    assert "Too late" in render_answers.cancel_text(replace(JOB, state=JobState.QUEUED), refunded=False, too_late=True)
    late = render.result_embed(replace(JOB, state=JobState.DELIVERED, cancel_requested_by=42), link=None)
    assert any(field.name == "Cancel came too late" for field in late.fields)


def test_a_prompt_is_shown_as_typed_never_as_markdown_or_mentions():
    shown = render.quote("# Big\n- item\n[free nitro](https://evil.example) <@123456789012345678> @everyone **bold**")
    assert shown.splitlines()[:2] == ["> \\# Big", "> \\- item"]
    assert "\\[free nitro](" in shown and "\\*\\*bold\\*\\*" in shown
    assert "<@123456789012345678>" not in shown and "@everyone" not in shown


def test_a_long_prompt_is_cut_on_the_card_and_says_so():
    many = render.quote("\n".join(f"line {i}" for i in range(1250)))
    assert len(many.splitlines()) == render.CARD_PROMPT_LINES + 1 and many.endswith(render.SHORTENED)
    wide = render.quote("y" * 2500)
    assert len(wide) <= render.CARD_PROMPT_CHARS + len(render.SHORTENED) + 1 and "…" in wide
    assert not render.quote("short and sweet").endswith(render.SHORTENED)


def test_details_keep_every_line_of_the_longest_prompt_within_discords_limit():
    prompt = "\n".join(f"l{i}" for i in range(800))[:2500] + "```"
    embed = render_answers.details_embed(replace(JOB, prompt=prompt))
    assert len(embed.description or "") <= 4096 and embed.description.count("\n") == prompt.count("\n") + 2
    assert within_discord_limits(embed)
