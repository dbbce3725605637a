"""Play the whole story and return the recording (no pictures yet)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from scripts.story import member, moderator, operator
from scripts.story.play import Player
from scripts.story.record import Event, Recording
from scripts.story.world import bot, names, stage
from tests.support import media
from tests.support.bill import end_of_test_violations


async def record() -> Recording:
    """Each part on a fresh database: the operator's first start, then the members' and moderator's story."""
    for seconds in range(3, 11):  # made before any fake serves them: making one inside a handler stalls the bot
        media.small_video(seconds)
    media.full_video(5)
    with tempfile.TemporaryDirectory(prefix="tween-operator-") as ops:
        async with stage(Path(ops)) as ops_stage:
            await operator.play(ops_stage, Path(ops))
            terminal = ops_stage.discord.recording.events
    with tempfile.TemporaryDirectory(prefix="tween-story-") as folder:
        return await _members_and_moderator(Path(folder), terminal)


async def _members_and_moderator(folder: Path, terminal: list[Event]) -> Recording:
    async with stage(folder) as story:
        story.discord.recording.events[:0] = terminal
        async with bot(story) as tween:
            player = Player(story, tween)
            await member.play(player, story.cast)
            await moderator.play(player, story.cast)
        recording = story.discord.recording
        recording.names = names(story)
        # As the e2e suite holds every test to it: each video fal billed was charged once, none refunded.
        for problem in end_of_test_violations(story.fal, folder):
            recording.add("note", text=f"Money check failed: {problem}")
    return recording


def save(recording: Recording, path: Path) -> None:
    """The recording as JSON (the attachments' bytes are kept beside it by the caller)."""
    path.write_text(json.dumps({"names": recording.names, "events": recording.events}, ensure_ascii=False, indent=1))
