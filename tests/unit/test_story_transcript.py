"""scripts/story: the transcript and the pages, from a small recording made by hand (no bot, no Chromium)."""

from __future__ import annotations

from scripts.story import pages, transcript
from scripts.story.record import Recording

NAMES = {"users": {"1": "Mira"}, "roles": {}, "channels": {"3": "general"}}
AT = 1_796_000_000.0


def card(state: str, buttons: bool = True) -> dict:
    row = {"type": 1, "components": [{"type": 2, "style": 2, "label": "Cancel", "custom_id": "tween:cancel:1"}]}
    return {
        "id": "20",
        "channel_id": "3",
        "channel": "general",
        "thread": False,
        "content": "",
        "embeds": [{"title": "🎬 Tween #1", "fields": [{"name": "State", "value": state}]}],
        "components": [row] if buttons else [],
        "attachments": [],
        "ephemeral": False,
        "to": None,
        "interaction": None,
    }


def story() -> Recording:
    rec = Recording(names=NAMES)
    rec.add("step", title="Mira makes her first tween", story="She attaches two frames.")
    rec.add("action", who="mira", what="/tween prompt:x", where="#general", interaction="99")
    rec.add("invoked", interaction="99", command="/tween")
    rec.add("message", edit=False, **card("📤 Sending to fal.ai…"))
    rec.add("message", edit=True, **card("⏳ Queued at fal.ai — 2 ahead"))
    rec.add("message", edit=True, **card("✅ Done in <t:1796000000:R>", buttons=False))
    answer = card("") | {"id": "21", "embeds": [], "components": [], "ephemeral": True, "to": "mira"}
    rec.add("message", edit=False, **(answer | {"content": "On its way, <@1>.", "interaction": "99"}))
    rec.add("note", text="/help does not exist in this version of Tween: step skipped.")
    for event in rec.events:
        event["at"] = AT
    return rec


def test_every_step_and_message_in_order_with_locks_and_buttons():
    text = transcript.write(story(), ["card-states.png"])
    assert "## 0. Mira makes her first tween" in text and "[card-states.png](card-states.png)" in text
    assert "**mira** in #general: `/tween prompt:x`" in text
    assert "**new message** in #general" in text and "`[ Cancel ]`" in text
    assert "State → ⏳ Queued at fal.ai — 2 ahead" in text  # a card's edit is one line
    assert "*(buttons removed)*" in text and "Done in _a few seconds ago_" in text
    assert "🔒 **private answer to mira**" in text and "On its way, **@Mira**." in text
    assert "📝 /help does not exist" in text
    assert text.index("Sending") < text.index("Queued") < text.index("Done") < text.index("On its way")


def test_the_pages_show_the_card_in_each_state_and_the_private_answer():
    built = {p.name: p for p in pages.build(story(), {})}
    states = built["card-states"].body
    assert states.count("class='msg'") == 3 and "state 2 of 3: ⏳ Queued at fal.ai — 2 ahead" in states
    assert "msg ephemeral" in states and "used <span class='cmd'>/tween" in states
    assert built["channel-general"].body.count("class='msg'") == 1  # the card once, as it ended
    assert "mira: /tween prompt:x" in built["private-answers"].body
    assert "thread" not in built and "remix-form" not in built  # nothing recorded for them: no page
    assert pages.document(built["channel-general"]).startswith("<!doctype html>")
