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


def test_sweep_removes_only_stale_download_folders(tmp_path, monkeypatch):
    import os
    import tempfile
    import time

    from bot.services.tracker import sweep_stale_downloads

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old, fresh, other = tmp_path / "tween-old", tmp_path / "tween-fresh", tmp_path / "keep-me"
    for folder in (old, fresh, other):
        folder.mkdir()
        (folder / "video.mp4").write_bytes(b"x")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    os.utime(other, (hours_ago, hours_ago))
    sweep_stale_downloads()
    assert not old.exists() and fresh.exists() and other.exists()
