"""The interview feed's latency: a respondent's message on researchers' feeds and its own stream.

    python -m bench.live [--sessions 200] [--researchers 20] [--rounds 3] [--rate 100]
                         [--database sqlite|postgres]

One Rapport process (uvicorn, as bench.sse serves it) on the bench's stores. Every session
keeps its own SSE stream open, as a respondent's page does, and every researcher watches the
interview's feed (GET /v1/interviews/{id}/live). Each round, every session posts an answer
(`rate` posts a second, shuffled); for each post the clock starts when the request is written
and stops when its `respondent.message` arrives: once on the respondent's stream, once on
every researcher's feed. The feed's cost is the difference between the two, p50 and p99, in
the same run (target: at most 5 ms at p99, at 200 sessions and 20 researchers).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import shutil
import sys
import time
import uuid
from typing import Any

from bench.client import WAIT, Stream, gather_limited, open_stream, request, timed_request
from bench.report import percentile
from bench.scenario import Session, answer, publish_interview, rapport_session
from bench.servers import (
    RUNNING,
    Server,
    client_cpu,
    cpu_seconds,
    event_loop_runner,
    raise_nofile,
)
from bench.stores import create_api_key, prepared_run

TARGET_P99_MS = 5.0  # what the feed may add over the respondent's own stream


class Watched(Stream):
    """A stream that tells each respondent message apart (by its client_message_id), so one
    post's arrival is timed on every stream that carries it."""

    def _dispatch(self, event: str, data: str, now: float, frame: bytes) -> None:
        if event != "respondent.message":
            super()._dispatch(event, data, now, frame)
            return
        key = (event, str(json.loads(data)["client_message_id"]))
        self.seen[key] = now
        future = self.waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(now)


@dataclasses.dataclass
class Figures:
    sessions: int
    researchers: int
    rounds: int
    rate: float
    own: list[float] = dataclasses.field(default_factory=list)  # ms, POST → own stream
    feed: list[float] = dataclasses.field(default_factory=list)  # ms, POST → each feed
    failures: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    wall: float = 0.0

    def added_p99(self) -> float:
        return percentile(self.feed, 99) - percentile(self.own, 99)


async def measure(
    port: int, api_key: str, sessions: int, researchers: int, rounds: int, rate: float, pid: int = 0
) -> Figures:
    """Runs the rounds against the Rapport server on `port` (`pid`: its process, for CPU)."""
    figures = Figures(sessions, researchers, rounds, rate)
    share = await publish_interview(port, api_key, rounds + 1)
    auth = {"authorization": f"Bearer {api_key}"}
    status, listed = await request(port, "GET", "/v1/interviews?limit=100", None, auth)
    assert status == 200, listed
    interview = next(i for i in listed["items"] if i["share_token"] == share)
    feeds: list[Watched] = []
    for _ in range(researchers):
        feed = await open_stream(port, f"/v1/interviews/{interview['id']}/live", auth, Watched)
        async with asyncio.timeout(WAIT):
            assert await feed.opened == 200, "the feed refused the researcher"
        feeds.append(feed)
    started = await gather_limited(
        [rapport_session(port, share, Watched) for _ in range(sessions)], 32
    )
    live = [s for s in started if isinstance(s, Session)]
    if len(live) < sessions:
        raise RuntimeError(f"{sessions - len(live)} sessions failed to start: {started!r:.300}")
    cpu0, client0, wall0 = (cpu_seconds(pid) if pid else 0.0), client_cpu(), time.perf_counter()
    try:
        for round_index in range(rounds):
            await _round(port, live, feeds, figures, round_index)
    finally:
        for stream in [*feeds, *(s.stream for s in live if s.stream)]:
            stream.close()
    figures.wall = time.perf_counter() - wall0
    figures.server_cpu = (cpu_seconds(pid) - cpu0) if pid else 0.0
    figures.client_cpu = client_cpu() - client0
    return figures


