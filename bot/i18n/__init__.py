"""Translations of what Discord shows members, one TOML file per Discord locale in this folder (de.toml,
pt-BR.toml). English is not here: it stays in the code where each text is used, and every translation follows it.

Keys name a text by its place, not by its words, so that rewording the English never breaks a key:
  <command path>.name / .description                  tween.description, tween-admin.budget.set.name
  <command path>.option.<option>.name / .description  tween.option.start.description
  choice.<value>                                       choice.week
Texts may hold {placeholders}; the code passes the same names with the English text.

What Tween says in its answers and posts lives under `message.<area>.<name>`, in messages/<area>.<locale>.toml (one
file per area, so that each part of the bot keeps its own texts). The code asks for them with
`tr(locale, "message.<area>.<name>", "English text with {placeholders}", placeholders=...)`, key and English as
literals: tests/unit/test_i18n_messages.py reads every such call and holds each language to it. Private answers go
in the member's own locale (the interaction's), public posts in the server's preferred locale."""

from __future__ import annotations

import functools
import re
import string
import tomllib
from collections.abc import Mapping
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
# Discord's rule for a localized command, group or option name (it must also be lowercase where a case exists).
NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")
MAX_DESCRIPTION = 100
MESSAGES = "message."


def locales() -> tuple[str, ...]:
    """The Discord locales Tween is translated into (English, the code's own, excluded)."""
    return tuple(sorted(p.stem for p in FOLDER.glob("*.toml")))


@functools.cache
def catalog(locale: str) -> Mapping[str, str]:
    """Every text of one locale by its dotted key; empty for a locale without a file (English among them)."""
    path = FOLDER / f"{locale}.toml"
    if not path.is_file():
        return {}
    texts: dict[str, str] = {}
    for part in (path, *sorted((FOLDER / "messages").glob(f"*.{locale}.toml"))):
        with part.open("rb") as file:
            texts.update(_flatten(tomllib.load(file)))
    return texts


def lookup(locale: str, key: str) -> str | None:
    return catalog(locale).get(key)


def text(locale: str | None, key: str, english: str, **values: object) -> str:
    """A text in the reader's language (a Discord locale such as "de") when there is a translation, else the English
    the code passes; either with its placeholders filled in."""
    template = lookup(locale, key) if locale else None
    return fill(english if template is None else template, values)


def tr(locale: str | None, key: str, english: str, **values: object) -> str:
    """text(), under the name the message-catalog test looks for: `key` and `english` must be literals."""
    return text(locale, key, english, **values)


def command(locale: str | None, path: str) -> str:
    """A command as the member types it in their language: command("de", "queue.show") is "/warteschlange anzeigen".
    `path` is the command's key (see above); a part without a translation keeps its English name."""
    parts = path.split(".")
    names = [(lookup(locale, f"{'.'.join(parts[: i + 1])}.name") if locale else None) or p for i, p in enumerate(parts)]
    return "/" + " ".join(names)


def option(locale: str | None, path: str, name: str) -> str:
    """An option of a command as the member sees it in their language: option("de", "queue.cancel", "job")."""
    return (lookup(locale, f"{path}.option.{name}.name") if locale else None) or name


def fill(template: str, values: Mapping[str, object]) -> str:
    """A template with its placeholders filled in; one without placeholders comes back as it is."""
    return template.format_map(values) if placeholders(template) else template


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def valid_name(name: str) -> bool:
    """Whether Discord takes this as a localized command, group or option name."""
    return bool(NAME.match(name)) and name == name.lower()


def _flatten(table: Mapping[str, object], prefix: str = "") -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs += _flatten(value, dotted + ".")
        elif isinstance(value, str):
            pairs.append((dotted, value))
        else:
            raise ValueError(f"{dotted}: a translation is a string, not {type(value).__name__}")
    return pairs
