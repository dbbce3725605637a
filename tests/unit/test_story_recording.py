"""scripts/story, played for real but short: the first scene of the story (a /tween, its card, its video and the
private answer) recorded through the real bot, the fake Discord and the fake fal, then drawn and written down.
Held to shapes, not wording: other changes rewrite the bot's texts, and the story must keep running on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.story import member, pages, transcript
from scripts.story.play import Player
from scripts.story.world import bot, names, stage

pytestmark = pytest.mark.e2e


async def test_the_first_scene_is_recorded_in_every_state_and_drawn(tmp_path: Path):
    async with stage(tmp_path) as story:
        async with bot(story) as tween:
            player = Player(story, tween)
            await member.first_tween(player, story.cast)
            await player.slash(story.cast.mira, "no-such-command")
            await player.press(story.cast.mira, player.with_button(player.thread(), "no-such-action"), "no-such-action")
        recording = story.discord.recording
        recording.names = names(story)

    shown = recording.messages()
    card = next(m for m in shown if m["channel"] == "general" and not m["ephemeral"])
    states = [m for m in shown if m["id"] == card["id"]]
    assert len(states) >= 3 and not states[0]["edit"] and all(m["edit"] for m in states[1:])
    assert any(c["custom_id"].startswith("tween:cancel:") for row in states[0]["components"] for c in row["components"])
    assert any(m["ephemeral"] and m["to"] == "mira" for m in shown)
    assert any(a["filename"].endswith(".mp4") for m in shown if m["thread"] for a in m["attachments"])
    notes = [e["text"] for e in recording.events if e["kind"] == "note"]
    assert len(notes) == 2 and "/no-such-command" in notes[0] and "tween:no-such-action:" in notes[1]

    built = {p.name: p for p in pages.build(recording, {})}
    assert {"card-states", "channel-general", "thread", "private-answers"} <= set(built)
    assert built["card-states"].body.count("class='msg'") == len(states)
    text = transcript.write(recording, [])
    assert "🔒 **private answer to mira**" in text and "**@Mira**" in text
