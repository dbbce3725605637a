"""The operator documentation stays true to the code: every configuration key and environment variable is in the
README's tables with its real default, links resolve, the documented commands, permissions and metrics exist."""

import ast
import re
import tomllib
from pathlib import Path

import discord
import pytest

from bot import settings as settings_module
from bot.app import INVITE_PERMISSIONS, SYNC_HINT, invite_url
from bot.settings import _ENV_KEYS, REQUIRED_SECRETS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
DEFAULTS = tomllib.loads((ROOT / "config" / "default.toml").read_text())
# Discord's names for the permission bits Tween asks for, as the Discord client and OPERATIONS.md spell them.
PERMISSION_NAMES = {
    "read_messages": "View Channels",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
    "read_message_history": "Read Message History",
    "create_public_threads": "Create Public Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "manage_threads": "Manage Threads",
}


def section(text: str, heading: str) -> str:
    """The body of a `## heading` section, up to the next heading of the same level."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def tables(text: str) -> list[list[list[str]]]:
    """Every markdown table in `text`, as rows of cells (header included, the --- line dropped)."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def table_with_header(text: str, *header: str) -> list[list[str]]:
    matches = [t for t in tables(text) if tuple(t[0][: len(header)]) == header]
    assert len(matches) == 1, f"expected one table headed {header}, found {len(matches)}"
    return matches[0][1:]


def code(cell: str) -> str:
    """The text inside the first `backticks` of a cell ('' when there are none)."""
    match = re.search(r"`([^`]*)`", cell)
    return match[1] if match else ""


def config_rows() -> dict[str, list[str]]:
    rows = table_with_header(section(README.read_text(), "Configuration"), "key", "default")
    keys = [code(row[0]) for row in rows]
    assert len(keys) == len(set(keys)), "a key is listed twice"
    return dict(zip(keys, rows, strict=True))


def env_rows() -> dict[str, list[str]]:
    rows = table_with_header(section(README.read_text(), "Configuration"), "variable", "required", "default")
    return {code(row[0]): row for row in rows}


def default_keys() -> dict[str, object]:
    """Every leaf of default.toml by its dotted name; nested tables ([tiers.pro]) give `tiers.pro.endpoint`."""

    def leaves(prefix: str, table: dict[str, object]) -> dict[str, object]:
        found: dict[str, object] = {}
        for key, value in table.items():
            found |= leaves(f"{prefix}{key}.", value) if isinstance(value, dict) else {f"{prefix}{key}": value}
        return found

    return leaves("", DEFAULTS)


def test_every_config_key_is_in_the_readme_table_and_nothing_else_is():
    documented, real = set(config_rows()), set(default_keys())
    assert not real - documented, f"missing from the README's configuration table: {sorted(real - documented)}"
    assert not documented - real, f"in the README's table but not in config/default.toml: {sorted(documented - real)}"


@pytest.mark.parametrize("key", sorted(default_keys()))
def test_readme_shows_each_keys_real_default(key):
    cell = config_rows()[key][1]
    shown = tomllib.loads(f"value = {code(cell)}")["value"]
    assert shown == default_keys()[key], f"README says {key} defaults to {code(cell)}"


def test_every_environment_variable_is_documented():
    documented = set(env_rows())
    assert set(_ENV_KEYS) <= documented, f"undocumented: {sorted(set(_ENV_KEYS) - documented)}"
    # TWEEN_CONFIG is read by Settings.load itself rather than mapped onto a key.
    assert "TWEEN_CONFIG" in Path(settings_module.__file__).read_text()
    assert documented <= set(_ENV_KEYS) | {"TWEEN_CONFIG"}, "the README lists a variable the code never reads"


def test_environment_rows_name_the_key_they_override_and_its_default():
    rows = env_rows()
    for name, (table, key) in _ENV_KEYS.items():
        row = rows[name]
        assert (row[1] == "yes") == (name in REQUIRED_SECRETS), name
        if table in DEFAULTS and key in DEFAULTS[table]:
            assert f"overrides `{table}.{key}`" in row[3], f"{name}: say which key it overrides"
            assert code(row[2]) == str(DEFAULTS[table][key]), f"{name}: its default is {DEFAULTS[table][key]!r}"


