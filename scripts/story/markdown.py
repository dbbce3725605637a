"""Discord's markdown, for the subset Tween writes, to HTML: **bold**, *italics*/_italics_, __underline__,
~~strike~~, `code`, ```code blocks```, [masked links](url), bare links, > quotes, - lists, # headings, -# subtext,
\\-escaped characters, mentions (<@user>, <@&role>, <#channel>) as pills and <t:unix:style> timestamps. Every piece
of text is HTML-escaped: the text is the bot's, and the bot echoes what members typed."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

Names = dict[str, dict[str, str]]

_MARK = "\ue000"  # private-use characters: a placeholder is _MARK + number + _END
_END = "\ue001"
_CODE_BLOCK = re.compile(r"```(?:[a-z0-9_+-]*\n)?(.*?)```", re.S)
_CODE = re.compile(r"``?([^`]+?)``?")
_ESCAPE = re.compile(r"\\([^\w\s])")
_MENTION = re.compile(r"<(@!?|@&|#)(\d+)>")
_STAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_LINK = re.compile(r"\[([^\]\n]+)\]\(<?(https?://[^\s)>]+)>?\)")
_MESSAGE_LINK = re.compile(r"https://discord\.com/channels/\d+/(\d+)(?:/\d+)?$")
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,:;)\]]")
_STYLES = [
    (re.compile(r"\*\*(.+?)\*\*", re.S), "strong"),
    (re.compile(r"__(.+?)__", re.S), "u"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", re.S), "em"),
    (re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])", re.S), "em"),
    (re.compile(r"~~(.+?)~~", re.S), "s"),
]


@dataclass
class Context:
    """Who and what mentions name, and the moment relative timestamps are read at."""

    names: Names = field(default_factory=lambda: {"users": {}, "roles": {}, "channels": {}})
    now: float = 0.0


@dataclass
class _Held:
    pieces: list[str] = field(default_factory=list)

    def hold(self, piece: str) -> str:
        self.pieces.append(piece)
        return f"{_MARK}{len(self.pieces) - 1}{_END}"

    def restore(self, text: str) -> str:
        pattern = re.compile(f"{_MARK}(\\d+){_END}")
        while pattern.search(text):
            text = pattern.sub(lambda m: self.pieces[int(m[1])], text)
        return text


def render(text: str, context: Context, *, inline: bool = False) -> str:
    """Discord markdown to HTML. `inline`: no block quotes (titles, field names, button labels)."""
    held = _Held()
    text = text.replace(_MARK, "").replace(_END, "")
    text = _CODE_BLOCK.sub(
        lambda m: held.hold(f"<pre class='codeblock'>{html.escape(m[1].strip(chr(10)))}</pre>"), text
    )
    text = _CODE.sub(lambda m: held.hold(f"<code>{html.escape(m[1])}</code>"), text)
    text = _ESCAPE.sub(lambda m: held.hold(html.escape(m[1])), text)
    text = _MENTION.sub(lambda m: held.hold(_mention(m[1], m[2], context.names)), text)
    text = _STAMP.sub(lambda m: held.hold(_stamp(int(m[1]), m[2] or "f", context.now)), text)
    text = _LINK.sub(lambda m: held.hold(_link(m[2], _styled(html.escape(m[1])))), text)
    text = _URL.sub(lambda m: held.hold(_url(m[0], context.names)), text)
    text = _styled(html.escape(text, quote=False))
    if not inline:
        text = _quotes(text)
    # A quote block ends its own line.
    return held.restore(text.replace("</div>\n", "</div>").replace("\n", "<br>"))


def _styled(text: str) -> str:
    for pattern, tag in _STYLES:
        text = pattern.sub(lambda m, tag=tag: f"<{tag}>{m[1]}</{tag}>", text)
    return text


def _quotes(text: str) -> str:
    """Lines starting with "> " become one quote block per run of such lines; other lines may be list items,
    headings or subtext."""
    out: list[str] = []
    quoted: list[str] = []
    for line in text.split("\n"):
        if line.startswith("&gt; ") or line == "&gt;":
            quoted.append(line[5:])
            continue
        if quoted:
            out.append(_quote_block(quoted))
            quoted = []
        out.append(_block(line))
    if quoted:
        out.append(_quote_block(quoted))
    return "\n".join(out)


def _block(line: str) -> str:
    """A line that is a list item, a heading or subtext (-#) in Discord's markdown."""
    if found := re.match(r"(?:-|\*) (.*)$", line):
        return f"<div class='li'>{found[1]}</div>"
    if found := re.match(r"-# (.*)$", line):
        return f"<div class='subtext'>{found[1]}</div>"
    if found := re.match(r"(#{1,3}) (.*)$", line):
        return f"<div class='h{len(found[1])}'>{found[2]}</div>"
    return line


def _quote_block(lines: list[str]) -> str:
    return "<div class='quote'>" + "<br>".join(lines) + "</div>"


def _mention(kind: str, ident: str, names: Names) -> str:
    if kind == "@&":
        return f"<span class='mention'>@{html.escape(names['roles'].get(ident, 'unknown-role'))}</span>"
    if kind == "#":
        return f"<span class='mention'>#{html.escape(_short(names['channels'].get(ident, 'unknown')))}</span>"
    return f"<span class='mention'>@{html.escape(names['users'].get(ident, 'unknown-user'))}</span>"


def _url(url: str, names: Names) -> str:
    """A bare link; one to a message or channel of this server shows as Discord shows it, a pill."""
    if (found := _MESSAGE_LINK.match(url)) and found[1] in names["channels"]:
        channel = html.escape(_short(names["channels"][found[1]]))
        return (
            f"<span class='mention'>#{channel} › 💬</span>"
            if url.count("/") == 6
            else f"<span class='mention'>#{channel}</span>"
        )
    return _link(url, html.escape(url))


def _short(name: str, limit: int = 36) -> str:
    """A thread's long name, cut as the client cuts it in a pill."""
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def _link(url: str, label: str) -> str:
    return f"<a href='{html.escape(url)}'>{label}</a>"


def _stamp(unix: int, style: str, now: float) -> str:
    moment = datetime.fromtimestamp(unix, UTC)
    shown = relative(unix - now) if style == "R" else moment.strftime(FORMATS[style])
    return f"<span class='stamp'>{html.escape(shown)}</span>"


FORMATS = {
    "t": "%H:%M",
    "T": "%H:%M:%S",
    "d": "%d/%m/%Y",
    "D": "%-d %B %Y",
    "f": "%-d %B %Y %H:%M",
    "F": "%A, %-d %B %Y %H:%M",
}
_UNITS: list[tuple[float, str]] = [
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
]


def relative(seconds: float) -> str:
    """As Discord's client says it: "in 11 hours", "3 days ago", "a few seconds ago"."""
    size = abs(seconds)
    if size < 45:
        words = "a few seconds"
    else:
        words = next((_count(size, unit, name) for unit, name in _UNITS if size >= unit * 0.75), "a minute")
    return f"in {words}" if seconds > 0 else f"{words} ago"


def _count(size: float, unit: float, name: str) -> str:
    n = max(1, round(size / unit))
    return f"a{'n' if name == 'hour' else ''} {name}" if n == 1 else f"{n} {name}s"
