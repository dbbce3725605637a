"""What Discord refuses in a bulk overwrite of slash commands beyond the schema: names that break its naming rule,
localizations for locales it does not know, and two siblings that would show the same name in one language."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.discord_fake import spec

# Discord's rule for chat-input command, group and option names, localized or not (and lowercase where a case exists).
NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")
SUBCOMMAND, GROUP = 1, 2


def sync_problem(commands: list[dict[str, Any]]) -> str:
    """Why Discord would refuse this list of commands ('' when it would take it)."""
    return _siblings_problem(commands, "") or next(
        (p for c in commands if (p := _command_problem(c, f"/{c.get('name')}"))), ""
    )


def _command_problem(item: dict[str, Any], where: str) -> str:
    problem = _names_problem(item, where) or _descriptions_problem(item, where)
    options = item.get("options") or []
    for choice in (c for o in options for c in o.get("choices") or []):
        problem = problem or _localized_problem(choice.get("name_localizations"), f"{where} choice", 100, None)
    problem = problem or _siblings_problem(options, where)
    for option in options:
        problem = problem or _command_problem(option, f"{where} {option.get('name')}")
    return problem


def _names_problem(item: dict[str, Any], where: str) -> str:
    if not _valid_name(str(item.get("name", ""))):
        return f"{where}: the name {item.get('name')!r} breaks Discord's naming rule"
    return _localized_problem(item.get("name_localizations"), f"{where} name", 32, _valid_name)


def _descriptions_problem(item: dict[str, Any], where: str) -> str:
    return _localized_problem(item.get("description_localizations"), f"{where} description", 100, None)


def _localized_problem(texts: dict[str, str] | None, where: str, longest: int, rule: Any) -> str:
    known = _locales()
    for locale, text in (texts or {}).items():
        if known and locale not in known:
            return f"{where}: {locale!r} is not a Discord locale"
        if not isinstance(text, str) or not 1 <= len(text) <= longest:
            return f"{where} [{locale}]: 1 to {longest} characters"
        if rule is not None and not rule(text):
            return f"{where} [{locale}]: {text!r} breaks Discord's naming rule"
    return ""


def _siblings_problem(items: list[dict[str, Any]], where: str) -> str:
    for locale in {"", *(k for i in items for k in (i.get("name_localizations") or {}))}:
        shown = [(i.get("name_localizations") or {}).get(locale, i.get("name")) for i in items]
        if len(shown) != len(set(shown)):
            return f"{where or 'the commands'}: two share a name in {locale or 'the default language'}: {shown}"
    return ""


def _valid_name(name: str) -> bool:
    return bool(NAME.match(name)) and name == name.lower()


def _locales() -> set[str]:
    schema = spec.schemas().get("AvailableLocalesEnum", {})
    return {entry["const"] for entry in schema.get("oneOf", [])}
