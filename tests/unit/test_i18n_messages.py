"""What Tween says, in every language it ships: each `tr(locale, "message.…", "English …")` in the code has its
key in every locale's catalog, with the same placeholders, and no catalog keeps a text the code no longer asks for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot import i18n

ROOT = Path(__file__).resolve().parents[2]


def calls() -> list[tuple[str, str, str]]:
    """(where, key, English) of every tr() call in bot/ and cogs/."""
    found = []
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "cogs").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name != "tr" or (path.name == "__init__.py" and path.parent.name == "i18n"):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            key, english = [*node.args[1:3], None, None][:2]
            assert isinstance(key, ast.Constant) and isinstance(english, ast.Constant), (
                f"{where}: tr() takes its key and its English as literals, so this test can read them"
            )
            found.append((where, key.value, english.value))
    return found


ENGLISH = {key: (where, english) for where, key, english in calls()}


def test_the_code_asks_for_message_keys_only_and_each_means_one_english_text():
    for where, key, english in calls():
        assert key.startswith(i18n.MESSAGES), f"{where}: {key} is not under {i18n.MESSAGES}"
        assert ENGLISH[key][1] == english, f"{where}: {key} has two English texts (see {ENGLISH[key][0]})"


@pytest.mark.parametrize("locale", i18n.locales())
def test_every_message_is_translated_with_the_same_placeholders(locale: str):
    catalog = {k: v for k, v in i18n.catalog(locale).items() if k.startswith(i18n.MESSAGES)}
    missing = sorted(set(ENGLISH) - set(catalog))
    assert missing == [], f"{locale} lacks {missing}"
    stale = sorted(set(catalog) - set(ENGLISH))
    assert stale == [], f"{locale} has texts the code no longer uses: {stale}"
    for key, (where, english) in ENGLISH.items():
        assert i18n.placeholders(catalog[key]) == i18n.placeholders(english), f"{locale} {key} ({where})"


def test_a_missing_translation_falls_back_to_english_and_fills_placeholders():
    assert i18n.tr("xx", "message.none.here", "Hello {name}", name="Ravi") == "Hello Ravi"
    assert i18n.tr(None, "message.none.here", "50 %") == "50 %"