def test_the_two_commands_promise_holds():
    two = section(README.read_text(), "Two commands")
    assert "make test" in two and "make run" in two
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: .*\n\t\$\(BIN\)/python -m bot$", makefile, re.MULTILINE)
    assert re.search(r"^test: .*\n(\t.*\n)*\t\$\(BIN\)/python -m pytest", makefile, re.MULTILINE)


def test_readme_links_the_operator_docs():
    text = README.read_text()
    assert "(docs/OPERATIONS.md)" in text and "(docs/ARCHITECTURE.md)" in text


def slugs(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a markdown file."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", strip_code(path.read_text()), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def strip_code(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("doc", [README, OPERATIONS, ARCHITECTURE], ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(doc):
    text = re.sub(r"`[^`\n]*`", "", strip_code(doc.read_text()))
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        assert linked.exists(), f"{doc.name} links to missing {target}"
        if anchor:
            assert anchor in slugs(linked), f"{doc.name} links to missing anchor {target}"


def admin_commands() -> set[str]:
    """`group name` for every /tween-admin subcommand in cogs/admin.py."""
    tree = ast.parse((ROOT / "cogs" / "admin.py").read_text())
    cog = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "AdminCog")
    groups: dict[str, str] = {}
    commands: set[str] = set()
    for node in cog.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            names = {k.arg: k.value.value for k in node.value.keywords if isinstance(k.value, ast.Constant)}
            if "name" in names:
                groups[node.targets[0].id] = names["name"]
        if isinstance(node, ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "command":
                    name = next(k.value.value for k in decorator.keywords if k.arg == "name")
                    commands.add(f"{groups[decorator.func.value.id]} {name}")
    return commands


def test_operations_documents_every_admin_command_and_no_other():
    real = admin_commands()
    assert len(real) >= 15
    documented = set(re.findall(r"/tween-admin (\w+ \w+)", OPERATIONS.read_text()))
    assert not real - documented, f"not in OPERATIONS.md: {sorted(real - documented)}"
    assert not documented - real, f"OPERATIONS.md names commands that do not exist: {sorted(documented - real)}"


def test_invite_permissions_are_each_explained_in_the_operator_guide():
    """bot/app.py's INVITE_PERMISSIONS, which the bot's own invite link asks for, are the README's and exactly the
    rows of OPERATIONS.md's permission table."""
    readme = README.read_text()
    value = INVITE_PERMISSIONS.value
    assert f"permissions={value}" in readme and f"`{value}`" in readme and f"`{value}`" in OPERATIONS.read_text()
    assert invite_url(1234).replace("1234", "<APPLICATION_ID>") in readme
    granted = [name for name, on in INVITE_PERMISSIONS if on]
    unexplained = set(granted) - set(PERMISSION_NAMES)
    assert not unexplained, f"the invite asks for {unexplained}: explain them in OPERATIONS.md and name them here"
    rows = table_with_header(section(OPERATIONS.read_text(), "What Tween needs from Discord"), "permission", "bit")
    explained = {row[0]: int(row[1]) for row in rows}
    expected = {PERMISSION_NAMES[name]: getattr(discord.Permissions, name).flag.bit_length() - 1 for name in granted}
    assert explained == expected
    assert sum(1 << bit for bit in explained.values()) == value


def test_the_sync_command_the_log_suggests_is_the_documented_one():
    for command in re.findall(r"`([^`]+)`", SYNC_HINT):
        assert command in README.read_text() or command in OPERATIONS.read_text(), command


def test_documented_metrics_exist():
    source = ROOT / "bot" / "ops" / "metrics.py"
    if not source.exists():
        pytest.skip("bot/ops/metrics.py is not in this tree yet")
    text = source.read_text()
    documented = set(re.findall(r"\b(tween_[a-z_]+)", OPERATIONS.read_text()))
    assert documented
    for name in documented:
        base = re.sub(r"_(total|bucket|sum|count|created)$", "", name)
        assert f'"{base}"' in text, f"OPERATIONS.md names a metric bot/ops/metrics.py does not define: {name}"
