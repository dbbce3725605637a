"""A re-roll button refused for want of seconds is told what a button can do, not to run /tween (#15 item 4)."""

from __future__ import annotations

from bot.app import TweenBot
from tests.e2e.conftest import World
from tests.e2e.test_sessions_e2e import first_video
from tests.e2e.test_tween_e2e import ephemeral_text


async def test_a_reroll_short_of_seconds_is_advised_a_shorter_remix(world: World, tween: TweenBot):
    _thread, video = await first_video(world)
    guild = world.discord.guild
    lowered = await world.discord.slash(
        "tween-admin", user=guild.admin, subcommand=("budget", "member"), options={"seconds": 8}
    )
    await world.discord.wait_for(lambda: ephemeral_text(lowered))
    press = await world.discord.click(video.id, "tween:reroll:1", user=guild.member)
    text = await world.discord.wait_for(lambda: ephemeral_text(press))
    assert text.startswith("A re-roll needs 5 s and your allowance has 3 s")
    assert "Remix it with a duration of 3 s instead" in text and "/tween" not in text
    assert len(world.fal.submits) == 1
