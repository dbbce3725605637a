"""Which pictures the story becomes: each page is a list of recorded messages (or a form, or the terminal) rendered
to HTML in a build folder, beside the attachments' files and the videos' posters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.story import html
from scripts.story.markdown import Context
from scripts.story.poster import first_frame
from scripts.story.record import Event, Recording


@dataclass
class Page:
    name: str  # docs/story/<name>.png
    title: str
    body: str
    width: int = 760


def save_files(recording: Recording, folder: Path) -> html.Files:
    """Every attachment the bot sent, written beside the pages; each video also gets a poster (its first frame)."""
    files: html.Files = {}
    (folder / "files").mkdir(parents=True, exist_ok=True)
    for aid, attachment in recording.files.items():
        path = folder / "files" / f"{aid}-{attachment.filename}"
        path.write_bytes(attachment.data)
        files[aid] = f"files/{path.name}"
        if attachment.filename.lower().endswith(html.VIDEO_TYPES):
            poster = path.with_suffix(".poster.jpg")
            if first_frame(path, poster):
                files[f"{aid}:poster"] = f"files/{poster.name}"
    return files


def build(recording: Recording, files: html.Files) -> list[Page]:
    story = Story(recording, files)
    pages = [
        story.terminal_page(),
        story.card_states(),
        story.channel("general", "channel-general", "the channel at the end"),
        story.thread_page(),
        story.private_answers("private-answers", "what members saw privately", moderators=False),
        story.private_answers("moderator-answers", "what the moderator saw privately", moderators=True),
        story.channel("mod-log", "mod-log", "the log channel"),
        story.usage(),
        story.remix_form(),
    ]
    return [p for p in pages if p is not None]


class Story:
    def __init__(self, recording: Recording, files: html.Files) -> None:
        self.recording = recording
        self.files = files
        self.used = {e["interaction"]: e["command"] for e in recording.events if e["kind"] == "invoked"}
        self.actions = {e["interaction"]: e for e in recording.events if e["kind"] == "action" and "interaction" in e}
        self.final: dict[str, Event] = {}
        for event in recording.messages():
            self.final[event["id"]] = event  # insertion order: first appearance; value: the last state

    def render(self, msg: Event) -> str:
        shown = msg | {"used": self.used.get(msg.get("interaction") or "")}
        return html.message(shown, Context(self.recording.names, now=msg["at"]), self.files)

    def channel(self, name: str, page: str, topic: str) -> Page | None:
        shown = [m for m in self.final.values() if m["channel"] == name and not m["thread"] and not m["ephemeral"]]
        return Page(page, name, "".join(self.render(m) for m in shown)) if shown else None

    def thread_page(self) -> Page | None:
        """The thread with the most versions, under the message it was started from."""
        threads: dict[str, list[Event]] = {}
        for m in self.final.values():
            if m["thread"] and not m["ephemeral"]:
                threads.setdefault(m["channel_id"], []).append(m)
        if not threads:
            return None
        thread_id, shown = max(threads.items(), key=lambda kv: len(kv[1]))
        starter = self.final.get(thread_id)  # a thread made from a message has that message's id
        body = (caption("the thread's first message: the card in #general") + self.render(starter)) if starter else ""
        body += "".join(self.render(m) for m in shown)
        return Page("thread", "🧵 " + shown[0]["channel"], body)

    def card_states(self) -> Page | None:
        """The first job card, each time it changed, and the private answer its member got."""
        first = next((m for m in self.recording.messages() if not m["ephemeral"] and m["embeds"]), None)
        if first is None:
            return None
        states = [m for m in self.recording.messages() if m["id"] == first["id"]]
        body = ""
        for n, state in enumerate(states, 1):
            body += caption(f"the card, state {n} of {len(states)}: {_state(state)}") + self.render(state)
        answer = next((m for m in self.final.values() if m["ephemeral"] and m["to"] == first_member(self)), None)
        if answer:
            body += caption("the private answer to the /tween") + self.render(answer)
        return Page("card-states", "general — the job card as it changes", body)

    def private_answers(self, page: str, title: str, *, moderators: bool) -> Page | None:
        moderator = self._moderator()
        shown = [
            m
            for m in self.final.values()
            if m["ephemeral"] and (m["to"] == moderator) == moderators and not _has_file(m, ".csv")
        ]
        return Page(page, title, "".join(self.why(m) + self.render(m) for m in shown)) if shown else None

    def why(self, msg: Event) -> str:
        """A caption naming what the member did that this answers."""
        action = self.actions.get(msg.get("interaction") or "")
        if action is None:
            return ""
        what = action["what"] if len(action["what"]) <= 90 else action["what"][:89] + "…"
        return caption(f"{action['who']}: {what}")

    def usage(self) -> Page | None:
        shown = [m for m in self.final.values() if m["ephemeral"] and _has_file(m, ".csv")]
        return Page("usage", "/usage", "".join(self.render(m) for m in shown)) if shown else None

    def remix_form(self) -> Page | None:
        form = next((e for e in self.recording.events if e["kind"] == "modal"), None)
        return Page("remix-form", "the Remix form", html.modal(form["modal"]), width=520) if form else None

    def terminal_page(self) -> Page | None:
        runs = [e for e in self.recording.events if e["kind"] == "terminal"]
        body = "".join(html.terminal(e["command"], e["lines"]) for e in runs)
        return Page("operator", "the operator's terminal", body, width=1100) if runs else None

    def _moderator(self) -> str | None:
        actions = [e for e in self.recording.events if e["kind"] == "action" and "/tween-admin" in e["what"]]
        return actions[0]["who"] if actions else None


def first_member(story: Story) -> str | None:
    actions = [e for e in story.recording.events if e["kind"] == "action"]
    return actions[0]["who"] if actions else None


def caption(text: str) -> str:
    return html.caption(text)


def _state(msg: Event) -> str:
    fields: list[dict[str, Any]] = (msg["embeds"][0] if msg["embeds"] else {}).get("fields", [])
    value = next((f["value"] for f in fields if f.get("name") == "State"), "")
    return value.split("<t:")[0].strip() or "changed"


def _has_file(msg: Event, suffix: str) -> bool:
    return any(a["filename"].endswith(suffix) for a in msg["attachments"])


def document(page: Page) -> str:
    return html.page(page.title, page.body, width=page.width)