async def _round(
    port: int, sessions: list[Session], feeds: list[Watched], figures: Figures, index: int
) -> None:
    order = list(sessions)
    random.Random(index).shuffle(order)
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.2
    turn_id = f"t{index + 2}"  # the turn after this round's answer (t1 opened the session)

    async def one(position: int, session: Session) -> None:
        assert session.stream is not None
        await asyncio.sleep(max(0.0, begin + position / figures.rate - loop.time()))
        mine = uuid.uuid4().hex
        own = session.stream.expect("respondent.message", mine)
        on_feeds = [feed.expect("respondent.message", mine) for feed in feeds]
        completed = session.stream.expect("turn.completed", turn_id)
        body = {"content": answer(index), "client_message_id": mine}
        stage = "the POST's answer"
        try:
            sent, status, raw, _ = await timed_request(
                port, "POST", session.post_path, body, session.headers
            )
            if status != 202:
                raise RuntimeError(f"POST answered {status}: {raw[:200]!r}")
            stage = "the events"
            async with asyncio.timeout(WAIT):
                own_at = await own
                feed_at = await asyncio.gather(*on_feeds)
                await completed  # the next round's answer is taken once the turn is done
        except Exception as exc:
            figures.failures += 1
            if figures.failures <= 3:
                # Which of the awaited events never came.
                waited = sum(not f.done() for f in on_feeds)
                print(
                    f"  round {index + 1}, {session.id}, waiting for {stage}: "
                    f"{type(exc).__name__}: {exc} (own "
                    f"stream {'got it' if own.done() else 'waiting'}, {waited} of "
                    f"{len(on_feeds)} feeds waiting, turn.completed "
                    f"{'in' if completed.done() else 'waiting'})",
                    file=sys.stderr,
                )
            return
        figures.own.append((own_at - sent) * 1000)
        figures.feed.extend((at - sent) * 1000 for at in feed_at)

    await asyncio.gather(*(one(i, s) for i, s in enumerate(order)))


def render(figures: Figures, database: str = "") -> str:
    def row(name: str, values: list[float]) -> str:
        p50, p99 = percentile(values, 50), percentile(values, 99)
        top = max(values, default=float("nan"))
        return f"{name:<24}{len(values):>8}{p50:>9.2f}{p99:>9.2f}{top:>9.2f}"

    added = figures.added_p99()
    verdict = "met" if added <= TARGET_P99_MS else "MISSED"
    return "\n".join(
        [
            f"live feed: {figures.sessions} sessions, {figures.researchers} researchers, "
            f"{figures.rounds} rounds at {figures.rate:g} posts/s"
            + (f", {database}" if database else ""),
            "POST of a respondent message -> its respondent.message event (ms)",
            f"{'':<24}{'samples':>8}{'p50':>9}{'p99':>9}{'max':>9}",
            row("respondent's stream", figures.own),
            row("researchers' feeds", figures.feed),
            f"feed - stream: p50 {percentile(figures.feed, 50) - percentile(figures.own, 50):+.2f}"
            f" ms, p99 {added:+.2f} ms (target <= {TARGET_P99_MS:g} ms: {verdict})",
            f"failures: {figures.failures}; CPU: server {figures.server_cpu:.1f} s, client "
            f"{figures.client_cpu:.1f} s, over {figures.wall:.1f} s",
        ]
    )


async def main_async(args: Any, env: dict[str, str], workdir: Any, nofile: int) -> Figures:
    api_key = await create_api_key(env)
    server = Server("rapport", "bench.rapport_app:create", env, workdir)
    RUNNING.append(server)
    server.start(nofile)
    await server.wait_ready()
    try:
        return await measure(
            server.port,
            api_key,
            args.sessions,
            args.researchers,
            args.rounds,
            args.rate,
            server.pid,
        )
    finally:
        if problems := server.problems():
            print(f"--- the server logged ---\n{problems}", file=sys.stderr)
        if args.keep_log:
            shutil.copy(server.log, args.keep_log)
        server.stop()


def parse_args(argv: list[str] | None) -> Any:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sessions", type=int, default=200, help="concurrent sessions")
    parser.add_argument("--researchers", type=int, default=20, help="feeds watching")
    parser.add_argument("--rounds", type=int, default=3, help="answers per session")
    parser.add_argument("--rate", type=float, default=100.0, help="posts per second")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--keep-log", help="copy the server's log to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile(4 * args.sessions + args.researchers + 1024)
    settings = {"RAPPORT_SCRIPTED_DELTA_DELAY_MS": "15"}
    with prepared_run(args.database, "rapport-bench-live-", settings) as (env, workdir):
        figures = event_loop_runner()(main_async(args, env, workdir, nofile))
    print(render(figures, args.database))
    return 0


if __name__ == "__main__":
    sys.exit(main())
