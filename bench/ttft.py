"""Time to first token: what the respondent sees through Rapport against the upstream called
directly with the openai client, in the same run, with many sessions answering at once.

    .venv/bin/python -m bench.ttft [--sessions 200] [--rounds 3] [--database sqlite|postgres]

Both paths reach the same test upstream (tests/upstream, its own uvicorn process). Through
Rapport: from the moment the respondent's POST /messages is written to the moment the first
`turn.delta` of the next turn arrives on that respondent's SSE stream. Directly: from
`chat.completions.create(stream=True)` to the first word of the reply (the forced tool
call's `message`, read as it streams), with the same system prompt, conversation and tool
the engine sends. Each round, every session posts at once; the
direct calls go out at once too, in a separate phase (they alternate which goes first).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.client import WAIT, gather_limited, timed_request
from bench.scenario import Session, answer, guide, publish_interview, rapport_session
from bench.servers import RUNNING, Server, event_loop_runner, raise_nofile
from bench.stores import create_api_key, prepared_run

TARGET_P50_MS = 2.0
TARGET_P99_MS = 5.0
# How long each respondent's POST took to be answered (202), for the breakdown.
ACCEPTED: list[float] = []


@dataclass(frozen=True)
class Direct:
    """One direct call: ms to the reply's first word written, and to the first text shown."""

    written: float
    shown: float


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--token-delay-ms", type=float, default=5.0)
    # 200 people in conversation answer about every 20 s between them (they read and type):
    # 10 answers/s. 100/s (each answering every 2 s) measures SQLite's write saturation.
    parser.add_argument(
        "--rate",
        type=float,
        default=10.0,
        help="answers per second across the sessions in a round (0: all at once, a burst)",
    )
    parser.add_argument(
        "--profile", metavar="PATH", help="record the Rapport server with py-spy (collapsed stacks)"
    )
    return parser.parse_args(argv)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def direct_context(questions: int, round_index: int) -> Any:
    """This round's turn as the engine sees it (a TurnContext), built by the engine's code."""
    from runtime.engines.base import TranscriptEntry, TurnContext
    from runtime.interviews import guide as guides

    study, section = guides.add_section(guides.empty_guide(), "Main")
    for fields in guide(questions):
        study, _ = guides.add_item(study, section, "question", fields)
    items = guides.items_in_order(study)
    transcript = [
        TranscriptEntry("interviewer", "Hi, thanks for joining!\n\n" + items[0].text, "Q1")
    ]
    for r in range(round_index + 1):
        transcript.append(TranscriptEntry("respondent", answer(r), f"Q{r + 1}"))
        if r < round_index:
            transcript.append(
                TranscriptEntry("interviewer", f"Thank you. {items[r + 1].text}", None)
            )
    now = datetime.now(UTC)
    ctx = TurnContext(
        interview={"goal": "Measure the live stream", "language": "en", "settings": {}},
        guide=study,
        state={"index": round_index, "probes": 0, "reasks": 0},
        seq=2 * round_index + 2,
        transcript=transcript,
        started_at=now,
        now=now,
    )
    return ctx


def direct_messages(ctx: Any) -> list[dict[str, Any]]:
    """The messages the engine sends for a turn."""
    from runtime.engines import prompt
    from runtime.engines.course import Position

    return prompt.messages(ctx, Position.of(ctx))


async def paced(index: int, rate: float) -> None:
    """Session `index` of a round starts index/rate seconds in (at once when rate is 0)."""
    if rate:
        await asyncio.sleep(index / rate)


async def direct_round(client: Any, ctx: Any, sessions: int, rate: float) -> list[Direct]:
    """From the call to the reply's first word, wherever the model writes it (the arguments'
    `message`, read as they stream by the engine's own reader, or text); and to the first
    text the engine's gate would show of it (runtime/engines/gate.py: a bridge is shown by
    whole sentences), in this process, with no event log, no database, no stream."""
    from runtime.engines.course import Position
    from runtime.engines.gate import Gate, Words
    from runtime.engines.prompt import tool, tool_choice
    from runtime.engines.reading import Reading

    messages = direct_messages(ctx)
    position = Position.of(ctx)
    tools = [tool(position)]

    async def one(index: int) -> Direct:
        await paced(index, rate)
        began = time.perf_counter()
        stream = await client.chat.completions.create(
            model="mock",
            messages=messages,
            tools=tools,
            tool_choice=tool_choice(),
            stream=True,
            stream_options={"include_usage": True},
        )
        written = shown = 0.0
        reader, gate = Reading(), Gate(ctx, position)
        async for chunk in stream:
            if shown or not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            pieces = [c.function.arguments for c in delta.tool_calls or [] if c.function]
            outputs = [o for p in pieces if p for o in reader.from_arguments(p)]
            outputs += reader.from_content(delta.content) if delta.content else []
            now = time.perf_counter()
            if not written and any(isinstance(o, Words) and o.text for o in outputs):
                written = now
            if any(isinstance(s, str) and s for o in outputs for s in gate.feed(o)):
                shown = now
        return Direct((written - began) * 1000, (shown - began) * 1000)

    return await asyncio.gather(*(one(i) for i in range(sessions)))


