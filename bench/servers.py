"""The measured servers: each a uvicorn process, started, stopped whatever happens, and read.

Readings come from /proc (RSS, CPU, open-file limit) for the servers, from getrusage for
this client and from `INFO cpu` for Redis, which shares the machine with both.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.client import HOST, request
from bench.stores import REDIS_URL

ROOT = Path(__file__).resolve().parent.parent


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit to `wanted` (the hard limit too, if allowed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and wanted > hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard  # not privileged: as far as the hard limit goes
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# Loaded here, not in the forked child: the child only makes the call.
_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _child_setup(nofile: int) -> Callable[[], None]:
    def setup() -> None:
        raise_nofile(nofile)
        # SIGTERM the server when the benchmark dies, even by SIGKILL.
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return setup


def proc_status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(field)


def rss_kb(pid: int) -> int:
    return int(proc_status(pid, "VmRSS").split()[0])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nofile_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return 0


async def redis_cpu() -> float:
    """CPU seconds the Redis server has used (it shares the machine with both processes)."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        info = await client.info("cpu")
    finally:
        await client.aclose()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# The last line of a traceback, also inside an exception group's "|" margin.
_EXCEPTION_LINE = re.compile(r"^[\s|+]*([A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*)$")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """One uvicorn process serving `factory`; stopped by pid in `stop`, never by name."""

    def __init__(self, name: str, factory: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.factory = factory
        self.env = env
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, nofile: int) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.factory,
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--backlog",
            "4096",
            "--timeout-graceful-shutdown",
            "5",
        ]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(nofile),
                start_new_session=True,  # Ctrl-C reaches us; we stop it ourselves
            )

    async def wait_ready(self, path: str = "/healthz") -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError):
                status, _ = await request(self.port, "GET", path)
                if status == 200:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start; its log:\n{self.tail()}")

    @property
    def traced(self) -> Path | None:
        value = self.env.get("BENCH_TRACEMALLOC")
        return Path(value) if value else None

    async def snapshot(self) -> None:
        """With --tracemalloc: have the server write its next tracemalloc snapshot."""
        if self.traced is None:
            return
        taken = len(list(self.traced.glob("snapshot-*.pickle")))
        os.kill(self.pid, signal.SIGUSR1)
        path = self.traced / f"snapshot-{taken + 1}.pickle"
        size = -1
        for _ in range(600):  # written once it exists and has stopped growing
            await asyncio.sleep(0.5)
            now = path.stat().st_size if path.exists() else -1
            if now > 0 and now == size:
                return
            size = now
        raise RuntimeError(f"{self.name} wrote no tracemalloc snapshot")

    def allocation_report(self, streams: int, top: int = 15) -> list[str]:
        """Where the memory added between the two snapshots went, per source line."""
        if self.traced is None:
            return []
        import tracemalloc

        before, after = (
            tracemalloc.Snapshot.load(str(self.traced / f"snapshot-{n}.pickle")) for n in (1, 2)
        )
        stats = after.compare_to(before, "lineno")
        total = sum(s.size_diff for s in stats)
        lines = [
            f"{self.name}: tracemalloc, Python allocations added by {streams} idle streams: "
            f"{total / 1024 / max(streams, 1):.1f} KB per stream"
        ]
        for stat in stats[:top]:
            frame = stat.traceback[0]
            where = frame.filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
            lines.append(
                f"  {stat.size_diff / 1024 / max(streams, 1):7.2f} KB/stream "
                f"{stat.count_diff / max(streams, 1):6.1f} blocks  {where}:{frame.lineno}"
            )
        return lines

    def problems(self) -> str:
        """What the server logged above info, counted: events by name, exceptions by kind."""
        events: collections.Counter[str] = collections.Counter()
        errors: collections.Counter[str] = collections.Counter()
        with contextlib.suppress(OSError):
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith("{"):
                    with contextlib.suppress(ValueError):
                        record = json.loads(line)
                        if record.get("level", "info") not in ("info", "debug"):
                            events[f"{record.get('level')} {record.get('event')}"] += 1
                elif match := _EXCEPTION_LINE.match(line):
                    errors[match.group(1)[:160]] += 1
        counted = [f"  {n:>6}  {what}" for what, n in (events + errors).most_common(12)]
        return "\n".join(counted)

    def tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# Every server started, so that the run can stop them on its way out, however it ends.
RUNNING: list[Server] = []


def stop_all() -> None:
    for server in RUNNING:
        with contextlib.suppress(Exception):
            server.stop()


def event_loop_runner() -> Callable[[Any], Any]:
    """uvloop's run when it is installed (as uvicorn uses it), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run
