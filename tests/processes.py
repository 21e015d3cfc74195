"""Real `rapport` processes for tests that need more than one API node, or a crash."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from runtime.settings import Settings
from tests.conftest import UNLIMITED, free_port

RAPPORT = str(Path(sys.executable).parent / "rapport")


def node_env(settings: Settings, **more: str) -> dict[str, str]:
    """The environment of a `rapport` node sharing the test stores, quick to recover turns."""
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "RAPPORT_SECRET_KEY": settings.secret_key,
        "RAPPORT_TURN_LEASE_MS": "1000",
        "RAPPORT_SWEEP_INTERVAL_SECONDS": "0.2",
        **more,
    }


class ServeProcess:
    def __init__(self, env: dict[str, str], data_dir: Path, umask: int | None = None) -> None:
        self.umask = umask
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Streams left open by a test would hold shutdown for the default 10 s grace.
        self.env = {
            **os.environ,
            "RAPPORT_SHUTDOWN_GRACE_SECONDS": "1",
            "RAPPORT_PUBLIC_RATE_LIMIT": UNLIMITED,
            "RAPPORT_SESSION_RATE_LIMIT": UNLIMITED,
            "RAPPORT_SESSION_START_RATE_LIMIT": UNLIMITED,
            **env,
            "RAPPORT_DATA_DIR": str(data_dir),
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []

    async def start(self) -> ServeProcess:
        self.proc = await asyncio.create_subprocess_exec(
            RAPPORT,
            "serve",
            "--port",
            str(self.port),
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=None if self.umask is None else self._set_umask,
        )
        assert self.proc.stdout is not None
        # Ready when uvicorn says so; the whole output is kept for assertions and failures.
        async with asyncio.timeout(30):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError("rapport serve exited:\n" + "".join(self.output))
                self.output.append(line)
                if "Application startup complete" in line:
                    break
        self._drain = asyncio.create_task(self._collect())
        return self

    def _set_umask(self) -> None:
        assert self.umask is not None
        os.umask(self.umask)

    async def _collect(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.output.append(line.decode())

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 20)
        await self._drain
        return code


@contextlib.asynccontextmanager
async def serve_nodes(
    env: dict[str, str], data_dir: Path, count: int = 2
) -> AsyncIterator[list[ServeProcess]]:
    """`count` API nodes on the same stores, each stopped cleanly (exit 0) at the end."""
    nodes: list[ServeProcess] = []
    try:
        for n in range(count):
            nodes.append(await ServeProcess(env, data_dir / f"node{n}").start())
        yield nodes
    finally:
        codes = [await node.stop() for node in nodes]
        assert codes == [0] * len(nodes), codes


class WorkerProcess:
    """A real `rapport worker`, to be killed mid-job."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.env = {**os.environ, **env, "RAPPORT_DATA_DIR": str(data_dir)}
        self.proc: asyncio.subprocess.Process | None = None
        self.log = data_dir / "worker.log"

    async def start(self) -> WorkerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                RAPPORT, "worker", env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        return self

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 20)
