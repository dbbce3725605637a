"""scripts/story: Discord's markdown, as the story's pictures show it (no Chromium, no bot)."""

from __future__ import annotations

import pytest

from scripts.story.markdown import Context, relative, render

NAMES = {"users": {"1": "Mira"}, "roles": {"2": "New"}, "channels": {"3": "general", "4": "mod-log"}}


def md(text: str, now: float = 0.0) -> str:
    return render(text, Context(NAMES, now=now))


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("**bold**", "<strong>bold</strong>"),
        ("*soft* and _soft_", "<em>soft</em> and <em>soft</em>"),
        ("__under__ ~~gone~~", "<u>under</u> <s>gone</s>"),
        ("snake_case_name 2*3*4", "snake_case_name 2*3*4"),
        ("`a *b* <c>`", "<code>a *b* &lt;c&gt;</code>"),
        ("```\nline *one*\n```", "<pre class='codeblock'>line *one*</pre>"),
        ("\\*not italic\\*", "*not italic*"),
        ("\\[line 1\\](x)", "[line 1](x)"),
        ("a\nb", "a<br>b"),
    ],
)
def test_the_subset_tween_writes(text, html):
    assert md(text) == html


def test_masked_and_bare_links():
    assert md("[fal.ai link](https://fal.media/v.mp4)") == "<a href='https://fal.media/v.mp4'>fal.ai link</a>"
    assert md("see https://example.com/a.") == "see <a href='https://example.com/a'>https://example.com/a</a>."


def test_a_link_to_a_message_here_is_a_pill_like_discords():
    assert md("https://discord.com/channels/9/3/5") == "<span class='mention'>#general › 💬</span>"


def test_mentions_are_pills_with_names():
    shown = md("<@1> gave <@&2> 0 s in <#4>; <@!1>; <@77>")
    assert shown.count("class='mention'") == 5
    assert "@Mira" in shown and "@New" in shown and "#mod-log" in shown and "@unknown-user" in shown


def test_quotes_become_blocks():
    assert md("> the prompt\n> goes on\nafter") == "<div class='quote'>the prompt<br>goes on</div>after"


def test_timestamps_read_as_the_reader_sees_them():
    assert md("<t:0:f>") == "<span class='stamp'>1 January 1970 00:00</span>"
    assert md("<t:3600:R>", now=0) == "<span class='stamp'>in an hour</span>"
    assert md("<t:0:R>", now=5) == "<span class='stamp'>a few seconds ago</span>"
    assert [relative(s) for s in (-120, 86400 * 4, 11 * 3600)] == ["2 minutes ago", "in 4 days", "in 11 hours"]


def test_what_a_member_typed_is_escaped_everywhere():
    typed = '<img src=x onerror=alert(1)> & "quotes" <script>'
    for text in (typed, f"**{typed}**", f"> {typed}", f"`{typed}`", f"[{typed}](https://x.y)"):
        shown = md(text)
        assert "<img" not in shown and "<script" not in shown, text
        assert "&lt;img" in shown


def test_a_link_address_cannot_break_out_of_its_attribute():
    shown = md("[x](https://a.b/'onmouseover='alert(1))")
    assert "'onmouseover=" not in shown


def test_placeholder_characters_in_the_text_are_dropped_not_trusted():
    assert md("\ue0000\ue001 **x**") == "0 <strong>x</strong>"


def test_a_long_thread_name_is_cut_in_its_pill():
    names = NAMES | {"channels": {"5": "Tween #1 · The city wakes up: night turns into sunrise over @Image1"}}
    shown = render("<#5> and https://discord.com/channels/9/5/6", Context(names))
    assert shown.count("#Tween #1 · The city wakes up: night…") == 2 and "sunrise" not in shown


def test_list_items_headings_and_subtext_are_blocks():
    shown = md("**Per member:**\n- Mira · 3 videos\n- <@1> · 2 videos\n## Big\n-# small print\n2 - 1 = 1")
    assert shown == (
        "<strong>Per member:</strong><br><div class='li'>Mira · 3 videos</div>"
        "<div class='li'><span class='mention'>@Mira</span> · 2 videos</div>"
        "<div class='h2'>Big</div><div class='subtext'>small print</div>2 - 1 = 1"
    )
