from bot.ratelimit import MemberThrottle


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_per_member():
    clock = Clock()
    throttle = MemberThrottle(2, 10.0, clock=clock)
    assert throttle.check(1, 7) is None and throttle.check(1, 7) is None
    assert throttle.check(1, 7) == 10.0
    assert throttle.check(1, 8) is None  # another member
    assert throttle.check(2, 7) is None  # the same member in another guild
    clock.now += 10.0
    assert throttle.check(1, 7) is None
