"""The fitter's own rules, on real files: retry smaller after an overshoot, give up honestly, never more re-encodes
at once than configured, and a stop that leaves no file behind."""

from __future__ import annotations

import asyncio
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from bot.errors import MediaUnusable
from bot.media import Plan, VideoFitter
from bot.media.transcode import Interrupted
from tests.support import media
from tests.support.settings import make_settings
from tests.support.waiting import wait_until

MEDIA = make_settings().media
LIMIT = 400_000


def source(tmp_path: Path, spec: media.VideoSpec) -> Path:
    path = tmp_path / "fal.mp4"
    shutil.copy(media.video(spec), path)
    return path


BIG = media.VideoSpec(5, bitrate=2_000_000)  # about 1.2 MB
FITS = media.VideoSpec(5, bitrate=300_000)  # about 190 kB


async def test_an_overshoot_is_redone_smaller_and_the_second_try_is_posted(tmp_path: Path):
    plans: list[Plan] = []

    def overshoot_once(src: Path, dst: Path, plan: Plan) -> None:
        plans.append(plan)
        shutil.copy(media.video(BIG if len(plans) == 1 else FITS), dst)

    fitter = VideoFitter(MEDIA, transcoder=overshoot_once)
    fitted = await fitter.fit(source(tmp_path, BIG), limit=LIMIT, duration=5)
    assert fitted.reencoded and fitted.size <= LIMIT and fitted.path.exists()
    assert len(plans) == 2 and plans[1].video_bps < plans[0].video_bps
    fitter.close()


async def test_a_video_that_never_fits_goes_out_as_a_link_and_leaves_no_file(tmp_path: Path):
    calls = 0

    def always_too_big(src: Path, dst: Path, plan: Plan) -> None:
        nonlocal calls
        calls += 1
        shutil.copy(media.video(BIG), dst)

    fitter = VideoFitter(MEDIA, transcoder=always_too_big)
    src = source(tmp_path, BIG)
    with pytest.raises(MediaUnusable) as refused:
        await fitter.fit(src, limit=LIMIT, duration=5)
    assert refused.value.reason == "does_not_fit" and calls == MEDIA.max_attempts
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fal.mp4"]
    fitter.close()


async def test_never_more_reencodes_at_once_than_configured(tmp_path: Path):
    release = threading.Event()
    active, most = 0, 0
    lock = threading.Lock()

    def held(src: Path, dst: Path, plan: Plan) -> None:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        release.wait(timeout=30)
        shutil.copy(media.video(FITS), dst)
        with lock:
            active -= 1

    fitter = VideoFitter(replace(MEDIA, max_transcodes=1), transcoder=held)
    sources = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        sources.append(source(tmp_path / name, BIG))
    fits = [asyncio.create_task(fitter.fit(src, limit=LIMIT, duration=5)) for src in sources]
    await wait_until(lambda: fitter.running == 1 and fitter.waiting == 1, what="one running, one queued")
    release.set()
    done = await asyncio.gather(*fits)
    assert most == 1 and all(f.size <= LIMIT for f in done)
    fitter.close()


async def test_closing_abandons_a_running_reencode_and_removes_its_file(tmp_path: Path):
    src = tmp_path / "fal.mp4"
    shutil.copy(media.full_video(10), src)
    fitter = VideoFitter(MEDIA)
    fit = asyncio.create_task(fitter.fit(src, limit=10 * 1024 * 1024, duration=10))
    output = tmp_path / "fal-fit.mp4"
    await wait_until(lambda: output.exists() and output.stat().st_size > 0, what="the re-encode writing", timeout=60)
    fitter.close()
    with pytest.raises(Interrupted):
        await fit
    assert not output.exists()
