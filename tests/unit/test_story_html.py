"""scripts/story: a recorded message, as the story's pages draw it in Discord's style (no Chromium, no bot)."""

from __future__ import annotations

from scripts.story import html
from scripts.story.markdown import Context

NAMES = {"users": {"1": "Mira"}, "roles": {}, "channels": {"3": "general"}}
EVIL = "<script>alert(1)</script>"


def message(**fields) -> dict:
    return {
        "id": "10",
        "channel": "general",
        "content": "",
        "embeds": [],
        "components": [],
        "attachments": [],
        "ephemeral": False,
        "to": None,
        "at": 1_796_000_000.0,
    } | fields


def draw(msg: dict, files: dict | None = None) -> str:
    return html.message(msg, Context(NAMES, now=msg["at"]), files or {})


def test_the_author_line_has_the_app_tag_and_the_time():
    shown = draw(message(content="hi"))
    assert "class='name'>Tween<" in shown and "APP" in shown and "Today at " in shown
    assert "Only you can see this" not in shown


def test_a_private_answer_says_only_you_can_see_it_and_who_used_what():
    shown = draw(message(content="Vote counted.", ephemeral=True, to="mira", used="/quota"))
    assert "Only you can see this" in shown and "msg ephemeral" in shown
    assert "@Mira</b> used <span class='cmd'>/quota" in shown


def test_an_embed_has_its_colour_title_description_fields_image_and_footer():
    embed = {
        "title": "🎬 Tween #1 · v1",
        "description": "> @Image1 to @Image2",
        "color": 0x57F287,
        "fields": [
            {"name": "State", "value": "✅ Done in 1 s", "inline": False},
            {"name": "Asked by", "value": "<@1>", "inline": True},
        ],
        "image": {"url": "attachment://frames.jpg"},
        "footer": {"text": "Tween job 1"},
    }
    frames = {"id": "55", "filename": "frames.jpg", "size": 2048, "content_type": "image/jpeg"}
    shown = draw(message(embeds=[embed], attachments=[frames]), {"55": "files/55-frames.jpg"})
    assert "border-left-color:#57f287" in shown
    assert "🎬 Tween #1 · v1" in shown and "<div class='quote'>@Image1 to @Image2</div>" in shown
    assert "field wide" in shown and "<span class='mention'>@Mira</span>" in shown
    assert shown.count("files/55-frames.jpg") == 1  # shown in the embed, not again as a file
    assert "Tween job 1" in shown


def test_a_video_is_a_tile_with_its_poster_and_a_csv_is_a_file():
    video = {"id": "7", "filename": "tween-1.mp4", "size": 521_000, "content_type": "video/mp4"}
    csv = {"id": "8", "filename": "tween-usage.csv", "size": 900, "content_type": "text/csv"}
    shown = draw(message(attachments=[video, csv]), {"7": "files/7.mp4", "7:poster": "files/7.poster.jpg"})
    assert "class='video'" in shown and "files/7.poster.jpg" in shown and "tween-1.mp4 · 508.8 KB" in shown
    assert "class='file'" in shown and "tween-usage.csv" in shown


def test_buttons_keep_their_style_and_link_buttons_their_arrow():
    row = {
        "type": 1,
        "components": [
            {"type": 2, "style": 2, "label": "🔁 Re-roll", "custom_id": "tween:reroll:1"},
            {"type": 2, "style": 3, "label": "Approve", "custom_id": "tween:approve:1"},
            {"type": 2, "style": 4, "label": "Deny", "custom_id": "tween:deny:1", "disabled": True},
            {"type": 2, "style": 5, "label": "Full quality", "url": "https://fal.media/x.mp4"},
        ],
    }
    shown = draw(message(components=[row]))
    assert "button secondary'>🔁 Re-roll<" in shown and "button success'>Approve<" in shown
    assert "button danger disabled'>Deny<" in shown and "button link'>Full quality ↗<" in shown


def test_user_text_is_escaped_in_content_embeds_buttons_and_files():
    evil_file = {"id": "9", "filename": f"{EVIL}.png", "size": 1, "content_type": "image/png"}
    msg = message(
        content=EVIL,
        embeds=[
            {"title": EVIL, "description": EVIL, "fields": [{"name": EVIL, "value": EVIL}], "footer": {"text": EVIL}}
        ],
        components=[{"type": 1, "components": [{"type": 2, "style": 2, "label": EVIL, "custom_id": "x"}]}],
        attachments=[evil_file],
        to=EVIL,
        used=EVIL,
    )
    shown = draw(msg)
    assert "<script>" not in shown and "&lt;script&gt;" in shown


def test_the_remix_form_shows_each_input_prefilled_and_escaped():
    modal = {
        "title": "Remix Tween #1",
        "components": [
            {
                "type": 1,
                "components": [{"type": 4, "style": 2, "label": "Prompt", "custom_id": "prompt", "value": EVIL}],
            },
            {
                "type": 18,
                "label": "Duration in seconds (3-10)",
                "component": {"type": 4, "style": 1, "custom_id": "d", "value": "5"},
            },
        ],
    }
    shown = html.modal(modal)
    assert "Remix Tween #1" in shown and "input paragraph'>&lt;script&gt;" in shown
    assert "Duration in seconds (3-10)</label><div class='input'>5<" in shown
    assert "Submit" in shown and "<script>" not in shown


def test_the_terminal_marks_warnings_and_escapes():
    shown = html.terminal("python -m bot", ["2026 INFO    bot.app: ok", f"2026 WARNING bot.app: {EVIL}"])
    assert "<span class='prompt'>$</span> python -m bot" in shown
    assert "<span class='warn'>" in shown and "<script>" not in shown


def test_a_page_wraps_messages_with_the_theme_and_a_header():
    shown = html.page(f"general {EVIL}", "<p>body</p>", width=640)
    assert "width: 640px" in shown and "#313338" in shown and "general &lt;script&gt;" in shown
