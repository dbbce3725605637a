"""compose.scale.yaml (PostgreSQL and two shard processes), checked by reading it: Docker does not run here, so the
file is parsed and held to what the README and docs/OPERATIONS.md promise of it."""

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.app import SHUTDOWN_GRACE
from bot.settings import REQUIRED_SECRETS, Settings
from tests.unit.test_docker import SECRET_NAME, env_of, parse

yaml = pytest.importorskip("yaml")  # a dev dependency

ROOT = Path(__file__).resolve().parents[2]
SCALE = ROOT / "compose.scale.yaml"
TWEENS = ("tween-0", "tween-1")
# ${NAME}, ${NAME:?message} or ${NAME?message}: compose's required forms; ${NAME:-default} would commit a default.
REFERENCE = re.compile(r"\$\{(\w+)(?:(:?[?-])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(SCALE.read_text())


def interpolate(value: str, env: dict[str, str]) -> str:
    """What compose makes of `value` with `env` as the .env file (a required variable that is missing fails)."""

    def fill(match: re.Match[str]) -> str:
        assert match[1] in env, f"{match[1]} is not set"
        return env[match[1]]

    return REFERENCE.sub(fill, value)


def tween_env(service: dict[str, Any], password: str = "pw0123") -> dict[str, str]:
    """The variables a Tween container starts with: the image's ENV, then .env's secrets, then `environment`."""
    image = env_of(parse((ROOT / "Dockerfile").read_text())[1][-1])
    secrets = {name: "placeholder-secret" for name in REQUIRED_SECRETS}
    own = {
        key: interpolate(str(value), {"POSTGRES_PASSWORD": password}) for key, value in service["environment"].items()
    }
    return {**image, **secrets, **own}


def test_the_services_are_postgres_and_two_tween_processes(compose):
    assert set(compose["services"]) == {"postgres", *TWEENS}


def test_postgres_is_the_official_image_on_a_pinned_major_with_its_data_on_a_named_volume(compose):
    postgres = compose["services"]["postgres"]
    repository, _, tag = postgres["image"].partition(":")
    assert repository == "postgres" and re.match(r"1[67]\b", tag), postgres["image"]
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data" and volume in compose["volumes"]
    assert postgres["restart"] == "unless-stopped"
    assert "ports" not in postgres, "only the Tween containers need to reach the database"
    assert "env_file" not in postgres, "the database gets no Discord token or fal key"


def test_postgres_health_check_asks_pg_isready_over_tcp(compose):
    check = compose["services"]["postgres"]["healthcheck"]
    command = check["test"]
    assert command[0] == "CMD" and command[1] == "pg_isready"
    assert "127.0.0.1" in command, "the socket answers ready during the image's first-start initialisation"
    environment = compose["services"]["postgres"]["environment"]
    assert environment["POSTGRES_USER"] in command and environment["POSTGRES_DB"] in command


def test_each_tween_process_is_built_like_the_single_one(compose):
    single = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["tween"]
    for name in TWEENS:
        service = compose["services"][name]
        assert (service["build"], service["image"]) == (single["build"], single["image"]), name
        assert service["env_file"] == single["env_file"] == ".env"
        assert service["restart"] == "unless-stopped"
        grace = re.fullmatch(r"(\d+)s", service["stop_grace_period"])
        assert grace and int(grace[1]) > SHUTDOWN_GRACE
        assert service["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "bot", "health"]


def test_shard_ids_cover_every_shard_of_the_count_exactly_once(compose):
    plans = [Settings.load(tween_env(compose["services"][name])).discord.shards for name in TWEENS]
    counts = {plan.count for plan in plans}
    assert len(counts) == 1 and None not in counts, "every process must be given the same TWEEN_SHARD_COUNT"
    count = counts.pop()
    owned = [shard for plan in plans for shard in plan.ids or ()]
    assert sorted(owned) == list(range(count)), f"shards {owned} of {count}"


def test_each_tween_process_uses_postgres_and_answers_its_health_check(compose):
    environment = compose["services"]["postgres"]["environment"]
    published = set()
    for name in TWEENS:
        service = compose["services"][name]
        settings = Settings.load(tween_env(service))
        url = urlsplit(settings.storage.target)
        assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432), name
        assert (url.username, url.password, url.path) == (environment["POSTGRES_USER"], "pw0123", "/tween"), name
        assert url.path.lstrip("/") == environment["POSTGRES_DB"]
        assert settings.server.enabled, f"{name}: `python -m bot health` needs the HTTP server"
        (port,) = service["ports"]
        host, host_port, container_port = port.split(":")
        assert host == "127.0.0.1" and int(container_port) == settings.server.port
        published.add(host_port)
    assert len(published) == len(TWEENS), "each process publishes its /health on its own host port"


def test_only_the_first_process_mounts_the_single_process_sqlite_volume(compose):
    single = yaml.safe_load((ROOT / "compose.yaml").read_text())
    (name,) = single["volumes"]
    assert f"{name}:/data" in compose["services"]["tween-0"]["volumes"], "migrate-db reads the SQLite file there"
    assert name in compose["volumes"]
    assert "volumes" not in compose["services"]["tween-1"], "one process only near the SQLite file"


def test_no_secret_value_is_written_in_the_file(compose):
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        assert not set(environment) & set(REQUIRED_SECRETS), f"{name}: secrets come from .env"
        for key, value in environment.items():
            if SECRET_NAME.search(key):
                assert REFERENCE.fullmatch(str(value)), f"{name}: {key} is written in the file"
            password = urlsplit(str(value)).password if "://" in str(value) else None
            if password is not None:
                assert REFERENCE.fullmatch(password), f"{name}: {key} holds a password"
    for reference in REFERENCE.finditer(SCALE.read_text()):
        if SECRET_NAME.search(reference[1]):
            assert reference[2] in (":?", "?"), f"${{{reference[1]}}} must be required, with no default"


def test_a_missing_password_stops_compose_rather_than_starting_without_one(compose):
    value = compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    with pytest.raises(AssertionError, match="POSTGRES_PASSWORD is not set"):
        interpolate(value, {})
    assert REFERENCE.fullmatch(value)[2] == ":?", "compose refuses to start when it is unset or empty"


def test_the_docs_give_the_commands_for_this_file():
    readme = (ROOT / "README.md").read_text()
    operations = (ROOT / "docs" / "OPERATIONS.md").read_text()
    assert "docker compose -f compose.scale.yaml up -d" in readme and "(compose.scale.yaml)" in readme
    migrate = re.search(r"docker compose -f compose\.scale\.yaml run --rm (.*migrate-db.*)", operations)
    assert migrate and "tween-0" in migrate[1] and '--to "$TWEEN_DATABASE_URL"' in migrate[1]
    assert "pg_dump" in operations and "POSTGRES_PASSWORD" in operations
