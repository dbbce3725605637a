"""Money said once and as the server wants it: what an approval request, the deciding moderator, the buttons, the
Remix form and a seconds-only server show."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.models import FailureReason, JobState, PotScope, PotState
from bot.pricing import cost, format_seconds_price
from bot.tiers import Tier
from cogs import render, render_answers
from cogs.buttons import RemixModal, duration_label, result_view
from cogs.jobs import approvers_only
from cogs.render_admin import approval_embed, approval_request_text, decision_text, queue_embed, quota_embed
from cogs.tween import duration_choices
from tests.unit.test_render import JOB, T0

MOD = 900
ROLE = 55
PRO = Tier("pro", "fal-ai/kling-video/o1/image-to-video", 0.112, 3, 10, 5, "kling_o1")
WAITING_FOR_APPROVAL = replace(
    JOB, state=JobState.AWAITING_APPROVAL, end_url="https://fal/end.png", queue_position=None, failure=None
)


def test_one_helper_says_seconds_and_dollars_or_seconds_only():
    assert cost(10, 1_120_000) == "10 s ($1.12)"
    assert cost(10, 1_120_000, inline=True) == "10 s · $1.12"
    assert cost(10, 1_120_000, dollars=False) == cost(10, 1_120_000, dollars=False, inline=True) == "10 s"
    assert format_seconds_price(5, 0.112, dollars=False) == "5 s"


def test_the_approval_request_shows_frames_price_who_and_where():
    embed = approval_embed(WAITING_FOR_APPROVAL).to_dict()
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields == {"Asked by": "<@3>", "Where": "<#2>", "Duration and price": "5 s ($0.56)"}
    assert embed["image"]["url"] == f"attachment://{render.PREVIEW_NAME}"
    assert "start frame → end frame" in embed["footer"]["text"]
    assert "@everyone" not in embed["description"].replace("\\@everyone", "")  # the prompt, escaped
    decided = approval_embed(replace(WAITING_FOR_APPROVAL, state=JobState.WAITING, decided_by=MOD)).to_dict()
    assert {"name": "Decision", "value": f"✅ Approved by <@{MOD}>", "inline": False} in decided["fields"]


def test_the_request_line_names_the_approver_role_and_it_alone_may_ping():
    assert approval_request_text(WAITING_FOR_APPROVAL, None).startswith("🛂 Tween #7 by <@3> in <#2> waits")
    pinging = approval_request_text(WAITING_FOR_APPROVAL, ROLE)
    assert pinging.startswith(f"<@&{ROLE}> 🛂 Tween #7") and "5 s ($0.56)" in pinging
    assert approvers_only(ROLE).to_dict() == {"parse": [], "roles": [ROLE]}
    assert approvers_only(None).to_dict() == {"parse": []}


def test_the_deciding_moderator_is_told_what_happened_and_to_whom():
    started = replace(WAITING_FOR_APPROVAL, state=JobState.SUBMITTING, decided_by=MOD)
    assert decision_text(started, MOD, approve=True) == (
        "✅ Approved, starting now: Tween #7 by <@3>, 5 s ($0.56). Its card shows how it goes."
    )
    refused = replace(started, state=JobState.FAILED, failure=FailureReason.FAL_REJECTED, failure_detail="bad")
    failed_at_once = decision_text(refused, MOD, approve=True)
    assert failed_at_once.endswith("Now: ❌ Failed: fal.ai refused the input (bad). 5 s refunded.")
    waiting = decision_text(replace(started, state=JobState.WAITING), MOD, approve=True)
    assert waiting.startswith("✅ Approved Tween #7 by <@3>") and "waits its turn" in waiting
    denied = replace(started, state=JobState.FAILED, failure=FailureReason.DENIED)
    assert "<@3>'s 5 s ($0.56) were refunded" in decision_text(denied, MOD, approve=False)
    assert decision_text(denied, MOD + 1, approve=True).startswith("Nothing to decide: Tween #7")
    cancelled = replace(WAITING_FOR_APPROVAL, state=JobState.CANCELLED, failure=FailureReason.CANCELLED)
    assert "no longer waits for approval" in decision_text(cancelled, MOD, approve=False)


def test_the_card_waits_for_approval_and_then_says_it_was_approved():
    assert "Waiting for a moderator's approval" in render.state_line(WAITING_FOR_APPROVAL)
    approved = replace(WAITING_FOR_APPROVAL, decided_by=MOD)
    assert render.state_line(replace(approved, state=JobState.SUBMITTING)) == "✅ Approved · 📤 Sending to fal.ai…"
    assert render.state_line(replace(approved, state=JobState.WAITING, queue_position=0)).startswith("✅ Approved · ")
    assert render.state_line(replace(approved, state=JobState.RUNNING)).startswith("🎞️ Generating")
    assert render.state_line(replace(JOB, state=JobState.SUBMITTING)) == "📤 Sending to fal.ai…"


def test_the_member_hears_of_a_denial_without_the_moderator_being_pinged_by_name():
    denied = replace(WAITING_FOR_APPROVAL, state=JobState.FAILED, failure=FailureReason.DENIED, decided_by=MOD)
    text = render.failure_text(denied)
    assert text == (
        f"🚫 <@3>, Tween #7 was denied by <@{MOD}>, so it was not made and nothing was charged: your 5 s ($0.56) "
        "were refunded."
    )
    assert "$" not in render.failure_text(denied, dollars=False)


def test_buttons_show_what_the_next_version_costs_and_keep_their_ids():
    view = result_view(7, 2, seconds=10)
    labels = [(i.custom_id, i.item.label) for i in view.children]
    assert labels == [
        ("tween:reroll:7", "🔁 Re-roll · 10 s"),
        ("tween:remix:7", "✏️ Remix · 10 s"),
        ("tween:swap:7", "⇄ Swap frames · 10 s"),
        ("tween:details:7", "ℹ️ Details"),
        ("tween:vote:7", "👍 2"),
    ]
    assert next(i.item.label for i in result_view(7, 2).children) == "🔁 Re-roll"


async def test_the_remix_form_is_priced_and_starts_from_the_last_duration():
    modal = RemixModal(replace(JOB, duration=7, version=3), 2500, PRO)
    assert modal.title == "Remix Tween #7 · v3"
    duration = modal.to_components()[1]["components"][0]
    assert (duration["label"], duration["value"]) == ("Duration in seconds (3–10, $0.112 each)", "7")
    assert len(duration["label"]) <= 45  # Discord's limit for a text input's label
    assert duration_label(PRO, dollars=False) == "Duration in seconds (3–10)"
    assert len(duration_label(replace(PRO, price_per_second=12.345), dollars=True)) <= 45


POT = PotState(1, 1, PotScope.MEMBER, 3, 30, 0, 5, 0, T0, T0)


@pytest.mark.parametrize("dollars", [True, False])
def test_seconds_only_reaches_every_member_text(dollars: bool):
    job = replace(JOB, state=JobState.QUEUED)
    texts = [
        render_answers.submitted_text(job, [POT], dollars=dollars),
        render_answers.submitted_text(replace(job, state=JobState.WAITING), dollars=dollars),
        render_answers.cancel_text(job, refunded=True, dollars=dollars),
        render.failure_text(replace(job, state=JobState.FAILED), dollars=dollars),
        str(render.card_embed(job, dollars=dollars).to_dict()),
        str(render.result_embed(job, link=None, dollars=dollars).to_dict()),
        str(render_answers.details_embed(job, dollars=dollars).to_dict()),
        " ".join(c.name for c in duration_choices(PRO, dollars=dollars)),
        str(queue_embed([job], dollars=dollars).to_dict()),
    ]
    for text in texts:
        assert ("$" in text) is dollars, text
        assert "5 s" in text or "3 s" in text


def test_quota_in_seconds_only_names_the_tier_not_its_price():
    from bot.services import QuotaView

    guild = replace(POT, scope=PotScope.GUILD, subject_id=1, limit_seconds=60)
    view = QuotaView(guild, POT, None, 0, 0, 0)
    shown = str(quota_embed(view, PRO, paused=False, dollars=False).to_dict())
    assert "$" not in shown and "25 s left" in shown and "pro" in shown
    assert "$2.80" in str(quota_embed(view, PRO, paused=False).to_dict())
