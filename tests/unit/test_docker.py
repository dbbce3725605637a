"""The container files, checked by reading them: Docker builds cannot run here, so the Dockerfile and compose.yaml
are linted for the properties the operator guide promises (pinned base, multi-stage, non-root, health check,
database on /data, no secrets baked in, every runtime package copied)."""

import fnmatch
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.app import SHUTDOWN_GRACE
from bot.settings import REQUIRED_SECRETS, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|(^|_)KEY$", re.IGNORECASE)


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def index(self, keyword: str) -> int:
        return next(i for i, (kw, _) in enumerate(self.instructions) if kw == keyword)


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, with line continuations joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a line continuation"
    return result


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults (before the first FROM) and the stages, with ${ARG}s in FROM resolved."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, args in instructions(text):
        if keyword == "FROM":
            words = args.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image, name))
        elif not stages:
            assert keyword == "ARG", f"only ARG may come before the first FROM, not {keyword}"
            key, _, value = args.partition("=")
            global_args[key] = value
        else:
            stages[-1].instructions.append((keyword, args))
    return global_args, stages


def env_of(stage: Stage) -> dict[str, str]:
    values: dict[str, str] = {}
    for args in stage.all("ENV"):
        words = shlex.split(args)
        if len(words) >= 2 and "=" not in words[0]:  # the legacy `ENV KEY value` form
            values[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            values[key] = value
    return values


def copied_sources(stage: Stage) -> set[str]:
    sources = set()
    for args in stage.all("COPY"):
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        sources.update(w.rstrip("/").removeprefix("./") for w in words[:-1])
    return sources


def ignored(patterns: list[str], path: str) -> bool:
    """Whether a path (or a folder above it) matches an ignore pattern; `!` re-includes, last match wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!").strip("/")
        matches = any(
            fnmatch.fnmatch(c, body) or fnmatch.fnmatch(c, body.removeprefix("**/")) or c.endswith("/" + body)
            for c in candidates
        )
        if matches:
            verdict = not negated
    return verdict


def ignore_patterns(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(dockerfile) -> Stage:
    return dockerfile[1][-1]


def test_parser_reads_continuations_stages_and_args():
    args, stages = parse(
        "ARG BASE=python:3.11.9-slim\nFROM ${BASE} AS one\nRUN a \\\n  b\n# note\nFROM $BASE\nUSER x\n"
    )
    assert args == {"BASE": "python:3.11.9-slim"}
    assert [(s.image, s.name) for s in stages] == [("python:3.11.9-slim", "one"), ("python:3.11.9-slim", None)]
    assert stages[0].instructions == [("RUN", "a  b")]


def test_every_base_image_is_pinned_to_a_python_release_the_project_supports(dockerfile):
    low, high = re.findall(r"(\d+\.\d+)", PYPROJECT["project"]["requires-python"])
    for stage in dockerfile[1]:
        assert "$" not in stage.image, f"unresolved ARG in FROM {stage.image}"
        repository, _, tag = stage.image.partition("@")[0].partition(":")
        assert tag and tag != "latest", f"FROM {stage.image} is not pinned"
        version = re.match(r"(\d+)\.(\d+)\.(\d+)", tag)
        assert version, f"FROM {stage.image}: pin a full version (3.11.x), not a moving tag"
        minor = (int(version[1]), int(version[2]))
        assert _version(low) <= minor < _version(high), f"{stage.image} is outside requires-python"
        assert repository.endswith("python") and "slim" in tag


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def test_build_is_multi_stage_and_the_final_stage_has_no_build_tools(dockerfile, final):
    stages = dockerfile[1]
    assert len(stages) >= 2
    builders = {s.name for s in stages[:-1]}
    froms = {re.search(r"--from=(\S+)", args)[1] for args in final.all("COPY") if "--from=" in args}
    assert froms and froms <= builders, "the final stage copies its dependencies from an earlier stage"
    for command in final.all("RUN"):
        assert not re.search(r"apt-get install|apk add|gcc|build-essential|pip install", command), command


def test_dependencies_come_from_pyproject_without_dev_extras(dockerfile):
    deps = dockerfile[1][0]
    assert "pyproject.toml" in copied_sources(deps)
    install = " ".join(deps.all("RUN"))
    assert "pyproject.toml" in install and "['project']['dependencies']" in install
    assert "optional-dependencies" not in install and "[dev]" not in install


def test_runs_as_a_non_root_user_created_in_the_image(final):
    users = final.all("USER")
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert any("useradd" in run and user in run for run in final.all("RUN"))
    last_user = max(i for i, (kw, _) in enumerate(final.instructions) if kw == "USER")
    assert last_user < final.index("ENTRYPOINT")
    if final.all("CMD"):
        assert last_user < final.index("CMD")


def test_entrypoint_is_the_bot_in_exec_form(final):
    assert json.loads(final.all("ENTRYPOINT")[-1]) == ["python", "-m", "bot"]
    assert json.loads(final.all("CMD")[-1]) == ["run"]


def test_healthcheck_runs_the_health_command(final):
    checks = final.all("HEALTHCHECK")
    assert len(checks) == 1 and "NONE" not in checks[0].upper()
    command = checks[0].split("CMD", 1)[1].strip()
    assert json.loads(command) == ["python", "-m", "bot", "health"]
    interval = re.search(r"--interval=(\d+)s", checks[0])
    assert interval and int(interval[1]) <= 60


def test_database_lives_on_the_data_volume_owned_by_the_user(final):
    volumes = [v for args in final.all("VOLUME") for v in (json.loads(args) if args.startswith("[") else args.split())]
    assert "/data" in volumes
    assert env_of(final)["TWEEN_DB_PATH"].startswith("/data/")
    user = final.all("USER")[-1]
    assert any("chown" in run and user in run and "/data" in run for run in final.all("RUN"))
    chown = next(i for i, (kw, args) in enumerate(final.instructions) if kw == "RUN" and "chown" in args)
    assert chown < final.index("VOLUME"), "changes to /data after VOLUME are discarded"


def test_http_server_listens_on_the_exposed_port_on_every_interface(final):
    env = env_of(final)
    assert final.all("EXPOSE") == ["8080"]
    assert env["TWEEN_HTTP_PORT"] == "8080"
    assert "TWEEN_CONFIG" not in env, "an operator's TWEEN_CONFIG would replace the image's"
    settings = Settings.load(
        {
            **{name: "placeholder-secret" for name in REQUIRED_SECRETS},
            "TWEEN_HTTP_HOST": env["TWEEN_HTTP_HOST"],
            "TWEEN_HTTP_PORT": env["TWEEN_HTTP_PORT"],
            "TWEEN_DB_PATH": env["TWEEN_DB_PATH"],
        }
    )
    assert settings.server.host == "0.0.0.0"
    assert settings.server.port == 8080 and settings.server.enabled
    assert settings.storage.db_path == "/data/tween.sqlite3"


def test_no_secret_is_set_in_env_or_arg(dockerfile, final):
    global_args, stages = dockerfile
    names = set(global_args)
    for stage in stages:
        names |= set(env_of(stage))
        names |= {args.partition("=")[0] for args in stage.all("ARG")}
    assert not {n for n in names if SECRET_NAME.search(n)}, names
    assert not set(REQUIRED_SECRETS) & names


def test_every_runtime_package_is_copied_and_not_docker_ignored(final):
    packages = {
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").exists()
        and any(fnmatch.fnmatch(p.name, pat) for pat in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"])
    }
    assert packages == {"bot", "cogs"}
    runtime = packages | {"config"}  # bot/settings.py reads config/default.toml next to the package
    assert runtime <= copied_sources(final)
    patterns = ignore_patterns(ROOT / ".dockerignore")
    for path in [*runtime, "pyproject.toml", "config/default.toml", "bot/db/migrations"]:
        assert not ignored(patterns, path), f".dockerignore keeps {path} out of the build"


def test_labels_name_the_image_and_its_version(final):
    labels = " ".join(final.all("LABEL"))
    assert 'org.opencontainers.image.title="tween"' in labels
    assert f'org.opencontainers.image.version="{PYPROJECT["project"]["version"]}"' in labels


def test_dockerignore_keeps_secrets_state_and_dev_files_out():
    patterns = ignore_patterns(ROOT / ".dockerignore")
    for path in [".env", ".git", ".venv", "venv", "tests", "data", "benchmarks", ".pytest_cache", ".ruff_cache"]:
        assert ignored(patterns, path), path
    for path in ["bot/__pycache__/app.cpython-311.pyc", "data/tween.sqlite3", "tween.sqlite3-wal"]:
        assert ignored(patterns, path), path


def test_gitignore_keeps_env_out_but_not_its_example():
    patterns = ignore_patterns(ROOT / ".gitignore")
    assert ignored(patterns, ".env")
    assert not ignored(patterns, ".env.example")


def test_env_example_names_the_secrets_without_values():
    lines = [line.strip() for line in (ROOT / ".env.example").read_text().splitlines()]
    assigned = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert set(REQUIRED_SECRETS) <= set(assigned)
    assert all(value == "" for value in assigned.values()), "no values, real or fake, in .env.example"


def test_compose_text_publishes_on_loopback_and_shows_the_optional_settings():
    text = COMPOSE.read_text()
    assert '"127.0.0.1:8080:8080"' in text
    commented = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    assert "TWEEN_PUBLIC_URL: https://" in commented
    assert "TWEEN_CONFIG:" in commented and ":/etc/tween/tween.toml:ro" in commented


def test_compose_file_structure():
    yaml = pytest.importorskip("yaml")  # a dev dependency
    compose = yaml.safe_load(COMPOSE.read_text())
    assert list(compose["services"]) == ["tween"]
    service = compose["services"]["tween"]
    assert service["env_file"] in (".env", [".env"])
    assert service["restart"] == "unless-stopped"
    assert "healthcheck" not in service, "the image's HEALTHCHECK applies"
    assert all(str(port).startswith("127.0.0.1:") for port in service["ports"])
    volume, _, target = next(v for v in service["volumes"] if v.split(":")[1] == "/data").partition(":")
    assert target == "/data" and volume in compose["volumes"]
    grace = re.fullmatch(r"(\d+)s", service["stop_grace_period"])
    assert grace and int(grace[1]) > SHUTDOWN_GRACE
    assert "environment" not in service or not set(service["environment"]) & set(REQUIRED_SECRETS)
