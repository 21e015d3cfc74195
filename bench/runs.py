"""One server's run, start to finish: its sessions go live, the latency rounds, the idle streams."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bench.client import Stream, gather_limited
from bench.latency import Round, run_rounds
from bench.memory import Idle, hold_idle_streams
from bench.scenario import (
    Session,
    baseline_session,
    create_idle_sessions,
    publish_interview,
    rapport_session,
)
from bench.servers import Server, nofile_limit, rss_kb


@dataclasses.dataclass
class Result:
    """What one server's run measured, for the report."""

    name: str
    rounds: list[Round] = dataclasses.field(default_factory=list)
    idle: Idle | None = None
    rss_started: int = 0
    nofile: int = 0
    setup_seconds: float = 0.0
    setup_failures: int = 0
    allocations: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def started(cls, server: Server) -> Result:
        return cls(server.name, rss_started=rss_kb(server.pid), nofile=nofile_limit(server.pid))


async def bench_rapport(server: Server, env: dict[str, str], api_key: str, args: Any) -> Result:
    result = Result.started(server)  # before the interview is published
    share_token = await publish_interview(server.port, api_key, len(args.rates) + 2)

    async def idle_paths() -> list[str]:
        count = math.ceil(args.idle_streams / args.streams_per_session)
        print(f"  creating {count} idle sessions through the runtime…", file=sys.stderr)
        began = time.perf_counter()
        paths = await create_idle_sessions(env, share_token, count)
        print(f"  … in {time.perf_counter() - began:.0f}s", file=sys.stderr)
        return [p for p in paths for _ in range(args.streams_per_session)][: args.idle_streams]

    def replayed(stream: Stream) -> asyncio.Future[float]:
        return stream.expect("turn.completed", "t1")  # the session's whole log has arrived

    starting = [rapport_session(server.port, share_token) for _ in range(args.sessions)]
    return await _measure(server, result, starting, idle_paths, replayed, args)


async def bench_baseline(server: Server, args: Any) -> Result:
    result = Result.started(server)

    async def idle_paths() -> list[str]:
        return [f"/events/idle{i:06d}" for i in range(args.idle_streams)]

    def headers(stream: Stream) -> asyncio.Future[int]:
        return stream.opened

    starting = [baseline_session(server.port, i) for i in range(args.sessions)]
    return await _measure(server, result, starting, idle_paths, headers, args)


async def _measure(
    server: Server,
    result: Result,
    starting: list[Coroutine[Any, Any, Session]],
    idle_paths: Callable[[], Awaitable[list[str]]],
    ready: Callable[[Stream], asyncio.Future[Any]],
    args: Any,
) -> Result:
    """What both servers go through: sessions started 50 at a time, the rounds on them, then
    (their streams still open) the idle streams, each counted open once `ready`; the session
    streams close at the end."""
    began = time.perf_counter()
    made = await gather_limited(starting, 50)
    result.setup_seconds = time.perf_counter() - began
    sessions = [s for s in made if isinstance(s, Session)]
    result.setup_failures = len(made) - len(sessions)
    result.rounds.extend(await run_rounds(server, sessions, args))
    if args.idle_streams:
        paths = await idle_paths()
        print(f"  opening {len(paths)} idle streams…", file=sys.stderr)
        result.idle = await hold_idle_streams(
            server,
            paths,
            ready,
            len(set(paths)),  # streams on one path share a session
            args.idle_hold,
            args.connect_concurrency,
        )
    for session in sessions:
        assert session.stream is not None
        session.stream.close()
    return result
