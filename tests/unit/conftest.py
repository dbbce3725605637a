"""Fixtures the unit tests share."""

from collections.abc import AsyncIterator

import pytest

from bot.app import TweenBot
from bot.db.connection import open_database
from bot.fal import FalClient
from bot.services import build_services
from cogs import EXTENSIONS
from tests.support.settings import make_settings


@pytest.fixture
async def bot(tmp_path) -> AsyncIterator[TweenBot]:
    """The real bot class with every extension loaded (setup_hook run), never connected to Discord."""
    settings = make_settings(storage={"db_path": str(tmp_path / "t.sqlite3")})
    async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
        # `async with` as running_bot does: AutoShardedBot.close needs the queue its async setup creates.
        tween_bot = TweenBot(build_services(db, fal, settings), extensions=EXTENSIONS, track=False)
        async with tween_bot:
            await tween_bot.setup_hook()
            yield tween_bot
