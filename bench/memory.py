"""The memory round: thousands of idle streams opened at once and held, RSS read around them."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.client import WAIT, Stream, gather_limited, open_stream
from bench.servers import Server, cpu_seconds, rss_kb


@dataclasses.dataclass
class Idle:
    streams: int
    sessions: int
    opened: int
    failures: int
    open_seconds: float
    rss_before: int
    rss_connected: int
    rss_held: int
    hold: float
    hold_cpu: float
    pinged: int
    alive_connected: int  # streams still open when rss_connected was read
    alive: int  # … and when rss_held was read

    @property
    def kb_connected(self) -> float:
        return (self.rss_connected - self.rss_before) / max(self.alive_connected, 1)

    @property
    def kb_per_stream(self) -> float:
        """Per stream still open after the hold (dropped streams' memory is not returned)."""
        return (self.rss_held - self.rss_before) / max(self.alive, 1)


async def hold_idle_streams(
    server: Server,
    paths: list[str],
    ready: Callable[[Stream], asyncio.Future[Any]],
    sessions: int,
    hold: float,
    concurrency: int,
) -> Idle:
    """Open every path at once (at most `concurrency` still connecting), wait until each has
    received its initial bytes, then sit idle for `hold` seconds; RSS before, at, after."""
    await asyncio.sleep(2)
    rss_before = rss_kb(server.pid)
    await server.snapshot()
    streams: list[Stream] = []

    async def open_one(path: str) -> None:
        stream = await open_stream(server.port, path)
        streams.append(stream)
        async with asyncio.timeout(WAIT):
            status = await stream.opened
            if status != 200:
                raise RuntimeError(f"stream answered {status}")
            await ready(stream)

    began = time.perf_counter()
    results = await gather_limited([open_one(p) for p in paths], concurrency)
    open_seconds = time.perf_counter() - began
    errors = [r for r in results if isinstance(r, BaseException)]
    for error in errors[:3]:
        print(f"  {server.name} idle stream: {type(error).__name__}: {error}", file=sys.stderr)
    await asyncio.sleep(1)
    rss_connected = rss_kb(server.pid)
    alive_connected = sum(1 for s in streams if not s.closed)
    comments = [s.comments for s in streams]
    cpu0 = cpu_seconds(server.pid)
    await asyncio.sleep(hold)
    hold_cpu = (cpu_seconds(server.pid) - cpu0) / hold if hold else math.nan
    rss_held = rss_kb(server.pid)
    await server.snapshot()
    pinged = sum(1 for s, c in zip(streams, comments, strict=True) if s.comments > c)
    alive = sum(1 for s in streams if not s.closed)
    for stream in streams:
        stream.close()
    return Idle(
        streams=len(paths),
        sessions=sessions,
        opened=len(paths) - len(errors),
        failures=len(errors),
        open_seconds=open_seconds,
        rss_before=rss_before,
        rss_connected=rss_connected,
        rss_held=rss_held,
        hold=hold,
        hold_cpu=hold_cpu,
        pinged=pinged,
        alive_connected=alive_connected,
        alive=alive,
    )
