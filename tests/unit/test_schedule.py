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
