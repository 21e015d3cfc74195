"""The latency rounds: every live session posts an answer, timed to its new turn's first delta."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sys
import time
import uuid
from typing import Any

from bench.client import WAIT, timed_request
from bench.scenario import Session, answer
from bench.servers import Server, client_cpu, cpu_seconds, redis_cpu


@dataclasses.dataclass
class Round:
    label: str
    latencies: list[float]  # ms, POST written → first turn.delta of the new turn arrived
    acks: list[float]  # ms, POST written → its 202 arrived
    lags: list[float]  # ms, how late the client wrote each POST against its schedule
    failures: int
    wall: float
    server_cpu: float
    client_cpu: float
    redis_cpu: float
    frame: bytes = b""  # one first turn.delta exactly as received


async def run_round(
    server: Server, sessions: list[Session], label: str, turn_id: str, answer: str, rate: float
) -> Round:
    """Every session posts `answer` once: `rate` posts a second in a shuffled order, or all at
    once when rate is 0; each waits for its new turn to complete so the next round may post."""
    order = list(sessions)
    random.Random(turn_id).shuffle(order)
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.2
    latencies: list[float] = []
    acks: list[float] = []
    lags: list[float] = []
    samples: list[bytes] = []
    failures = 0

    async def one(index: int, session: Session) -> None:
        nonlocal failures
        assert session.stream is not None
        at = begin + (index / rate if rate else 0.0)
        await asyncio.sleep(max(0.0, at - loop.time()))
        scheduled = time.perf_counter() + (at - loop.time())
        delta = session.stream.expect("turn.delta", turn_id)
        # Rapport takes the next answer only once the turn has completed; the baseline has
        # no turns beyond the one frame it pushes.
        completed = session.stream.expect("turn.completed", turn_id) if session.turns else delta
        body = {"content": answer, "client_message_id": uuid.uuid4().hex}
        try:
            sent, status, raw, answered = await timed_request(
                server.port, "POST", session.post_path, body, session.headers
            )
            if status != 202:
                raise RuntimeError(f"POST answered {status}: {raw[:200]!r}")
            async with asyncio.timeout(WAIT):
                arrived = await delta
                await completed
        except Exception as exc:
            failures += 1
            if failures <= 3:
                print(f"  {server.name} {label}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return
        samples.append(session.stream.frames.get(("turn.delta", turn_id), b""))
        latencies.append((arrived - sent) * 1000)
        acks.append((answered - sent) * 1000)
        lags.append(max(0.0, (sent - scheduled) * 1000))

    redis0 = await redis_cpu()
    cpu0, client0, wall0 = cpu_seconds(server.pid), client_cpu(), time.perf_counter()
    await asyncio.gather(*(one(i, s) for i, s in enumerate(order)))
    wall = time.perf_counter() - wall0
    return Round(
        label,
        latencies,
        acks,
        lags,
        failures,
        wall,
        (cpu_seconds(server.pid) - cpu0) / wall,
        (client_cpu() - client0) / wall,
        (await redis_cpu() - redis0) / wall,
        samples[0] if samples else b"",
    )


async def run_rounds(server: Server, sessions: list[Session], args: Any) -> list[Round]:
    """The paced rounds in the order given, then the burst; round i answers turn t{i+1}."""
    print(f"  {server.name}: {len(sessions)} sessions live, posting…", file=sys.stderr)
    plan = [(f"paced {rate:g}/s", rate) for rate in args.rates]
    if not args.no_burst:
        plan.append(("burst", 0.0))
    done: list[Round] = []
    for index, (label, rate) in enumerate(plan):
        turn_id = f"t{index + 2}"  # t1 is the opening question
        done.append(await run_round(server, sessions, label, turn_id, answer(index), rate))
        await asyncio.sleep(1)
    return done