async def rapport_round(
    port: int, sessions: list[Session], round_index: int, rate: float
) -> list[float]:
    turn = f"t{round_index + 2}"
    accepted = ACCEPTED

    async def one(index: int, session: Session) -> float:
        await paced(index, rate)
        assert session.stream is not None
        first = session.stream.expect("turn.delta", turn)
        body = {"content": answer(round_index), "client_message_id": f"r{round_index}"}
        sent, status, raw, answered = await timed_request(
            port, "POST", session.post_path, body, session.headers
        )
        accepted.append((answered - sent) * 1000)
        if status != 202:
            raise RuntimeError(f"message answered {status}: {raw!r}")
        async with asyncio.timeout(WAIT):
            arrived = await first
            await session.stream.expect("turn.completed", turn)
        return (arrived - sent) * 1000

    return await asyncio.gather(*(one(i, s) for i, s in enumerate(sessions)))


async def measure(
    args: argparse.Namespace, env: dict[str, str], workdir: Path
) -> dict[str, list[float]]:
    from runtime.platform.settings import Settings
    from runtime.services import llm_client_from

    upstream = Server("upstream", "tests.upstream.server:create_from_env", env, workdir)
    RUNNING.append(upstream)
    upstream.start(4 * args.sessions + 1024)
    await upstream.wait_ready("/v1/models")
    rapport_env = {**env, "RAPPORT_LLM_BASE_URL": f"http://127.0.0.1:{upstream.port}/v1"}
    rapport = Server("rapport", "bench.rapport_app:create", rapport_env, workdir)
    RUNNING.append(rapport)
    rapport.start(4 * args.sessions + 1024)
    await rapport.wait_ready()
    api_key = await create_api_key(env)
    questions = args.rounds + 2
    share = await publish_interview(rapport.port, api_key, questions, engine="llm")
    made = await gather_limited(
        [rapport_session(rapport.port, share) for _ in range(args.sessions)], 50
    )
    sessions = [s for s in made if isinstance(s, Session)]
    if len(sessions) != args.sessions:
        failed = next(m for m in made if not isinstance(m, Session))
        raise RuntimeError(f"{args.sessions - len(sessions)} sessions failed to start: {failed!r}")
    # The very client Rapport builds (same connection pool limits, no retries), so the two
    # paths differ only by Rapport.
    client = llm_client_from(Settings.from_env(rapport_env))
    results: dict[str, list[float]] = {"rapport": [], "direct": [], "shown": []}
    spy = profiler(rapport.pid, args.profile) if args.profile else None
    try:
        # Warm both paths (connections, caches) before measuring.
        await direct_round(client, direct_context(questions, 0), args.sessions, args.rate)
        for r in range(args.rounds):
            ctx = direct_context(questions, r)
            for first in (0, 1):
                if (r + first) % 2 == 0:
                    calls = await direct_round(client, ctx, args.sessions, args.rate)
                    results["direct"].extend(c.written for c in calls)
                    results["shown"].extend(c.shown for c in calls)
                else:
                    results["rapport"].extend(
                        await rapport_round(rapport.port, sessions, r, args.rate)
                    )
            print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        await client.close()
        for s in sessions:
            if s.stream is not None:
                s.stream.close()
    return results


def profiler(pid: int, path: str) -> subprocess.Popen[bytes]:
    """py-spy on the Rapport server until the rounds end (collapsed stacks at `path`)."""
    command = ["py-spy", "record", "-p", str(pid), "-o", path, "--format", "raw", "-r", "500"]
    return subprocess.Popen(
        [*command, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def report(results: dict[str, list[float]], args: argparse.Namespace) -> str:
    rapport, direct, shown = results["rapport"], results["direct"], results["shown"]
    lines = [
        f"TTFT, {args.sessions} concurrent sessions x {args.rounds} rounds, {args.database}, "
        f"answers {'all at once' if not args.rate else f'at {args.rate:g}/s'}, "
        f"upstream token delay {args.token_delay_ms} ms",
        f"{'':10} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9} {'n':>6}",
    ]
    for name, values in (("direct", direct), ("gate", shown), ("rapport", rapport)):
        lines.append(
            f"{name:10} {percentile(values, 50):9.2f} {percentile(values, 99):9.2f} "
            f"{statistics.fmean(values):9.2f} {len(values):6d}"
        )
    lines.append(
        f"{'  POST 202':10} {percentile(ACCEPTED, 50):9.2f} {percentile(ACCEPTED, 99):9.2f} "
        f"{statistics.fmean(ACCEPTED):9.2f} {len(ACCEPTED):6d}   (part of rapport's time)"
    )
    lines.append(
        "direct: the reply's first word written; gate: the first text the engine's gate "
        "shows of it (same call, in this process)"
    )
    for q, target in ((50, TARGET_P50_MS), (99, TARGET_P99_MS)):
        added = percentile(rapport, q) - percentile(direct, q)
        ratio = percentile(rapport, q) / percentile(direct, q)
        verdict = "met" if added <= target else "NOT MET"
        over_gate = percentile(rapport, q) - percentile(shown, q)
        lines.append(
            f"added at p{q}: {added:+.2f} ms (ratio {ratio:.2f}x); target <= {target} ms: "
            f"{verdict}; over the gate alone: {over_gate:+.2f} ms"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile(8 * args.sessions + 1024)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = {
        "RAPPORT_LLM_MODEL": "mock",
        "RAPPORT_LLM_API_KEY": "not-needed",
        "UPSTREAM_TOKEN_DELAY_MS": str(args.token_delay_ms),
    }
    try:
        with prepared_run(args.database, "rapport-ttft-", settings) as (env, workdir):
            results = event_loop_runner()(measure(args, env, workdir))
            print(report(results, args))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
