"""`make demo-smoke`: one scripted /tween through the page's own endpoints, without a browser; done once the feed
shows the card, the thread and the stand-in video."""

from __future__ import annotations

from sandbox.client import Page, page
from scripts.story import frames

PROMPT = "The city at night slowly wakes up into sunrise"
TIMEOUT = 120.0


def sample_frames() -> dict[str, tuple[str, bytes, str]]:
    return {"start": ("night.png", frames.night(), "image/png"), "end": ("sunrise.png", frames.sunrise(), "image/png")}


async def tween_to_video(opened: Page, within: float = TIMEOUT) -> dict:
    """Run /tween as the member with the sample frames and wait for the video in the thread, as the page shows it."""
    await opened.command("tween", options={"prompt": PROMPT, "duration": 5}, files=sample_frames())
    await opened.wait_for(opened.card, within, "the job card in #general")
    video = await opened.wait_for(opened.video, within, "the video in the thread")
    data = await opened.fetch(f"/files/{video['videos'][0]}")
    if b"ftyp" not in data[:64]:
        raise AssertionError("the video the page shows is not an MP4")
    return video


async def run(base_url: str) -> None:
    async with page(base_url) as opened:
        video = await tween_to_video(opened)
        print(
            f"demo-smoke: the video is in the thread ({video['channel']}); card: {opened.card()['embeds'][0]['title']}"
        )
