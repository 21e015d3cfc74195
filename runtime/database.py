"""The async SQL engine, with the SQLite recipe that keeps concurrent writers correct."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from runtime import private_files
from runtime.settings import Settings

T = TypeVar("T")


class Database:
    """Owns the engine; `begin()` opens a write transaction, `connect()` a read, `write()`
    runs a short write transaction written as plain (sync) SQLAlchemy code."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._sync: Engine | None = None
        self._writer: ThreadPoolExecutor | None = None
        if self.sqlite and engine.url.database not in (None, "", ":memory:"):
            # aiosqlite takes a thread hop per cursor call (a dozen per small transaction,
            # each waiting for the event loop): hot writes run whole in one hop instead, on
            # a connection of their own in one thread (SQLite has one writer at a time anyway).
            self._sync = create_engine(engine.url.set(drivername="sqlite"))
            _sqlite_recipe(self._sync)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(make_engine(settings.database_url))

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(rapport_read_only=True)
            yield conn

    async def write(self, transaction: Callable[[Connection], T]) -> T:
        """`transaction(conn)` in one write transaction, committed unless it raises."""
        if self._sync is None:
            async with self.engine.begin() as conn:
                return await conn.run_sync(transaction)
        sync = self._sync

        def run() -> T:
            with sync.begin() as conn:
                return transaction(conn)

        return await asyncio.get_running_loop().run_in_executor(self._writer, run)

    async def close(self) -> None:
        await self.engine.dispose()
        if self._sync is not None:
            self._sync.dispose()
        if self._writer is not None:
            self._writer.shutdown(wait=False)


def make_engine(url: str) -> AsyncEngine:
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        _private_sqlite_file(Path(path))
    engine = create_async_engine(url, connect_args={"timeout": 30})
    _sqlite_recipe(engine.sync_engine)
    return engine


def _private_sqlite_file(path: Path) -> None:
    """The database file owner-only before SQLite opens it: SQLite gives its -wal and -shm
    files the database file's mode. Files an earlier version left readable are tightened."""
    if not path.parent.exists():
        private_files.private_dir(path.parent)
    with contextlib.suppress(FileExistsError):  # an empty file is a new database
        os.close(private_files.open_private(path, exclusive=True))
    for file in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        private_files.tighten(file)


def _sqlite_recipe(engine: Engine) -> None:
    # SQLite silently loses read-modify-write updates under concurrency: take the write
    # lock at BEGIN (IMMEDIATE) so a transaction never upgrades from a stale read.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers keep WAL's concurrent snapshot reads; only writers serialize.
        read_only = conn.get_execution_options().get("rapport_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
