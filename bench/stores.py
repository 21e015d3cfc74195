"""The stores a run uses: a Redis db and the database, emptied before and after; the API key.

RAPPORT_BENCH_REDIS / RAPPORT_BENCH_POSTGRES choose them (default Redis db 14 and the
PostgreSQL database `rapport_bench`), so runs beside the test suite use stores of their own.
The PostgreSQL database is used as named: created if missing, never dropped; its `public`
schema is emptied before and after a run, so point it at a database that is yours alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

REDIS_URL = os.environ.get("RAPPORT_BENCH_REDIS", "redis://127.0.0.1:6379/14")
POSTGRES_URL = os.environ.get(
    "RAPPORT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/rapport_bench"
)
EMPTY_SCHEMA = "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"


@contextlib.contextmanager
def prepared_run(
    database: str, prefix: str, settings: dict[str, str]
) -> Iterator[tuple[dict[str, str], Path]]:
    """A run's working directory, emptied stores, migrated schema and server environment
    (`settings` on top); every server started is stopped and the directory removed after."""
    from bench.servers import stop_all
    from runtime.platform.settings import Settings
    from runtime.stores import migrate

    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with stores(database, workdir) as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "RAPPORT_DATA_DIR": str(workdir / "data"),
                "RAPPORT_SECRET_KEY": secrets.token_urlsafe(32),
                "PYTHONUNBUFFERED": "1",
                **settings,
            }
            migrate.upgrade(Settings.from_env(env).database_url)
            yield env, workdir
    finally:
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def stores(database: str, workdir: Path) -> Iterator[str]:
    """Yields the DATABASE_URL; the Redis db and the database are emptied before and after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        if database == "postgres":
            _ensure_database(POSTGRES_URL)
            _postgres(POSTGRES_URL, EMPTY_SCHEMA)
            yield POSTGRES_URL
        else:
            yield f"sqlite:///{workdir / 'rapport.db'}"
    finally:
        with contextlib.suppress(Exception):
            client.flushdb()
        client.close()
        if database == "postgres":
            with contextlib.suppress(Exception):
                _postgres(POSTGRES_URL, EMPTY_SCHEMA)


def _ensure_database(url: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    server, name = url.rsplit("/", 1)

    async def run() -> None:
        conn = await asyncpg.connect(server + "/postgres")
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    _blocking(run)


def _postgres(url: str, statement: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    _blocking(run)


def _blocking(run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    # In a thread of its own: the benches call this from inside their own event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


async def create_api_key(env: dict[str, str]) -> str:
    from runtime.access import keys
    from runtime.platform.settings import Settings
    from runtime.stores.database import Database

    db = Database.from_settings(Settings.from_env(env))
    try:
        workspace_id = await keys.ensure_workspace(db, "bench")
        return (await keys.create_key(db, workspace_id, "bench")).plaintext
    finally:
        await db.close()
