"""Moderation and budgets through the real services, fal client and tracker against the fake fal."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.errors import BudgetExhausted, CannotCancel, JobNotFound, NotModerator, Refused
from bot.models import FailureReason, JobState, PotScope
from bot.services.usage import Names
from tests.fakes.fal_server import FakeFal, JobScript
from tests.integration.conftest import GUILD, MOD, member, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import ledger, settled
from tests.support.publisher import RecordingPublisher
from tests.support.waiting import wait_until

LOG_CHANNEL = 4444


@pytest.fixture
def roomy(fake_fal, tmp_path):
    return settings_for(fake_fal, tmp_path, budget={"default_seconds": 1000, "member_seconds": 1000})


async def test_member_cap_queues_jobs_that_start_by_themselves_in_order(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, concurrency={"per_member": 1}, budget={"member_seconds": 100})
    # Held in fal's queue until released: a timed queue phase could end before the first look (the job would
    # read RUNNING, not QUEUED) or before the release (which would then hold it running for ever).
    fake_fal.script_next(JobScript(queue_seconds=None, run_seconds=0.05))
    async with open_stack(settings) as stack:
        first = await stack.services.jobs.submit(tween_request())
        second = await stack.services.jobs.submit(tween_request())
        third = await stack.services.jobs.submit(tween_request())
        assert (first.state, second.state, third.state) == (JobState.QUEUED, JobState.WAITING, JobState.WAITING)
        assert stack.publisher.latest(third.id).queue_position == 1  # one ahead of it
        assert len(fake_fal.submits) == 1
        fake_fal.release(fake_fal.submits[0].request_id)
        done = [await settled(stack, job.id, JobState.DELIVERED) for job in (first, second, third)]
    assert [s.request_id for s in fake_fal.submits] == [job.request_id for job in done]


async def test_fifty_members_at_once_against_a_budget_for_ten(fake_fal: FakeFal, tmp_path):
    settings = settings_for(
        fake_fal,
        tmp_path,
        budget={"default_seconds": 50, "member_seconds": 50},
        concurrency={"per_guild": 4, "total": 4},
    )
    async with open_stack(settings) as stack:
        results = await asyncio.gather(
            *(stack.services.jobs.submit(tween_request(who=member(100 + n))) for n in range(50)),
            return_exceptions=True,
        )
        accepted = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BudgetExhausted)]
        assert (len(accepted), len(refused)) == (10, 40)
        for job in accepted:
            await settled(stack, job.id, JobState.DELIVERED)
        pot = await stack.services.budget.guild_pot(GUILD)
        assert (pot.spent_seconds, pot.reserved_seconds, pot.remaining_seconds) == (50, 0, 0)
    assert len(fake_fal.submits) == 10
    peak = max(
        sum(1 for s in fake_fal.submits if s.received_at <= t) - 0 for t in [s.received_at for s in fake_fal.submits]
    )
    assert peak == 10


async def test_approval_then_approve_runs_and_deny_refunds(fake_fal: FakeFal, roomy):
    async with open_stack(roomy) as stack:
        await stack.services.moderation.configure(MOD, "approval", approval="always")
        await stack.services.moderation.configure(MOD, "log_channel", log_channel_id=LOG_CHANNEL)
        approved = await stack.services.jobs.submit(tween_request())
        denied = await stack.services.jobs.submit(tween_request(duration=7))
        assert approved.state is denied.state is JobState.AWAITING_APPROVAL
        assert stack.publisher.approvals == {approved.id: LOG_CHANNEL, denied.id: LOG_CHANNEL}
        assert fake_fal.submits == []
        # Held in fal's queue until the deny is done, so the ledger's order does not depend on timing.
        fake_fal.script_next(JobScript(queue_seconds=None))
        await stack.services.moderation.decide(MOD, approved.id, approve=True)
        after = await stack.services.moderation.decide(MOD, denied.id, approve=False)
        assert (
            after.state is JobState.FAILED and after.failure is FailureReason.DENIED and after.decided_by == MOD.user_id
        )
        fake_fal.release(fake_fal.submits[0].request_id)
        await settled(stack, approved.id, JobState.DELIVERED)
        await wait_until(lambda: any(n.id == denied.id for n in stack.publisher.notices), what="deny notice")
        assert await ledger(stack) == [("reserve", 5), ("reserve", 7), ("refund", 7), ("charge", 5)]
        assert {j.id for j in stack.publisher.closed_approvals} == {approved.id, denied.id}
        actions = [e.action for _, e in stack.publisher.logs]
        assert "approve" in actions and "deny" in actions
    assert len(fake_fal.submits) == 1


async def test_approval_only_over_a_duration(fake_fal: FakeFal, roomy):
    async with open_stack(roomy) as stack:
        await stack.services.moderation.configure(MOD, "approval", approval="over", approval_seconds=5)
        fake_fal.script_next(JobScript(queue_seconds=None))  # still queued at fal when submit() reads it back
        short = await stack.services.jobs.submit(tween_request(duration=5))
        long = await stack.services.jobs.submit(tween_request(duration=6))
        assert short.state is JobState.QUEUED and long.state is JobState.AWAITING_APPROVAL


async def test_cancel_waiting_queued_and_running(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, concurrency={"per_member": 2}, budget={"member_seconds": 100})
    fake_fal.script_next(JobScript(queue_seconds=None), JobScript(queue_seconds=0, run_seconds=None))
    async with open_stack(settings) as stack:
        queued = await stack.services.jobs.submit(tween_request())
        running = await stack.services.jobs.submit(tween_request())
        waiting = await stack.services.jobs.submit(tween_request())
        await settled(stack, running.id, JobState.RUNNING)
        assert waiting.state is JobState.WAITING

        outcome = await stack.services.moderation.cancel(member(), waiting.id)
        assert outcome.refunded and outcome.job.state is JobState.CANCELLED
        outcome = await stack.services.moderation.cancel(member(), queued.id)
        assert not outcome.refunded and outcome.job.state is JobState.QUEUED  # refunded once fal confirms
        await settled(stack, queued.id, JobState.CANCELLED)
        assert fake_fal.cancelled == {fake_fal.submits[0].request_id}

        outcome = await stack.services.moderation.cancel(member(), running.id)
        assert not outcome.refunded and outcome.job.cancel_requested_by == member().user_id
        fake_fal.release(fake_fal.submits[1].request_id)  # fal finished it anyway: billed and delivered
        await settled(stack, running.id, JobState.DELIVERED)
        with pytest.raises(CannotCancel):
            await stack.services.moderation.cancel(member(), running.id)
        lines = await ledger(stack)
        assert sorted(lines) == sorted([("reserve", 5)] * 3 + [("refund", 5)] * 2 + [("charge", 5)])


async def test_only_the_owner_or_a_moderator_may_cancel(fake_fal: FakeFal, roomy):
    fake_fal.script_next(JobScript(queue_seconds=None))
    async with open_stack(roomy) as stack:
        job = await stack.services.jobs.submit(tween_request())
        with pytest.raises(CannotCancel):
            await stack.services.moderation.cancel(member(5555), job.id)
        assert (await stack.services.moderation.cancel(MOD, job.id)).job.cancel_requested_by == MOD.user_id
        await settled(stack, job.id, JobState.CANCELLED)  # fal confirmed: refunded then


async def test_guilds_cannot_see_or_touch_each_other(fake_fal: FakeFal, roomy):
    fake_fal.script_next(JobScript(queue_seconds=None))
    other_mod = member(8008, moderator=True, guild_id=GUILD + 1)
    async with open_stack(roomy) as stack:
        job = await stack.services.jobs.submit(tween_request())
        for attempt in (
            stack.services.moderation.cancel(other_mod, job.id),
            stack.services.moderation.decide(other_mod, job.id, approve=False),
        ):
            with pytest.raises(JobNotFound):
                await attempt
        await stack.services.moderation.configure(other_mod, "budget", guild_seconds=1)
        assert (await stack.services.budget.guild_pot(GUILD)).limit_seconds == 1000
        assert await stack.services.jobs.queue(GUILD + 1, [JobState.QUEUED]) == []


async def test_moderation_is_checked_again_at_run_time(fake_fal: FakeFal, roomy):
    async with open_stack(roomy) as stack:
        moderation = stack.services.moderation
        for attempt in (
            moderation.configure(member(), "pause", paused=1),
            moderation.add_seconds(member(), PotScope.GUILD, GUILD, 100),
            moderation.block(member(), 1, None),
            moderation.set_entry(member(), "banned_words", "x"),
            stack.services.usage.report(member()),
        ):
            with pytest.raises(NotModerator):
                await attempt
        assert (await moderation.policy(GUILD)).paused is False


@pytest.mark.parametrize("rule", ["paused", "blocked", "channel", "banned_word"])
async def test_guild_rules_refuse_before_anything_is_spent(fake_fal: FakeFal, roomy, rule):
    async with open_stack(roomy) as stack:
        moderation = stack.services.moderation
        if rule == "paused":
            await moderation.configure(MOD, "pause", paused=1)
        elif rule == "blocked":
            await moderation.block(MOD, member().user_id, "spam")
        elif rule == "channel":
            await moderation.set_entry(MOD, "tween_channels", 777)
        else:
            await moderation.set_entry(MOD, "banned_words", "turns")
        with pytest.raises(Refused) as caught:
            await stack.services.jobs.submit(tween_request())
        assert caught.value.reason == rule
        assert await ledger(stack) == []
    assert fake_fal.requests == []


async def test_budget_warning_is_posted_once_per_period(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 10, "member_seconds": 10, "warn_at": 0.8})
    async with open_stack(settings) as stack:
        await stack.services.moderation.configure(MOD, "log_channel", log_channel_id=LOG_CHANNEL)
        first = await stack.services.jobs.submit(tween_request(duration=4))
        await settled(stack, first.id, JobState.DELIVERED)
        second = await stack.services.jobs.submit(tween_request(duration=5))
        await settled(stack, second.id, JobState.DELIVERED)
        await wait_until(lambda: sum(e.action == "job" for _, e in stack.publisher.logs) == 2, what="job lines")
        warnings = [e for _, e in stack.publisher.logs if e.action == "budget_warning"]
        jobs = [e for _, e in stack.publisher.logs if e.action == "job"]
    assert len(warnings) == 1 and warnings[0].pot.spent_seconds == 9
    assert {e.job.id for e in jobs} == {first.id, second.id}


async def test_waiting_jobs_survive_a_restart(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, concurrency={"per_member": 1}, budget={"member_seconds": 100})
    # Held in the queue, not after a timed one: a release before that phase ended would hold it running for ever.
    fake_fal.script_next(JobScript(queue_seconds=None, run_seconds=0.05))
    publisher = RecordingPublisher()
    async with open_stack(settings, publisher) as first:
        running = await first.services.jobs.submit(tween_request())
        waiting = await first.services.jobs.submit(tween_request())
        assert waiting.state is JobState.WAITING
    async with open_stack(settings, publisher) as second:
        fake_fal.release(fake_fal.submits[0].request_id)
        await settled(second, running.id, JobState.DELIVERED)
        await settled(second, waiting.id, JobState.DELIVERED)
    assert len(fake_fal.submits) == 2


async def test_standard_tier_uses_the_cheaper_endpoint_and_price(fake_fal: FakeFal, roomy):
    async with open_stack(roomy) as stack:
        await stack.services.moderation.configure(MOD, "tier", tier="standard")
        job = await stack.services.jobs.submit(tween_request(duration=5))
    assert fake_fal.submits[0].model == "fal-ai/kling-video/o1/standard/image-to-video"
    assert job.price_micros == 420_000


async def test_usage_report_counts_charged_jobs_per_member_and_channel(fake_fal: FakeFal, roomy):
    fake_fal.script_next(JobScript(), JobScript(), JobScript(outcome="error"))
    async with open_stack(roomy) as stack:
        jobs = [
            await stack.services.jobs.submit(tween_request(who=member(uid), duration=d))
            for uid, d in ((1, 5), (2, 7), (2, 3))
        ]
        await settled(stack, jobs[0].id, JobState.DELIVERED)
        await settled(stack, jobs[1].id, JobState.DELIVERED)
        await settled(stack, jobs[2].id, JobState.FAILED)
        report = await stack.services.usage.report(MOD)
        pot = await stack.services.budget.guild_pot(MOD.guild_id)
    named = report.named(Names())
    assert [(r.subject_id, r.seconds) for r in named.members] == [(2, 7), (1, 5)]
    assert report.total_seconds == 12 == pot.spent_seconds and report.total_micros == 1_344_000
    assert named.csv.decode("utf-8-sig").count("\n") == 4  # header and three jobs (the failed one too)


@pytest.mark.parametrize("billed", [True, False])
async def test_moderator_settles_an_unknown_submit(fake_fal: FakeFal, roomy, billed):
    from tests.fakes.fal_server import Fault

    # The connection drops after fal queued the job (it runs and bills), or before fal had it (nothing to bill).
    fake_fal.inject(Fault(route="submit", drop=True, after_effect=billed))
    async with open_stack(roomy) as stack:
        job = await stack.services.jobs.submit(tween_request())
        assert job.state is JobState.SUBMIT_UNKNOWN
        if billed:  # what the moderator reads on fal's dashboard before settling
            await wait_until(lambda: fake_fal.bill, what="fal's bill for the lost submit")
        with pytest.raises(NotModerator):
            await stack.services.moderation.settle(member(), job.id, billed=billed)
        settled = await stack.services.moderation.settle(MOD, job.id, billed=billed)
        assert settled.state is (JobState.UNDELIVERABLE if billed else JobState.FAILED)
        assert await ledger(stack) == [("reserve", 5), ("charge" if billed else "refund", 5)]
        with pytest.raises(CannotCancel):
            await stack.services.moderation.settle(MOD, job.id, billed=billed)


async def test_settings_events_carry_what_the_setting_was(fake_fal: FakeFal, tmp_path):
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        moderation = stack.services.moderation
        await moderation.configure(MOD, "log_channel", log_channel_id=LOG_CHANNEL)
        await moderation.configure(MOD, "budget", guild_seconds=300, period="week")
        await moderation.set_entry(MOD, "role_allowances", 55, 120)
        await moderation.set_entry(MOD, "role_allowances", 55, 200)
        await moderation.remove_entry(MOD, "role_allowances", 55)
        await moderation.configure(MOD, "caps", member_concurrency=2, guild_concurrency=5)
        await wait_until(lambda: len(stack.publisher.logs) == 6, what="six log events")
        details = [e.detail or {} for _, e in stack.publisher.logs]
        assert details[0]["was"] == {"log_channel_id": None}
        before = stack.settings.budget
        assert details[1]["was"] == {"guild_seconds": before.default_seconds, "period": before.period}
        assert details[1]["period"] == "week"
        assert [d["was"] for d in details[2:5]] == [None, 120, 200]
        assert details[2]["period"] == "week"
        assert set(details[5]["was"]) == {"member_concurrency", "guild_concurrency"}
        audit = await moderation.audit_log(GUILD)
        assert any(json.loads(entry["detail"]).get("was") == 120 for entry in audit)  # the audit keeps it too


async def test_a_job_needing_approval_shows_it_on_its_first_card_and_starts_once_approved(fake_fal: FakeFal, roomy):
    async with open_stack(roomy) as stack:
        await stack.services.moderation.configure(MOD, "approval", approval="always")
        await stack.services.moderation.configure(MOD, "approver", approver_role_id=4242)
        job = await stack.services.jobs.submit(tween_request())
        first, *later = stack.publisher.cards[job.id]
        assert first.state is JobState.AWAITING_APPROVAL and later == []  # posted so, not edited into it
        assert job.approval_message_id is not None and stack.publisher.approvals == {job.id: None}
        fake_fal.script_next(JobScript(queue_seconds=None))
        decided = await stack.services.moderation.decide(MOD, job.id, approve=True)
        assert decided.state is JobState.QUEUED and decided.decided_by == MOD.user_id  # started, as the mod is told
        fake_fal.release(fake_fal.submits[0].request_id)
        await settled(stack, job.id, JobState.DELIVERED)


async def test_seconds_only_servers_refuse_without_dollars(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 4})
    async with open_stack(settings) as stack:
        assert await stack.services.budget.dollars_shown(GUILD)
        with pytest.raises(BudgetExhausted) as priced:
            await stack.services.jobs.submit(tween_request())
        assert priced.value.price_per_second == 0.112
        policy = await stack.services.moderation.configure(MOD, "prices", seconds_only=1)
        assert policy.seconds_only and not await stack.services.budget.dollars_shown(GUILD)
        with pytest.raises(BudgetExhausted) as unpriced:
            await stack.services.jobs.submit(tween_request())
        assert unpriced.value.price_per_second is None
        (entry,) = [e for e in await stack.services.moderation.audit_log(GUILD) if e["action"] == "prices"]
        assert json.loads(entry["detail"])["was"] == {"seconds_only": 0}
