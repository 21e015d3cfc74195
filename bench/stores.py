"""The stores a run uses: a Redis db and the database, emptied before and after; the API key.

RAPPORT_BENCH_REDIS / RAPPORT_BENCH_POSTGRES choose them (default Redis db 14 and the
PostgreSQL server of database `test`), so runs beside the test suite use stores of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

REDIS_URL = os.environ.get("RAPPORT_BENCH_REDIS", "redis://127.0.0.1:6379/14")
POSTGRES_URL = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BENCH_DATABASE = "rapport_bench"


@contextlib.contextmanager
def stores(database: str, workdir: Path) -> Iterator[str]:
    """Yields the DATABASE_URL; the Redis db and the database are emptied before and after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    admin = POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"
    try:
        if database == "postgres":
            _postgres(admin, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
            _postgres(admin, f'CREATE DATABASE "{BENCH_DATABASE}"')
            yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + BENCH_DATABASE
        else:
            yield f"sqlite:///{workdir / 'rapport.db'}"
    finally:
        with contextlib.suppress(Exception):
            client.flushdb()
        client.close()
        if database == "postgres":
            with contextlib.suppress(Exception):
                _postgres(admin, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def _postgres(url: str, statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


async def create_api_key(env: dict[str, str]) -> str:
    from runtime import keys
    from runtime.database import Database
    from runtime.settings import Settings

    db = Database.from_settings(Settings.from_env(env))
    try:
        workspace_id = await keys.ensure_workspace(db, "bench")
        return (await keys.create_key(db, workspace_id, "bench")).plaintext
    finally:
        await db.close()
