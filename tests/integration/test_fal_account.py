"""When fal refuses Tween's key (401) or its account (403: locked, balance exhausted), members are told plainly that
the bot's fal account needs attention and that nothing was charged, moderators hear it once, and new videos pause
bot-wide until fal accepts the account again."""

from __future__ import annotations

import pytest

from bot.errors import FalAccountProblem
from bot.models import FailureReason, JobState
from tests.fakes.fal_server import FakeFal
from tests.integration.conftest import MOD, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import ledger, settled
from tests.support.waiting import wait_until

LOG_CHANNEL = 4242


def account_settings(fake_fal: FakeFal, tmp_path, **fal):
    return settings_for(fake_fal, tmp_path, fal={"account_pause_after": 2, "account_probe_interval": 0.0, **fal})


async def test_a_locked_account_is_said_plainly_alerted_once_and_pauses_new_videos(fake_fal: FakeFal, tmp_path):
    fake_fal.account_lock = "EXHAUSTED_BALANCE"
    async with open_stack(account_settings(fake_fal, tmp_path)) as stack:
        await stack.services.moderation.configure(MOD, "log_channel", log_channel_id=LOG_CHANNEL)
        for _ in range(2):
            with pytest.raises(FalAccountProblem):
                await stack.services.jobs.submit(tween_request())
        failed = await stack.services.jobs.get(1)
        assert (failed.state, failed.failure) == (JobState.FAILED, FailureReason.FAL_ACCOUNT)
        alerts = [event for _, event in stack.publisher.logs if event.action == "fal_account"]
        assert len(alerts) == 1  # once per server, not once per refused job
        assert stack.fal.account.paused

        rows_before = await stack.db.fetch_all("SELECT id FROM jobs")
        fake_fal.account_lock = "EXHAUSTED_BALANCE"
        with pytest.raises(FalAccountProblem):
            await stack.services.jobs.submit(tween_request())  # refused before anything is reserved
        assert await stack.db.fetch_all("SELECT id FROM jobs") == rows_before

        fake_fal.account_lock = None  # the operator topped up the balance
        job = await stack.services.jobs.submit(tween_request())
        await settled(stack, job.id, JobState.DELIVERED)
        assert not stack.fal.account.paused
        assert await ledger(stack) == [("reserve", 5), ("refund", 5)] * 2 + [("reserve", 5), ("charge", 5)]


async def test_a_bad_key_is_an_account_problem_not_a_network_one(fake_fal: FakeFal, tmp_path):
    async with open_stack(account_settings(fake_fal, tmp_path, key="wrong-key")) as stack:
        with pytest.raises(FalAccountProblem) as caught:
            await stack.services.jobs.submit(tween_request())
        assert caught.value.status == 401
        pot = await stack.services.budget.guild_pot(1001)
        assert pot.reserved_seconds == 0 and pot.spent_seconds == 0


async def test_a_waiting_job_whose_submit_is_refused_by_the_account_is_refunded_and_told(fake_fal: FakeFal, tmp_path):
    async with open_stack(account_settings(fake_fal, tmp_path)) as stack:
        await stack.services.moderation.configure(MOD, "approval", approval="always")
        job = await stack.services.jobs.submit(tween_request())  # frames uploaded while the account was fine
        fake_fal.account_lock = "ADMIN_LOCK"
        await stack.services.moderation.decide(MOD, job.id, approve=True)
        failed = await settled(stack, job.id, JobState.FAILED)
        assert failed.failure is FailureReason.FAL_ACCOUNT
        await wait_until(lambda: any(n.id == job.id for n in stack.publisher.notices), what="the thread's notice")
