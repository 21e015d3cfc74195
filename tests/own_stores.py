"""Stores of a test's own: a redis-server to kill, freeze or restart empty, and a database.

A test that runs Rapport on a Redis of its own needs a database of its own too: the shared
test server's sweeper recovers, from SQL, every owed turn its Redis does not know of, so
on the shared database it would take the test's turns for lost ones and write them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from runtime.platform.settings import Settings
from runtime.stores import migrate
from tests.conftest import POSTGRES_URL, free_port


@contextlib.asynccontextmanager
async def own_database(settings: Settings, workdir: Path) -> AsyncIterator[str]:
    """A migrated database of the same kind as the test's (a SQLite file, or a PostgreSQL
    database beside the configured one, dropped after); yields its URL."""
    if settings.sqlite:
        url = f"sqlite+aiosqlite:///{workdir / 'own.db'}"
        await asyncio.to_thread(migrate.upgrade, url)  # env.py runs its own loop
        yield url
        return
    base, _, name = POSTGRES_URL.rpartition("/")
    own = f"{name}_own_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{own}"')
        url = "postgresql+asyncpg://" + f"{base}/{own}".split("://", 1)[1]
        try:
            await asyncio.to_thread(migrate.upgrade, url)  # env.py runs its own loop
            yield url
        finally:
            await admin.execute(f'DROP DATABASE "{own}" WITH (FORCE)')
    finally:
        await admin.close()


class RedisProcess:
    """A real redis-server on a free port; by default without persistence, so a restart
    comes back empty, as a Redis that lost its data would."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, keep_data: bool = False) -> RedisProcess:
        """Start (again, on the same port); `keep_data`: load what `shutdown_saving` saved."""
        self.dir.mkdir(parents=True, exist_ok=True)
        dump = self.dir / "dump.rdb"
        if not keep_data:
            dump.unlink(missing_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no",
            "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            async with asyncio.timeout(15):
                while True:
                    try:
                        if await client.ping():
                            break
                    except RedisError:
                        pass
                    if self.proc.returncode is not None:
                        raise RuntimeError(f"redis-server exited; see {self.dir}/redis.log")
                    await asyncio.sleep(0.02)  # nothing to await until it listens
        finally:
            await client.aclose()
        return self

    async def kill(self) -> None:
        """Gone at once, with everything it held."""
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def shutdown_saving(self) -> None:
        """Stop after writing its data to disk, for a restart `keep_data`."""
        client = aioredis.Redis.from_url(self.url)
        try:
            await client.shutdown(save=True)
        except RedisError:
            pass  # the connection closes as the server exits
        finally:
            await client.aclose()
        assert self.proc is not None
        await self.proc.wait()

    def freeze(self) -> None:
        assert self.proc is not None and self.proc.returncode is None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Resume a frozen server (nothing to do for one that has exited)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGCONT)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            await self.proc.wait()
