"""Autocomplete as Discord does it: an interaction of type 4 for an option the synced command marks
`autocomplete: true`, answered only by callback type 8 whose choices match the option's type."""

from __future__ import annotations

from typing import Any

APPLICATION_COMMAND, AUTOCOMPLETE = 2, 4
AUTOCOMPLETE_RESULT = 8
SUBCOMMAND, GROUP = 1, 2
STRING, INTEGER, NUMBER = 3, 4, 10
MAX_SAFE = 2**53


def focused_option(
    commands: dict[str, dict[str, Any]], name: str, subcommand: tuple[str, ...], option: str
) -> dict[str, Any]:
    """The synced definition of the option a member is typing into; AssertionError when Discord would never ask."""
    command = commands.get(name)
    assert command is not None, f"/{name} was never synced: Discord only autocompletes synced commands"
    level = command
    for part in subcommand:
        level = next(o for o in level.get("options", []) if o["name"] == part and o["type"] in (SUBCOMMAND, GROUP))
    found = next((o for o in level.get("options", []) if o["name"] == option), None)
    assert found is not None, f"/{name} {' '.join(subcommand)} has no option {option!r}"
    assert found.get("autocomplete"), f"option {option!r} does not ask for autocomplete"
    return found


def callback_problem(interaction_type: int, focused: dict[str, Any] | None, kind: int, data: dict[str, Any]) -> str:
    """Why Discord would refuse this callback for this interaction ('' when it would take it)."""
    if interaction_type == AUTOCOMPLETE and kind != AUTOCOMPLETE_RESULT:
        return f"an autocomplete interaction is answered with callback type 8, not {kind}"
    if kind != AUTOCOMPLETE_RESULT:
        return ""
    if interaction_type != AUTOCOMPLETE or focused is None:
        return "callback type 8 answers only autocomplete interactions"
    for choice in data.get("choices") or []:
        if problem := _choice_problem(focused["type"], choice):
            return f"choice {choice!r} for option {focused['name']!r}: {problem}"
    return ""


def _choice_problem(option_type: int, choice: dict[str, Any]) -> str:
    name, value = choice.get("name"), choice.get("value")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        return "a choice name is 1-100 characters"
    if option_type == STRING:
        return "" if isinstance(value, str) and len(value) <= 100 else "a string option's value is a string"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "a numeric option's value is a number"
    if option_type == INTEGER and not (isinstance(value, int) and -MAX_SAFE < value < MAX_SAFE):
        return "an integer option's value is an integer"
    return ""


def choices_of(responses: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The choices the bot answered with, or None before it answered."""
    found = next((r for r in responses if r.get("type") == AUTOCOMPLETE_RESULT), None)
    return None if found is None else list((found.get("data") or {}).get("choices") or [])
