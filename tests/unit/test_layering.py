"""The layering rules, checked on the source: bot/ stays free of discord, cogs/ of SQL and HTTP, SQL and the
database driver live only in bot/db, and no import runs in a circle."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIRING = {"bot/__main__.py", "bot/app.py"}
DRIVERS = {"aiosqlite", "sqlite3", "asyncpg"}
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE|PRAGMA\s)", re.S)


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module the file imports, anywhere in it (TYPE_CHECKING blocks and functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {
                f"{node.module}.{alias.name}" for alias in node.names if _is_module(f"{node.module}.{alias.name}")
            }
    return found


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def imports_under(path: Path, prefix: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for name in imported_modules(path))


def test_bot_does_not_import_discord_outside_wiring():
    offenders = [rel(p) for p in sources("bot") if rel(p) not in WIRING and imported_roots(p) & {"discord"}]
    assert offenders == []


def test_cogs_do_not_talk_sql_or_http_nor_reach_past_the_services():
    offenders = [
        rel(p)
        for p in sources("cogs")
        if imported_roots(p) & ({"httpx", "aiohttp"} | DRIVERS)
        or imports_under(p, "bot.db")
        or imports_under(p, "bot.fal")
    ]
    assert offenders == []


def test_only_the_entry_point_in_bot_knows_the_cogs():
    offenders = [rel(p) for p in sources("bot") if rel(p) != "bot/__main__.py" and "cogs" in imported_roots(p)]
    assert offenders == []


def test_the_database_driver_is_used_only_in_bot_db():
    offenders = [
        rel(p) for p in sources("bot", "cogs") if not rel(p).startswith("bot/db/") and imported_roots(p) & DRIVERS
    ]
    assert offenders == []


def test_sql_is_written_only_in_bot_db():
    offenders = []
    for path in sources("bot", "cogs"):
        if rel(path).startswith("bot/db/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                offenders.append(f"{rel(path)}:{node.lineno}")
    assert offenders == []


def test_services_do_not_import_operations():
    offenders = [rel(p) for p in sources("bot/services") if imports_under(p, "bot.ops")]
    assert offenders == []


def test_no_import_cycle():
    graph = {module_name(p): {m for m in imported_modules(p) if _is_module(m)} for p in sources("bot", "cogs")}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == node:
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_the_sql_detector_sees_sql():
    assert SQL.search("SELECT id FROM jobs") and SQL.search("UPDATE jobs SET state = ?")
    assert not SQL.search("Select a frame from your files")
