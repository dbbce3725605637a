"""The sandbox (`make demo`) driven through its page's own HTTP endpoints and live feed, as a browser drives it:
the real bot as a subprocess against the fakes, on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.client import Page, page, text_of
from sandbox.smoke import PROMPT, tween_to_video
from sandbox.stage import sandbox
from sandbox.web import serving
from tests.fakes.fal import JobScript
from tests.support import media
from tests.support.images import image_bytes

QUICK = JobScript(queue_seconds=0.2, queue_position=1, run_seconds=0.2)


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[Page]:
    async with sandbox(tmp_path, pace=QUICK) as world, serving(world, 0) as url, page(url) as this:
        yield this


async def test_a_tween_shows_its_card_thread_and_a_stand_in_video_that_plays(opened: Page):
    video = await tween_to_video(opened, within=30)

    card = opened.card()
    assert card is not None and card["embeds"][0]["title"].startswith("🎬 Tween #1")
    assert any(c["thread"] and c["id"] == card["id"] for c in opened.channels)  # the card opens the thread
    assert "<video" not in video["html"] and "class='video'" in video["html"]  # the page turns the tile into a player
    seen = media.inspect(await opened.fetch(f"/files/{video['videos'][0]}"))
    assert (seen.codec, seen.duration, seen.height) == ("h264", 5.0, 360)
    assert (await opened.fetch(f"/files/{video['videos'][0]}/poster"))[:2] == b"\xff\xd8"  # a JPEG poster
    page_html = (await opened.fetch("/")).decode()
    assert "http" not in page_html.replace("http://127.0.0.1", "")  # nothing from the internet


async def test_bad_input_gets_the_bots_own_answer(opened: Page):
    tiny = {"start": ("tiny.png", image_bytes(100, 100), "image/png")}
    interaction = await opened.command("tween", options={"prompt": PROMPT}, files=tiny)

    answer = await opened.wait_for(lambda: opened.answers_to(interaction), 15, "the private answer")
    assert "at least 300 px" in answer and "Nothing was charged" in answer
    assert opened.card() is None


async def test_buttons_details_vote_and_remix_form(opened: Page):
    video = await tween_to_video(opened, within=30)

    details = await opened.click(video, "Details")
    assert "Tween #1" in await opened.wait_for(lambda: opened.answers_to(details["interaction"]), 15, "details")
    await opened.click(video, "👍")
    await opened.wait_for(lambda: any("👍 1" in b["label"] for b in opened.messages[video["id"]]["buttons"]), 15)

    form = await opened.click(video, "Remix")
    assert form["modal"] is not None
    await opened.submit(form, _prefilled(form["modal"]) | {"prompt": "Sunrise, then rain"})
    await opened.wait_for(lambda: sum(1 for m in opened.messages.values() if m["videos"]) == 2, 30, "version 2")


async def test_the_moderator_switch_runs_moderator_commands(opened: Page):
    member = await opened.command("tween-admin settings show", as_="member")
    refused = await opened.wait_for(lambda: opened.answers_to(member), 15, "the member's answer")

    moderator = await opened.command("tween-admin budget topup", as_="moderator", options={"seconds": 60})
    answer = await opened.wait_for(lambda: opened.answers_to(moderator), 15, "the moderator's answer")
    assert "Manage Server" in refused
    assert "Added 60 s" in answer
    quota = await opened.command("quota", as_="member")
    assert "120 s" in await opened.wait_for(lambda: opened.answers_to(quota), 15, "/quota")


def _prefilled(modal: dict) -> dict[str, str]:
    """What the form shows when it opens, as the page submits it when nothing is changed."""
    inputs = [
        c for row in modal["components"] for c in ([row["component"]] if "component" in row else row["components"])
    ]
    return {c["custom_id"]: c.get("value", "") for c in inputs if c["type"] == 4}


def test_text_of_reads_embeds():
    assert text_of({"content": "a", "embeds": [{"title": "b", "fields": [{"name": "c", "value": "d"}]}]}) == "a b c d"


def test_the_bot_knows_nothing_of_the_sandbox():
    root = Path(__file__).resolve().parents[2]
    mentions = [p for folder in ("bot", "cogs") for p in (root / folder).rglob("*.py") if "sandbox" in p.read_text()]
    assert mentions == []
