"""Part 2: a moderator. Ravi sets the log channel and budgets (a role with 0 s refuses Kai), pauses and resumes,
approves one job and denies another, and reads /usage."""

from __future__ import annotations

from scripts.story import frames
from scripts.story.play import Player
from scripts.story.world import Cast
from tests.fakes.discord_fake import RoleRef

NIGHT_PROMPT = "@Image1 to @Image2 in a timelapse, clouds racing"


async def budgets(p: Player, cast: Cast) -> None:
    guild = p.fake.guild
    p.step(
        "Ravi sets things up", "Ravi, a moderator, picks the log channel, a weekly budget, and 0 s for the New role."
    )
    await p.slash(cast.ravi, "tween-admin", subcommand=("settings", "log"), options={"channel": guild.log_channel})
    await p.slash(cast.ravi, "tween-admin", subcommand=("budget", "set"), options={"seconds": 600, "period": "week"})
    await p.slash(
        cast.ravi, "tween-admin", subcommand=("budget", "role"), options={"role": RoleRef(cast.new_role), "seconds": 0}
    )
    await p.settled()

    p.step("A member whose role has 0 s", "Kai, who only has the New role, tries /tween.")
    await p.slash(cast.kai, "tween", options={"prompt": "my cat @Image1 yawns"}, attachments=_frames())
    await p.settled()


async def pause(p: Player, cast: Cast) -> None:
    p.step("Pause and resume", "Ravi pauses Tween; Mira tries /tween; Ravi resumes.")
    await p.slash(cast.ravi, "tween-admin", subcommand=("access", "pause"))
    await p.slash(cast.mira, "tween", options={"prompt": "one more", "duration": 3}, attachments=_frames())
    await p.slash(cast.ravi, "tween-admin", subcommand=("access", "resume"))
    await p.settled()


async def approvals(p: Player, cast: Cast) -> None:
    log_channel = p.fake.guild.log_channel
    p.step(
        "Approvals",
        "Ravi asks for approval of jobs over 5 s. Jonas asks for 8 s: Ravi approves it in #mod-log. Jonas asks for "
        "6 s more: Ravi denies that one.",
    )
    await p.slash(
        cast.ravi, "tween-admin", subcommand=("settings", "approval"), options={"policy": "over", "seconds": 5}
    )
    await p.slash(cast.jonas, "tween", options={"prompt": NIGHT_PROMPT, "duration": 8}, attachments=_frames())
    await p.settled()
    await p.press(cast.ravi, p.with_button(log_channel, "approve", 0), "approve")
    await p.settled()
    await p.slash(
        cast.jonas, "tween", options={"prompt": NIGHT_PROMPT + ", again", "duration": 6}, attachments=_frames()
    )
    await p.settled()
    await p.press(cast.ravi, p.with_button(log_channel, "deny", 0), "deny")
    await p.settled()


async def usage(p: Player, cast: Cast) -> None:
    p.step("/usage", "Ravi looks at this period's spending: a chart and a CSV.")
    await p.slash(cast.ravi, "usage")
    await p.settled()


def _frames() -> dict[str, tuple[str, bytes, str | None]]:
    return {"start": ("night.png", frames.night(), "image/png"), "end": ("sunrise.jpg", frames.sunrise(), "image/jpeg")}


async def play(p: Player, cast: Cast) -> None:
    await budgets(p, cast)
    await pause(p, cast)
    await approvals(p, cast)
    await usage(p, cast)
