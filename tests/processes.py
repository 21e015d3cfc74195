"""Real `rapport` processes for tests that need more than one API node, or a crash."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from runtime.platform.settings import Settings
from tests.conftest import UNLIMITED, free_port

RAPPORT = str(Path(sys.executable).parent / "rapport")
_children: list[_Child] = []


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


def leftover_redis(socket: Path) -> list[int]:
    """Pids of redis-server processes still listening on this embedded socket."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # it exited meanwhile
        if any(b"redis-server" in a for a in argv[:1]) and str(socket).encode() in argv:
            found.append(int(proc.name))
    return found


def reap_all() -> None:
    """Kill every child a test left running: one left behind would go on taking the shared
    queue's jobs (with its own database) in the tests after it."""
    while _children:
        _children.pop().reap()


class _Child:
    """A `rapport` child process. new_session: in its own process group, as a shell runs a
    command in a terminal, so that a test can signal the group as the terminal's Ctrl-C does."""

    def __init__(self, new_session: bool) -> None:
        self.new_session = new_session
        self.proc: asyncio.subprocess.Process | None = None
        _children.append(self)

    def reap(self) -> None:
        """Kill it if a failed test left it running (never leave a process behind)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    def interrupt_group(self) -> None:
        """Ctrl-C in its terminal: SIGINT to every process of its group."""
        assert self.proc is not None and self.new_session
        os.killpg(self.proc.pid, signal.SIGINT)

    async def wait(self) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), 20)

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await self.wait()


class ServeProcess(_Child):
    def __init__(
        self,
        env: dict[str, str],
        data_dir: Path,
        *,
        new_session: bool = False,
        umask: int | None = None,
    ) -> None:
        super().__init__(new_session)
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
            # Its record of itself stays with the test, not in the user's ~/.local/state.
            "RAPPORT_STATE_DIR": str(data_dir / "state"),
            **env,
            "RAPPORT_DATA_DIR": str(data_dir),
        }
        self.output: list[str] = []
        self._grew = asyncio.Condition()

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
            start_new_session=self.new_session,
        )
        assert self.proc.stdout is not None
        # Ready when uvicorn listens ("Application startup complete" comes before it binds);
        # the whole output is kept for assertions and failures.
        try:
            await self._until_listening()
        except TimeoutError:
            output = "".join(self.output)
            raise RuntimeError(f"rapport serve not listening after 30 s:\n{output}") from None
        self._drain = asyncio.create_task(self._collect())
        return self

    async def _until_listening(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async with asyncio.timeout(30):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError("rapport serve exited:\n" + "".join(self.output))
                self.output.append(line)
                if "Uvicorn running on" in line:
                    return

    def _set_umask(self) -> None:
        assert self.umask is not None
        os.umask(self.umask)

    async def _collect(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            async with self._grew:
                self.output.append(line.decode())
                self._grew.notify_all()

    async def wait_for(self, text: str) -> str:
        """The first line of its output with `text` in it, once it has been written."""
        async with asyncio.timeout(30), self._grew:
            while True:
                found = next((line for line in self.output if text in line), None)
                if found is not None:
                    return found
                assert not self._drain.done(), "rapport serve exited:\n" + "".join(self.output)
                await self._grew.wait()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        code = await super().wait()
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


_workers = itertools.count(1)


class WorkerProcess(_Child):
    """A real `rapport worker`, to be killed mid-job."""

    def __init__(self, env: dict[str, str], data_dir: Path, *, new_session: bool = False) -> None:
        super().__init__(new_session)
        self.env = {**os.environ, **env, "RAPPORT_DATA_DIR": str(data_dir)}
        # One log per process: several workers may share a data directory.
        self.log = data_dir / f"worker-{next(_workers)}.log"

    async def start(self) -> WorkerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                RAPPORT,
                "worker",
                env=self.env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=self.new_session,
            )
        return self

    @property
    def output(self) -> str:
        return self.log.read_text()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
