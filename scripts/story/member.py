"""Part 1: members. Mira makes her first tween and watches it; the thread grows versions (re-roll, remix), votes
and details; /history, /quota and /help."""

from __future__ import annotations

from dataclasses import replace

from scripts.story import frames
from scripts.story.play import Player
from scripts.story.world import PACE, Cast
from tests.support import media

PROMPT = "The city wakes up: night turns into sunrise over @Image1, lights switch off one by one until @Image2"


async def first_tween(p: Player, cast: Cast) -> None:
    p.step(
        "Mira makes her first tween",
        "Mira, new on Pixel Garden, attaches a city at night as the start frame and the same skyline at sunrise as "
        "the end frame, types what should happen and picks 5 s, in #general.",
    )
    attachments = {
        "start": ("night.png", frames.night(), "image/png"),
        "end": ("sunrise.jpg", frames.sunrise(), "image/jpeg"),
    }
    await p.slash(cast.mira, "tween", options={"prompt": PROMPT, "duration": 5}, attachments=attachments)
    await p.settled()


async def more_versions(p: Player, cast: Cast) -> None:
    thread = p.thread()
    p.step("A re-roll", "Mira presses Re-roll under the first version in the thread: same frames, same prompt.")
    await p.press(cast.mira, p.with_button(thread, "reroll", 0), "reroll")
    await p.settled()

    p.step(
        "A remix, through the Remix form",
        "Jonas likes it and presses Remix under the first version; the form comes prefilled. He adds fireworks and "
        "makes it 4 s.",
    )
    opened = await p.press(cast.jonas, p.with_button(thread, "remix", 0), "remix")
    await p.fill_in(
        cast.jonas, opened, lambda v: v | {"prompt": v.get("prompt", "") + ", with fireworks", "duration": "4"}
    )
    await p.settled()


async def in_the_thread(p: Player, cast: Cast) -> None:
    p.step(
        "Another version from inside the thread, and a video too big to attach as it is",
        "Mira asks for another version in the thread with only a new prompt: the thread's frames are reused. fal's "
        "file this time is full size (1080p, 27 MB), over an unboosted server's 10 MiB: Tween re-encodes it to fit "
        "and links the original.",
    )
    again = "tween-again" if p.has_command("tween-again") else "tween"  # the thread's own command, where it has one
    options = {"prompt": "same, but it starts snowing", "duration": 5}
    if p.cannot_run(again, (), set(options)) is None:
        p.stage.fal.script_next(replace(PACE, video=media.full_video(5)))
    await p.slash(cast.mira, again, options=options, channel=p.thread())
    await p.settled()


async def votes_and_details(p: Player, cast: Cast) -> None:
    thread = p.thread()
    p.step("Votes", "Jonas and Mira vote for the second version.")
    await p.press(cast.jonas, p.with_button(thread, "vote", 1), "vote")
    await p.settled()
    await p.press(cast.mira, p.with_button(thread, "vote", 1), "vote")
    await p.settled()

    p.step("Details", "Jonas asks for the details of the remix.")
    await p.press(cast.jonas, p.with_button(thread, "details", 2), "details")
    await p.settled()

    p.step("/history", "Mira asks for the versions made in the thread.")
    await p.slash(cast.mira, "history", channel=thread)
    await p.settled()


async def quota_and_help(p: Player, cast: Cast) -> None:
    p.step("/quota", "Mira checks what she and the server have left.")
    await p.slash(cast.mira, "quota")
    p.step("/help", "Mira asks Tween how it works.")
    await p.slash(cast.mira, "help")
    await p.settled()


async def play(p: Player, cast: Cast) -> None:
    await first_tween(p, cast)
    await more_versions(p, cast)
    await in_the_thread(p, cast)
    await votes_and_details(p, cast)
    await quota_and_help(p, cast)
