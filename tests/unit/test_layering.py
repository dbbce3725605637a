"""The layering rules, checked on the source: bot/ stays free of discord, cogs/ of SQL and HTTP."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIRING = {"bot/__main__.py", "bot/app.py"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_bot_does_not_import_discord_outside_wiring():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "bot").rglob("*.py")
        if str(p.relative_to(ROOT)) not in WIRING and imported_roots(p) & {"discord"}
    ]
    assert offenders == []


def test_cogs_do_not_talk_sql_or_http():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "cogs").rglob("*.py")
        if imported_roots(p) & {"httpx", "aiosqlite", "sqlite3", "aiohttp"}
    ]
    assert offenders == []


def test_bot_does_not_import_cogs_except_wiring():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "bot").rglob("*.py")
        if str(p.relative_to(ROOT)) not in WIRING and "cogs" in imported_roots(p)
    ]
    assert offenders == []
