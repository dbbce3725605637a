"""`python -m sandbox.shots` (`make demo-shots`): the README's pictures of the sandbox, taken from the sandbox itself.
A scripted visit (a /tween, 👍, Details; the moderator's top-up and /usage) through the page's endpoints,
then the page, still (`?still`: no live feed, so the browser knows when it has loaded), in headless Chromium."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from sandbox.client import Page, page
from sandbox.smoke import tween_to_video
from sandbox.stage import sandbox
from sandbox.web import serving
from scripts.story.shots import capture, small_png
from tests.fakes.fal import JobScript

OUT = Path(__file__).resolve().parents[1] / "docs" / "sandbox"
WINDOW = (1280, 1100)
PACE = JobScript(queue_seconds=0.3, queue_position=1, run_seconds=0.3)


async def visit(opened: Page, snap: Callable[[str, dict[str, str]], Awaitable[None]]) -> None:
    """Act as the member, then as the moderator, taking each picture when there is something to see."""
    video = await tween_to_video(opened)
    await opened.click(video, "👍")
    await opened.wait_for(lambda: any("👍 1" in b["label"] for b in opened.messages[video["id"]]["buttons"]), 15)
    await snap("channel", {"channel": "general", "as": "member"})
    await snap("thread", {"channel": video["channel_id"], "as": "member"})
    details = await opened.click(video, "Details")
    await opened.wait_for(lambda: opened.answers_to(details["interaction"]), 15, "the details")
    await snap("details", {"channel": video["channel_id"], "as": "member"})
    topup = await opened.command("tween-admin budget topup", as_="moderator", options={"seconds": 60})
    await opened.wait_for(lambda: opened.answers_to(topup), 15, "the top-up answer")
    usage = await opened.command("usage", as_="moderator")
    await opened.wait_for(lambda: opened.answers_to(usage), 15, "the /usage answer")
    await snap("moderator", {"channel": "general", "as": "moderator", "command": "tween-admin budget topup"})


def shoot(url: str, out: Path) -> None:
    out.write_bytes(small_png(capture(url, WINDOW, "--virtual-time-budget=5000")))


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tween-sandbox-shots-") as folder:
        async with sandbox(Path(folder), pace=PACE) as world, serving(world, 0) as url, page(url) as opened:

            async def snap(name: str, query: dict[str, str]) -> None:
                out = OUT / f"{name}.png"
                await asyncio.to_thread(shoot, f"{url}/?still&{urlencode(query)}", out)
                print(f"wrote {out.relative_to(OUT.parents[1])}")

            await visit(opened, snap)


if __name__ == "__main__":
    asyncio.run(main())
