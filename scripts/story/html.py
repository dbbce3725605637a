"""One recorded message (a dict, as record.py keeps it) as HTML in Discord's dark theme: avatar, name, APP tag,
time, content, embeds, attachments (pictures, video tiles with a poster, files), buttons, and the "Only you can
see this" line of a private answer. Every text goes through markdown.render or html.escape."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from scripts.story.markdown import Context, render
from scripts.story.style import css

Message = dict[str, Any]
# Attachment id -> the picture's address in the page; for a video, id + ":poster" is its first frame.
Files = dict[str, str]
STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link"}
VIDEO_TYPES = (".mp4", ".mov", ".webm")
IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def page(title: str, body: str, *, width: int = 760, topic: str = "") -> str:
    topic_html = f"<span class='topic'>{html.escape(topic)}</span>" if topic else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<style>{css(width)}</style></head><body><div class='page'>"
        f"<div class='header'><span class='hash'>#</span>{html.escape(title)}{topic_html}</div>"
        f"{body}</div></body></html>"
    )


def caption(text: str) -> str:
    return f"<div class='caption'>{html.escape(text)}</div>"


def message(msg: Message, context: Context, files: Files) -> str:
    """A message as the member it was for sees it."""
    shown_at = datetime.fromtimestamp(msg.get("at", context.now), UTC)
    edited = "<span class='edited'>(edited)</span>" if msg.get("edit") else ""
    reply = ""
    if msg.get("used") and msg.get("to"):
        who = html.escape(str(msg["to"]).title())
        reply = f"<div class='reply'><b>@{who}</b> used <span class='cmd'>{html.escape(msg['used'])}</span></div>"
    parts = [
        reply,
        "<div class='meta'><span class='name'>Tween</span><span class='tag'>✓ APP</span>",
        f"<span class='time'>Today at {shown_at:%H:%M}</span>{edited}</div>",
    ]
    if msg.get("content"):
        parts.append(f"<div class='content'>{render(msg['content'], context)}</div>")
    # Discord shows a message's files above its embeds, and hides a file an embed shows as its image.
    referenced = {
        (e.get(kind) or {}).get("url", "")[len("attachment://") :]
        for e in msg.get("embeds", [])
        for kind in ("image", "thumbnail")
    }
    shown = [a for a in msg.get("attachments", []) if a["filename"] not in referenced]
    if shown:
        parts.append("<div class='attachments'>" + "".join(attachment(a, files) for a in shown) + "</div>")
    parts += [embed(e, msg, context, files) for e in msg.get("embeds", [])]
    parts += [row(r, context) for r in msg.get("components", [])]
    if msg.get("ephemeral"):
        parts.append("<div class='only-you'>👁 Only you can see this · <a>Dismiss message</a></div>")
    kind = "msg ephemeral" if msg.get("ephemeral") else "msg"
    return f"<div class='{kind}'><div class='avatar bot-avatar'>T</div><div class='body'>{''.join(parts)}</div></div>"


def embed(data: dict[str, Any], msg: Message, context: Context, files: Files) -> str:
    colour = data.get("color")
    bar = f" style='border-left-color:#{colour:06x}'" if isinstance(colour, int) else ""
    parts = []
    if author := (data.get("author") or {}).get("name"):
        parts.append(f"<div class='footer'>{html.escape(author)}</div>")
    if title := data.get("title"):
        title_html = render(title, context, inline=True)
        if data.get("url"):
            title_html = f"<a href='{html.escape(data['url'])}'>{title_html}</a>"
        parts.append(f"<div class='title'>{title_html}</div>")
    if description := data.get("description"):
        parts.append(f"<div class='desc'>{render(description, context)}</div>")
    if fields := data.get("fields"):
        parts.append("<div class='fields'>" + "".join(field(f, context) for f in fields) + "</div>")
    if (url := (data.get("thumbnail") or {}).get("url")) and (src := image_source(url, msg, files)):
        parts.insert(0, f"<img class='thumb' src='{html.escape(src)}'>")
    if (url := (data.get("image") or {}).get("url")) and (src := image_source(url, msg, files)):
        parts.append(f"<div class='image'><img src='{html.escape(src)}'></div>")
    if footer := (data.get("footer") or {}).get("text"):
        parts.append(f"<div class='footer'>{html.escape(footer)}</div>")
    return f"<div class='embed'{bar}>{''.join(parts)}</div>"


def field(data: dict[str, Any], context: Context) -> str:
    wide = "" if data.get("inline") else " wide"
    name = render(str(data.get("name", "")), context, inline=True)
    value = render(str(data.get("value", "")), context)
    return f"<div class='field{wide}'><div class='fname'>{name}</div><div>{value}</div></div>"


def image_source(url: str, msg: Message, files: Files) -> str | None:
    if url.startswith("attachment://"):
        name = url[len("attachment://") :]
        found = next((a for a in msg.get("attachments", []) if a["filename"] == name), None)
        return files.get(found["id"]) if found else None
    return url if url.startswith(("http://", "https://")) else None


def attachment(data: dict[str, Any], files: Files) -> str:
    name, size = html.escape(data["filename"]), _size(int(data.get("size", 0)))
    lower = data["filename"].lower()
    if lower.endswith(VIDEO_TYPES) or str(data.get("content_type", "")).startswith("video/"):
        poster = files.get(f"{data['id']}:poster", "")
        picture = f"<img src='{html.escape(poster)}'>" if poster else "<div style='height:225px'></div>"
        return f"<div class='video'>{picture}<div class='play'>▶</div><div class='bar'>{name} · {size}</div></div>"
    if lower.endswith(IMAGE_TYPES) and data["id"] in files:
        return f"<img class='picture' src='{html.escape(files[data['id']])}' alt='{name}'>"
    return (
        f"<div class='file'><span class='icon'>📄</span><div><div class='fname'>{name}</div>"
        f"<div class='size'>{size}</div></div></div>"
    )


def row(data: dict[str, Any], context: Context) -> str:
    if data.get("type") != 1:
        return ""
    return "<div class='row'>" + "".join(button(c, context) for c in data.get("components", [])) + "</div>"


def button(data: dict[str, Any], context: Context) -> str:
    if data.get("type") != 2:
        placeholder = html.escape(str(data.get("placeholder") or "Make a selection"))
        return f"<span class='button'>{placeholder} ⌄</span>"
    style = STYLES.get(int(data.get("style", 2)), "secondary")
    disabled = " disabled" if data.get("disabled") else ""
    emoji = html.escape((data.get("emoji") or {}).get("name", ""))
    label = render(str(data.get("label", "")), context, inline=True)
    link = " ↗" if style == "link" else ""
    text = " ".join(x for x in (emoji, label) if x)
    return f"<span class='button {style}{disabled}'>{text}{link}</span>"


def modal(data: dict[str, Any]) -> str:
    """The form a button opened, with each input showing its prefilled value."""
    inputs = [c for r in data.get("components", []) for c in r.get("components", [r.get("component") or r])]
    labels = {c.get("custom_id"): r.get("label") for r in data.get("components", []) if (c := r.get("component"))}
    parts = [f"<div class='mtitle'>{html.escape(str(data.get('title', '')))}</div>"]
    for c in inputs:
        if c.get("type") != 4:
            continue
        label = c.get("label") or labels.get(c.get("custom_id")) or ""
        shape = " paragraph" if c.get("style") == 2 else ""
        value = c.get("value") or c.get("placeholder") or ""
        parts.append(f"<label>{html.escape(label)}</label><div class='input{shape}'>{html.escape(value)}</div>")
    parts.append(
        "<div class='actions'><span class='button'>Cancel</span><span class='button primary'>Submit</span></div>"
    )
    return f"<div class='backdrop'><div class='modal'>{''.join(parts)}</div></div>"


def terminal(command: str, lines: list[str]) -> str:
    shown = [f"<span class='prompt'>$</span> {html.escape(command)}"]
    for line in lines:
        warn = " WARNING " in line or " ERROR " in line
        shown.append(f"<span class='warn'>{html.escape(line)}</span>" if warn else html.escape(line))
    return "<div class='terminal'>" + "\n".join(shown) + "</div>"


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.2f} MB"
