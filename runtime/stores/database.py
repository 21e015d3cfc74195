"""The async SQL engine, with the SQLite recipe that keeps concurrent writers correct."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from runtime.platform import private_files
from runtime.platform.errors import Unavailable
from runtime.platform.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    """How long a statement may wait, so that a locked table or a busy pool fails the request
    (503 unavailable) instead of holding it: PostgreSQL's lock_timeout and statement_timeout,
    SQLite's busy_timeout, and the wait for a pooled (or new) connection."""

    lock_ms: int = 3000
    statement_ms: int = 30_000
    sqlite_busy_ms: int = 5000
    connection_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Timeouts:
        return cls(
            lock_ms=settings.db_lock_timeout_ms,
            statement_ms=settings.db_statement_timeout_ms,
            sqlite_busy_ms=settings.sqlite_busy_timeout_ms,
            connection_seconds=settings.db_pool_timeout_seconds,
        )


# How long a write waits for its turn among this process's SQLite writers (docs/limits.md).
SQLITE_WRITE_QUEUE_SECONDS = 30.0
# Migrations may rightly wait and run long (an index build): the drivers' own patience.
_MIGRATION_SQLITE_BUSY_MS = 30_000


class Database:
    """Owns the engine; `begin()` opens a write transaction, `connect()` a read, `write()`
    runs a short write transaction written as plain (sync) SQLAlchemy code."""

    def __init__(self, engine: AsyncEngine, timeouts: Timeouts | None = None) -> None:
        self.engine = engine
        self.timeouts = timeouts or Timeouts()
        self.sqlite = engine.dialect.name == "sqlite"
        self._sync: Engine | None = None
        self._writer: ThreadPoolExecutor | None = None
        if self.sqlite and engine.url.database not in (None, "", ":memory:"):
            # aiosqlite takes a thread hop per cursor call (a dozen per small transaction,
            # each waiting for the event loop): hot writes run whole in one hop instead, on
            # a connection of their own in one thread (SQLite has one writer at a time anyway).
            busy_ms = self.timeouts.sqlite_busy_ms
            self._sync = create_engine(
                engine.url.set(drivername="sqlite"), connect_args={"timeout": busy_ms / 1000}
            )
            _sqlite_recipe(self._sync, busy_ms)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        # SQLite has one writer at a time. Left to its busy handler, this process's writers
        # would poll for the file lock with growing sleeps (up to 100 ms), in no order, and a
        # burst (500 respondents answering at once) would starve some past busy_timeout; in
        # one queue here they take turns in order, and busy_timeout is left to bound waits
        # on other processes.
        self._write_turn = asyncio.Lock() if self.sqlite else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        timeouts = Timeouts.from_settings(settings)
        return cls(make_engine(settings.database_url, timeouts), timeouts)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self._writing(), self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """This process's turn to write (SQLite), waited for at most SQLITE_WRITE_QUEUE_SECONDS:
        past it the queue is not moving, and the request fails with 503 unavailable."""
        if self._write_turn is None:
            yield
            return
        try:
            async with asyncio.timeout(SQLITE_WRITE_QUEUE_SECONDS):
                await self._write_turn.acquire()
        except TimeoutError as exc:
            raise Unavailable("the database is busy; try again shortly") from exc
        try:
            yield
        finally:
            self._write_turn.release()

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(rapport_read_only=True)
            yield conn

    async def write(self, transaction: Callable[[Connection], T]) -> T:
        """`transaction(conn)` in one write transaction, committed unless it raises."""
        if self._sync is None:
            async with self.begin() as conn:
                return await conn.run_sync(transaction)
        sync = self._sync

        def run() -> T:
            with sync.begin() as conn:
                return transaction(conn)

        async with self._writing():
            return await asyncio.get_running_loop().run_in_executor(self._writer, run)

    async def close(self) -> None:
        await self.engine.dispose()
        if self._sync is not None:
            self._sync.dispose()
        if self._writer is not None:
            self._writer.shutdown(wait=False)


def make_engine(url: str, timeouts: Timeouts | None = None) -> AsyncEngine:
    """The engine for `url`; `timeouts` None (migrations) keeps the drivers' patience."""
    if not url.startswith("sqlite"):
        if timeouts is None:
            return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        # Per connection, by asyncpg at connect time: no extra round trip per transaction.
        server_settings = {
            "lock_timeout": str(timeouts.lock_ms),
            "statement_timeout": str(timeouts.statement_ms),
        }
        return create_async_engine(
            url,
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=True,
            pool_timeout=timeouts.connection_seconds,
            connect_args={
                "timeout": timeouts.connection_seconds,
                "server_settings": server_settings,
            },
        )
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        _private_sqlite_file(Path(path))
    busy_ms = timeouts.sqlite_busy_ms if timeouts else _MIGRATION_SQLITE_BUSY_MS
    engine = create_async_engine(url, connect_args={"timeout": busy_ms / 1000})
    _sqlite_recipe(engine.sync_engine, busy_ms)
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


def _sqlite_recipe(engine: Engine, busy_ms: int) -> None:
    # SQLite silently loses read-modify-write updates under concurrency: take the write
    # lock at BEGIN (IMMEDIATE) so a transaction never upgrades from a stale read.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers keep WAL's concurrent snapshot reads; only writers serialize.
        read_only = conn.get_execution_options().get("rapport_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# Probed by readiness: the tables every request path reads or writes.
CORE_TABLES = ("api_keys", "interviews", "sessions", "messages")


async def probe(db: Database, seconds: float) -> None:
    """Raise unless the core tables can be written now, waiting at most `seconds` for a lock:
    a table locked by a migration or a stray session makes this node unready. PostgreSQL
    takes (and drops) the lock that writes take; SQLite, which locks the whole file, takes
    (and drops) its write lock, which a reader in WAL mode would never notice."""
    wait_ms = max(1, int(seconds * 1000))
    if not db.sqlite:
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
            await conn.exec_driver_sql(f"SET LOCAL statement_timeout = {wait_ms}")
            tables = ", ".join(CORE_TABLES)
            await conn.exec_driver_sql(f"LOCK TABLE {tables} IN ROW EXCLUSIVE MODE")
            await conn.rollback()
        return
    path = db.engine.url.database
    if path in (None, "", ":memory:"):
        async with db.connect() as conn:
            await conn.exec_driver_sql("SELECT 1 FROM sessions LIMIT 1")
        return
    await asyncio.to_thread(_probe_sqlite, str(path), seconds)


def _probe_sqlite(path: str, seconds: float) -> None:
    conn = sqlite3.connect(path, timeout=seconds, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for table in CORE_TABLES:
            conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def upsert(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that takes ON CONFLICT (DO NOTHING / DO UPDATE), in the connection's
    dialect: the two databases spell it alike, but SQLAlchemy has one construct for each."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
