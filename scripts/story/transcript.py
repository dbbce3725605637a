"""docs/story/transcript.md: every step and every message, in order. 🔒 marks a private answer (only that member
sees it), `[ label ]` a button; mentions show as @names and Discord timestamps as the reader would see them."""

from __future__ import annotations

import re
from typing import Any

from scripts.story.markdown import FORMATS, relative
from scripts.story.record import Event, Recording

_MENTION = re.compile(r"<(@!?|@&|#)(\d+)>")
_STAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_MESSAGE_LINK = re.compile(r"https://discord\.com/channels/\d+/(\d+)/\d+")
INTRO = """# Tween: the story, as the operator, members and a moderator saw it

Made by `python -m scripts.story` (`make story`): the real bot against the repository's fake Discord and fake fal on
127.0.0.1, played step by step; every message the bot sent, edited or answered privately is below, in order.
🔒 marks a private answer (only that member sees it), `[ label ]` a button. fal's queue and run times are shortened
to about a second, and its videos are small real MP4s.

Pictures: {pictures}
"""


def write(recording: Recording, pictures: list[str]) -> str:
    names = recording.names
    out = [INTRO.format(pictures=", ".join(f"[{p}]({p})" for p in pictures) or "none")]
    previous: dict[str, Event] = {}
    number = 0
    for event in recording.events:
        kind = event["kind"]
        if kind == "step":
            out.append(f"\n## {number}. {event['title']}\n\n*{event['story']}*\n")
            number += 1
        elif kind == "action":
            where = f" in {event['where']}" if event.get("where") else ""
            out.append(f"**{event['who']}**{where}: `{event['what']}`\n")
        elif kind == "note":
            out.append(f"> 📝 {event['text']}\n")
        elif kind == "terminal":
            out.append("```console\n$ " + event["command"] + "\n" + "\n".join(event["lines"]) + "\n```\n")
        elif kind == "modal":
            out.append(modal(event["modal"]))
        elif kind == "message":
            out.append(message(event, previous.get(event["id"]), names))
            previous[event["id"]] = event
    return "\n".join(out).rstrip() + "\n"


def message(event: Event, before: Event | None, names: dict[str, dict[str, str]]) -> str:
    place = thread_name(event["channel"]) if event["thread"] else f"#{event['channel']}"
    if event["ephemeral"]:
        head = f"🔒 **private answer to {event['to']}** in {place}"
    else:
        head = f"**{'✏️ edit' if before else 'new message'}** in {place}"
    if before is not None and (short := _small_edit(before, event, names, event["at"])):
        return f"- {head}: {short}\n"
    body = [plain(event["content"], names, event["at"])] if event["content"] else []
    body += [line for e in event["embeds"] for line in embed(e, names, event["at"])]
    buttons = [b for row in event["components"] for b in row.get("components", [])]
    if buttons:
        body.append(" ".join(f"`[ {button_text(b)} ]`" for b in buttons))
    elif before is not None and before["components"]:
        body.append("*(buttons removed)*")
    body += [f"📎 `{a['filename']}` ({a['size'] / 1024:,.1f} KB)" for a in event["attachments"]]
    # Two spaces end a line in markdown: the message's lines stay lines inside the quote.
    quoted = "  \n".join("> " + line for text in body for line in text.split("\n"))
    return f"{head}\n{quoted}\n"


def thread_name(name: str, limit: int = 40) -> str:
    return f"🧵 “{name if len(name) <= limit else name[: limit - 1] + '…'}”"


def embed(data: dict[str, Any], names: dict[str, dict[str, str]], now: float) -> list[str]:
    lines = [f"▌ **{plain(data['title'], names, now)}**"] if data.get("title") else ["▌ *(embed)*"]
    if data.get("description"):
        # Discord's "> " quote, drawn as a bar: a quote inside the transcript's own quote would swallow what follows.
        lines += [re.sub(r"^> ", "┃ ", line) for line in plain(data["description"], names, now).split("\n")]
    lines += [f"**{f['name']}**: {plain(str(f['value']), names, now)}" for f in data.get("fields", [])]
    if image := (data.get("image") or {}).get("url"):
        lines.append(f"🖼️ `{image}`")
    if footer := (data.get("footer") or {}).get("text"):
        lines.append(f"<sub>{footer}</sub>")
    return lines


def modal(data: dict[str, Any]) -> str:
    lines = [f"**Form: “{data.get('title', '')}”**"]
    for row in data.get("components", []):
        for c in row.get("components", [row.get("component") or {}]):
            if c.get("type") == 4:
                label = c.get("label") or row.get("label") or c.get("custom_id")
                lines.append(f"- {label}: `{(c.get('value') or '')[:120]}`")
    lines.append("`[ Cancel ]` `[ Submit ]`")
    return "\n".join(lines) + "\n"


def button_text(data: dict[str, Any]) -> str:
    emoji = (data.get("emoji") or {}).get("name", "")
    text = " ".join(x for x in (emoji, str(data.get("label", ""))) if x)
    return text + (" ↗" if data.get("url") else "")


def plain(text: str, names: dict[str, dict[str, str]], now: float) -> str:
    def mention(m: re.Match[str]) -> str:
        table, sign = {"@&": ("roles", "@"), "#": ("channels", "#")}.get(m[1], ("users", "@"))
        return f"**{sign}{names[table].get(m[2], '?')}**"

    def stamp(m: re.Match[str]) -> str:
        from datetime import UTC, datetime

        style, unix = m[2] or "f", int(m[1])
        shown = relative(unix - now) if style == "R" else datetime.fromtimestamp(unix, UTC).strftime(FORMATS[style])
        return f"_{shown}_"

    def link(m: re.Match[str]) -> str:
        return f"[#{names['channels'].get(m[1], '?')} › message]({m[0]})"

    return _MESSAGE_LINK.sub(link, _STAMP.sub(stamp, _MENTION.sub(mention, text)))


def _small_edit(before: Event, after: Event, names: dict[str, dict[str, str]], now: float) -> str | None:
    """One line for an edit that only changed an embed's fields or a button's label (a card's state, a vote)."""
    if before["content"] != after["content"] or before["attachments"] != after["attachments"]:
        return None
    if len(before["embeds"]) != len(after["embeds"]) or bool(before["components"]) != bool(after["components"]):
        return None
    changes = []
    for old, new in zip(before["embeds"], after["embeds"], strict=True):
        if old.get("title") != new.get("title"):
            changes.append(f"title → “{plain(new.get('title', ''), names, now)}”")
        old_fields = {f["name"]: f["value"] for f in old.get("fields", [])}
        for f in new.get("fields", []):
            if old_fields.get(f["name"]) != f["value"]:
                changes.append(f"{f['name']} → {plain(str(f['value']), names, now)}")
    labels = [button_text(b) for row in after["components"] for b in row.get("components", [])]
    if labels != [button_text(b) for row in before["components"] for b in row.get("components", [])]:
        changes.append("buttons → " + " ".join(f"`[ {label} ]`" for label in labels))
    return ", ".join(changes) or None
