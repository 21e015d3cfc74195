"""Fixtures for runtime tests that generate turns themselves: stores no other sweeper sees."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from api.app import create_app
from runtime.platform.settings import Settings
from runtime.stores.database import Database
from tests.conftest import new_key, serving
from tests.own_stores import own_database


@pytest.fixture
async def own_db(settings: Settings, tmp_path: Path) -> AsyncIterator[Database]:
    """A database of this test's own: the shared test server's sweeper recovers every turn
    its database owes, so a test that writes turns itself must not share one with it."""
    async with own_database(settings, tmp_path) as url:
        db = Database.from_settings(dataclasses.replace(settings, database_url=url))
        yield db
        await db.close()


@dataclasses.dataclass
class Quiet:
    """A database of this test's own, and an API on it with no sweeper: only the test's own
    runners recover its turns (the shared test server's sweeper would take them too)."""

    db: Database
    redis: Redis
    client: httpx.AsyncClient


@pytest.fixture
async def quiet(settings: Settings, own_db: Database) -> AsyncIterator[Quiet]:
    url = own_db.engine.url.render_as_string(hide_password=False)
    own = dataclasses.replace(settings, database_url=url)
    async with serving(create_app(own), lifespan="on") as base_url:
        redis = Redis.from_url(own.redis_url or "")
        auth = {"authorization": f"Bearer {await new_key(own_db)}"}
        try:
            async with httpx.AsyncClient(base_url=base_url, headers=auth) as client:
                yield Quiet(own_db, redis, client)
        finally:
            await redis.aclose()
