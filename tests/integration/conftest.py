"""The real job service, tracker and fal client against the fake fal server on 127.0.0.1, on a real SQLite file
and on a real PostgreSQL server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.db.connection import Database, open_database
from bot.fal import FalClient
from bot.fal.client import FalObserver
from bot.models import Requester
from bot.services import RawFrame, Services, TweenRequest, build_services
from bot.settings import Settings
from tests.fakes.fal_server import FakeFal
from tests.support.bill import end_of_test_violations
from tests.support.images import image_bytes
from tests.support.publisher import RecordingPublisher
from tests.support.settings import make_settings
from tests.support.stores import snapshot_postgres

GUILD, CHANNEL, USER = 1001, 2002, 3003


@dataclass
class Stack:
    services: Services
    db: Database
    fal: FalClient
    publisher: RecordingPublisher
    settings: Settings


# The store the current test runs on: None for the SQLite file, else a PostgreSQL URL (set by the `store` fixture).
_STORE: dict[str, str | None] = {"url": None}


def settings_for(fake: FakeFal, tmp_path: Path, **tables: dict) -> Settings:
    fal = {"queue_url": fake.queue_url, "rest_url": fake.rest_url, "key": "test-fal-key", **tables.pop("fal", {})}
    storage = {"db_path": str(tmp_path / "tween.sqlite3"), "database_url": _STORE["url"] or ""}
    return make_settings(fal=fal, storage=storage, **tables)


@contextlib.asynccontextmanager
async def open_stack(
    settings: Settings, publisher: RecordingPublisher | None = None, *, fal_observer: FalObserver | None = None
) -> AsyncIterator[Stack]:
    """Everything `python -m bot` builds except Discord; the tracker runs."""
    publisher = publisher or RecordingPublisher()
    async with open_database(settings.storage.target) as db, FalClient(settings.fal, observer=fal_observer) as fal:
        services = build_services(db, fal, settings)
        services.attach_publisher(publisher)
        await services.tracker.start()
        try:
            yield Stack(services, db, fal, publisher, settings)
        finally:
            await services.tracker.stop(grace=1.0)


def member(
    user_id: int = USER,
    *,
    roles: frozenset[int] = frozenset(),
    moderator: bool = False,
    guild_id: int = GUILD,
    channel_id: int = CHANNEL,
) -> Requester:
    return Requester(guild_id=guild_id, user_id=user_id, channel_id=channel_id, role_ids=roles, is_moderator=moderator)


MOD = member(9009, moderator=True)


def tween_request(
    *,
    duration: int = 5,
    prompt: str = "@Image1 turns into @Image2",
    end: bool = True,
    start_data: bytes | None = None,
    upload_limit: int = 10 * 1024 * 1024,
    who: Requester | None = None,
) -> TweenRequest:
    return TweenRequest(
        requester=who or member(),
        prompt=prompt,
        duration=duration,
        start=RawFrame.of(start_data or image_bytes(640, 360), "start.png"),
        end=RawFrame.of(image_bytes(640, 360, "JPEG", (10, 90, 200)), "end.jpg") if end else None,
        upload_limit=upload_limit,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Every test with a fake fal runs on both stores: the SQLite file, and a fresh PostgreSQL database."""
    url = request.getfixturevalue("tween_postgres_url") if request.param == "postgresql" else None
    _STORE["url"] = url
    yield url
    _STORE["url"] = None


@pytest.fixture
async def fake_fal(store: str | None, tmp_path: Path) -> AsyncIterator[FakeFal]:
    async with FakeFal(key="test-fal-key") as fake:
        yield fake
        if store is not None:
            await snapshot_postgres(store, tmp_path / "postgresql.sqlite3")
        assert end_of_test_violations(fake, tmp_path) == []  # every video fal billed is charged once, none refunded


@pytest.fixture
async def stack(fake_fal: FakeFal, tmp_path: Path) -> AsyncIterator[Stack]:
    async with open_stack(settings_for(fake_fal, tmp_path)) as opened:
        yield opened
