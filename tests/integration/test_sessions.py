"""Sessions through the real services against the fake fal: reuse, versions, who pays, lineage, votes."""

from __future__ import annotations

import pytest

from bot.errors import BudgetExhausted, InputRejected
from bot.models import JobState, PotScope
from bot.services import RawFrame
from bot.services.sessions import prompt_change
from tests.fakes.fal_server import FakeFal
from tests.integration.conftest import member, open_stack, settings_for, tween_request
from tests.integration.test_job_flow import settled
from tests.support.images import image_bytes

THREAD_MEMBER = 3003
LIMIT = 10 * 1024 * 1024


@pytest.fixture
def settings(fake_fal, tmp_path):
    return settings_for(
        fake_fal, tmp_path, budget={"default_seconds": 1000, "member_seconds": 20}, concurrency={"per_member": 4}
    )


async def first_version(stack):
    """A /tween in a channel; the recording publisher opens thread 1001 for it."""
    job = await stack.services.sessions.tween(
        member(),
        prompt="@Image1 melts into @Image2",
        duration=5,
        start=tween_request().start,
        end=tween_request().end,
        upload_limit=LIMIT,
    )
    await settled(stack, job.id, JobState.DELIVERED)
    return await stack.services.jobs.get(job.id)


def in_thread(job, user_id: int = THREAD_MEMBER):
    return member(user_id, channel_id=job.thread_id)


async def test_first_tween_opens_a_session_and_tween_inside_reuses_it(fake_fal: FakeFal, settings):
    async with open_stack(settings) as stack:
        v1 = await first_version(stack)
        assert (v1.version, v1.session_id) == (1, 1)
        v2 = await stack.services.sessions.tween(
            in_thread(v1), prompt=None, duration=None, start=None, end=None, upload_limit=LIMIT
        )
        await settled(stack, v2.id, JobState.DELIVERED)
    first, second = fake_fal.submits
    assert second.body == first.body  # same frames, same prompt, same duration: nothing uploaded again
    assert fake_fal.count("cdn_upload") == 2
    assert (v2.version, v2.parent_job_id, v2.session_id, v2.channel_id) == (2, v1.id, v1.session_id, v1.thread_id)


async def test_attachments_given_in_a_session_replace_the_frames(fake_fal: FakeFal, settings):
    async with open_stack(settings) as stack:
        v1 = await first_version(stack)
        new_data = image_bytes(500, 500, colour=(1, 2, 3))
        v2 = await stack.services.sessions.tween(
            in_thread(v1),
            prompt="now spinning",
            duration=7,
            start=RawFrame.of(new_data, "new.png"),
            end=None,
            upload_limit=LIMIT,
        )
        v3 = await stack.services.sessions.tween(
            in_thread(v1), prompt=None, duration=None, start=None, end=None, upload_limit=LIMIT
        )
    assert v2.start_url != v1.start_url and v2.end_url == v1.end_url
    assert fake_fal.uploads[v2.start_url].data == new_data
    assert (v3.start_url, v3.prompt, v3.duration, v3.parent_job_id) == (v2.start_url, "now spinning", 7, v2.id)


async def test_again_makes_the_next_version_in_a_thread_and_is_refused_elsewhere(fake_fal: FakeFal, settings):
    async with open_stack(settings) as stack:
        sessions = stack.services.sessions
        with pytest.raises(InputRejected, match="again_outside_thread"):
            await sessions.again(
                member(), prompt="p", duration=5, start=tween_request().start, end=None, upload_limit=LIMIT
            )
        assert fake_fal.count("cdn_upload") == 0  # refused before a frame was read or a second reserved
        untouched = await stack.services.budget.overview(member())
        assert untouched.member.reserved_seconds == untouched.member.spent_seconds == 0
        v1 = await first_version(stack)
        v2 = await sessions.again(in_thread(v1), prompt=None, duration=4, start=None, end=None, upload_limit=LIMIT)
    assert (v2.version, v2.parent_job_id, v2.start_url, v2.prompt, v2.duration) == (
        2,
        v1.id,
        v1.start_url,
        v1.prompt,
        4,
    )


async def test_follow_ups_are_paid_by_whoever_presses(fake_fal: FakeFal, settings):
    async with open_stack(settings) as stack:
        v1 = await first_version(stack)
        presser = in_thread(v1, user_id=777)
        sessions = stack.services.sessions
        reroll = await sessions.follow_up(presser, v1.id, "reroll", upload_limit=LIMIT)
        swap = await sessions.follow_up(presser, v1.id, "swap", upload_limit=LIMIT)
        remix = await sessions.follow_up(presser, swap.id, "remix", prompt="at sunset", duration=7, upload_limit=LIMIT)
        for job in (reroll, swap, remix):
            await settled(stack, job.id, JobState.DELIVERED)
        view = await stack.services.budget.overview(presser)
        assert view.member.spent_seconds == 5 + 5 + 7
        first_member = await stack.services.budget.overview(in_thread(v1, user_id=member().user_id))
        assert first_member.member.spent_seconds == 5
        with pytest.raises(BudgetExhausted) as caught:
            await sessions.follow_up(presser, v1.id, "reroll", upload_limit=LIMIT)
        assert caught.value.scope == PotScope.MEMBER
    assert (swap.start_url, swap.end_url) == (v1.end_url, v1.start_url)
    assert [(j.version, j.parent_job_id, j.origin) for j in (reroll, swap, remix)] == [
        (2, v1.id, "reroll"),
        (3, v1.id, "swap"),
        (4, swap.id, "remix"),
    ]
    assert fake_fal.submits[-1].body["prompt"] == "at sunset" and fake_fal.submits[-1].body["duration"] == "7"


async def test_lineage_and_votes_pick_a_favourite(fake_fal: FakeFal, settings):
    async with open_stack(settings) as stack:
        v1 = await first_version(stack)
        sessions = stack.services.sessions
        v2 = await sessions.follow_up(in_thread(v1), v1.id, "reroll", upload_limit=LIMIT)
        assert await sessions.vote(in_thread(v1, 1), v2.id) == (True, 1)
        assert await sessions.vote(in_thread(v1, 2), v2.id) == (True, 2)
        assert await sessions.vote(in_thread(v1, 3), v1.id) == (True, 1)
        assert await sessions.vote(in_thread(v1, 3), v1.id) == (False, 0)  # taken back
        lineage = await sessions.lineage(in_thread(v1))
        assert [j.version for j in lineage.versions] == [1, 2]
        assert lineage.favourite.id == v2.id
        with pytest.raises(InputRejected):
            await sessions.lineage(member())  # not in a session thread


async def test_swap_needs_two_frames_and_nothing_is_spent(fake_fal: FakeFal, settings):
    async with open_stack(settings) as stack:
        job = await stack.services.sessions.tween(
            member(), prompt="p", duration=5, start=tween_request().start, end=None, upload_limit=LIMIT
        )
        with pytest.raises(InputRejected, match="swap_needs_two"):
            await stack.services.sessions.follow_up(in_thread(job), job.id, "swap", upload_limit=LIMIT)
    assert len(fake_fal.submits) == 1


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ("a cat walks", "a cat walks", ""),
        ("a cat walks", "a cat walks at sunset", '+"at sunset"'),
        ("a cat slowly walks", "a cat walks", '−"slowly"'),
        ("a red car", "a blue car", '+"blue" −"red"'),
    ],
)
def test_prompt_change(before, after, change):
    assert prompt_change(before, after) == change
