"""The tracker's schedule: a look asked for while the job's look is running is not lost."""

import asyncio

from bot.services.schedule import Schedule


def test_a_look_asked_for_during_a_running_look_happens_after_it():
    schedule = Schedule()
    schedule.watch(7)
    assert schedule.pop_due(busy=set()) == 7
    schedule.watch(7)  # e.g. a cancel, while the look at 7 is still running
    assert schedule.pop_due(busy={7}) is None
    schedule.watch(7, delay=3600)  # the running look plans its next one far ahead
    schedule.finished(7)
    assert schedule.pop_due(busy=set()) == 7  # the asked-for look comes now, not in an hour


def test_a_sooner_look_wins_and_the_later_one_is_dropped():
    schedule = Schedule()
    schedule.watch(1, delay=3600)
    schedule.watch(1)
    assert schedule.pop_due(busy=set()) == 1
    assert schedule.pop_due(busy=set()) is None and len(schedule) == 0


async def test_watching_wakes_the_loop():
    schedule = Schedule()
    schedule.changed.clear()
    schedule.watch(3)
    await asyncio.wait_for(schedule.changed.wait(), 1)


def test_lateness_is_how_long_after_its_plan_a_look_started(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("bot.services.schedule.time.monotonic", lambda: now[0])
    schedule = Schedule()
    assert schedule.late(0.99) == 0.0  # no look yet
    for job_id, delay in ((1, 1.0), (2, 2.0), (3, 3.0)):
        schedule.watch(job_id, delay)
    now[0] = 1004.0  # the loop got to them late: 3 s, 2 s and 1 s past their plan
    assert [schedule.pop_due(busy=set()) for _ in range(3)] == [1, 2, 3]
    assert sorted(schedule.lateness) == [1.0, 2.0, 3.0]
    assert schedule.late(0.5) == 2.0 and schedule.late(0.99) == 3.0
