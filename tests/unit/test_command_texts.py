"""Every command, group and option the bot registers explains itself: no option shows Discord's bare "…"."""

from collections.abc import Iterator
from typing import Any

import pytest

from bot.app import TweenBot

PLACEHOLDERS = {"", "…", "...", "-", "todo", "tbd"}
SUBCOMMAND, GROUP = 1, 2


@pytest.fixture
def payloads(bot: TweenBot) -> list[dict[str, Any]]:
    return [c.to_dict(bot.tree) for c in bot.tree.get_commands()]


def described(payload: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """(where, description) for a command and everything under it."""
    here = f"{path} {payload['name']}".strip()
    yield here, payload.get("description", "")
    for option in payload.get("options", []):
        if option["type"] in (SUBCOMMAND, GROUP):
            yield from described(option, here)
        else:
            yield f"{here} {option['name']}", option.get("description", "")


def test_every_command_and_option_has_a_real_description(payloads):
    found = [pair for payload in payloads for pair in described(payload)]
    assert len(found) > 40  # the walk reached the options, not just the top-level commands
    lacking = [where for where, text in found if text.strip().casefold() in PLACEHOLDERS or "…" in text]
    assert lacking == []
    too_long = [where for where, text in found if len(text) > 100]
    assert too_long == []


def test_help_and_tween_again_are_registered(payloads):
    names = {p["name"] for p in payloads}
    assert {"help", "tween", "tween-again"} <= names
