"""The memory /tween may take, measured on `python -m bot` itself: ten members at once, each sending two frames far
above the pixel cap (refused or shrunk without a full decode) or just under it (decoded, a few at a time), never
take the bot's peak resident memory past 300 MB."""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import World, bot_process, ephemeral_text_of
from tests.e2e.test_tween_e2e import run_tween
from tests.fakes.fal_server import JobScript
from tests.support.images import image_bytes, jpeg_bytes

pytestmark = pytest.mark.e2e

LIMIT = 300 * 1024 * 1024
MEMBERS = 10
ROOMY = "[budget]\ndefault_seconds = 1000\nmember_seconds = 100\n"


@dataclass(frozen=True)
class Case:
    fmt: str
    side: int
    answer: str  # in what each member reads (accepted jobs are at fal, or wait for a slot there)


CASES = {
    "8000 px PNG (refused unread)": Case("PNG", 8000, "8000×8000 px (64.0 megapixels)"),
    "8000 px JPEG (decoded at half size)": Case("JPEG", 8000, "from your allowance"),
    "4096 px PNG (decoded whole)": Case("PNG", 4096, "from your allowance"),
}


@functools.cache
def frame(fmt: str, side: int, colour: tuple[int, int, int]) -> bytes:
    """A flat frame: a small file (8000 px PNG: about 200 kB) that decodes to a large image."""
    return jpeg_bytes(side, side, colour=colour) if fmt == "JPEG" else image_bytes(side, side, fmt, colour)


def kilobytes(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB$", status, re.MULTILINE)
    assert match, f"no {field} in /proc/{pid}/status"
    return int(match[1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_ten_tweens_at_once_with_big_frames_keep_the_bot_under_300_mb(world: World, tmp_path, case: Case):
    # The jobs wait at fal: no video is fetched or posted while the memory of taking frames in is measured.
    world.fal.default_script = JobScript(queue_seconds=None)
    mime = f"image/{case.fmt.lower()}"
    files = {
        "start": (f"start.{case.fmt.lower()}", frame(case.fmt, case.side, (200, 80, 40)), mime),
        "end": (f"end.{case.fmt.lower()}", frame(case.fmt, case.side, (20, 100, 220)), mime),
    }
    members = [world.discord.add_member(world.discord.guild, f"member-{n}") for n in range(MEMBERS)]
    log = tmp_path / "bot.log"
    with bot_process(world.env(ROOMY), log) as bot:
        await world.discord.wait_ready(timeout=30)
        idle = kilobytes(bot.pid, "VmRSS")
        asked = await asyncio.gather(*(run_tween(world, user=m, files=files) for m in members))
        answers = await world.discord.wait_for(
            lambda: [t for ix in asked if (t := ephemeral_text_of(ix))] if all(map(ephemeral_text_of, asked)) else None,
            timeout=90,
        )
        peak = kilobytes(bot.pid, "VmHWM")
        assert bot.poll() is None, log.read_text()[-2000:]
    print(f"\n{case}: idle {idle / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB")
    assert all(case.answer in text for text in answers), answers
    assert peak * 1024 < LIMIT, f"peak resident memory {peak / 1024:.0f} MiB (idle {idle / 1024:.0f} MiB)"
    assert "Traceback" not in log.read_text()
