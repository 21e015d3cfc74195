"""The baseline: the least an SSE server on the same stack (Starlette, sse-starlette, uvicorn)
must do to deliver a posted message's first delta, with nothing of Rapport in between.

POST /messages/{sid} pushes, at once, the bytes Rapport sends for the first turn.delta of the
next turn (same id shape, event name, JSON and separators) to the queue of every stream open
on `sid` and answers 202 like Rapport does; GET /events/{sid} is an EventSourceResponse that
reads its own asyncio.Queue, pinging at the same interval as Rapport (BENCH_PING_SECONDS,
Rapport's default of 15 unless told otherwise).

    python -m uvicorn bench.baseline_app:create --factory --no-access-log
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.tracing import trace_memory_from_env

# The scripted engine's next turn after an answer it accepts starts with this word.
FIRST_DELTA_TEXT = "Thank "
# Rapport's streams end SSE lines in LF (api/routes/streams.py passes sep="\n").
SEP = "\n"


def delta_frame(turn_id: str) -> bytes:
    """What Rapport writes for a turn.delta: a Redis Stream id, the event, the JSON data."""
    data = json.dumps({"turn_id": turn_id, "text": FIRST_DELTA_TEXT}, ensure_ascii=False)
    event_id = f"{int(time.time() * 1000)}-0"
    return ServerSentEvent(data, event="turn.delta", id=event_id, sep=SEP).encode()


def create() -> Starlette:
    trace_memory_from_env()
    ping = int(float(os.environ.get("BENCH_PING_SECONDS", "15")))
    streams: dict[str, set[asyncio.Queue[bytes]]] = defaultdict(set)
    # Rapport's turn 1 is the opening question; each answer makes the next turn t2, t3, …
    turns: dict[str, int] = defaultdict(lambda: 1)

    async def post_message(request: Request) -> Response:
        sid = request.path_params["sid"]
        body = await request.json()
        turns[sid] += 1
        frame = delta_frame(f"t{turns[sid]}")
        for queue in streams.get(sid, ()):
            queue.put_nowait(frame)
        return JSONResponse(
            {
                "message_id": "msg_" + uuid.uuid4().hex[:24],
                "client_message_id": body.get("client_message_id"),
                "duplicate": False,
            },
            status_code=202,
        )

    async def events(request: Request) -> Response:
        sid = request.path_params["sid"]
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        streams[sid].add(queue)

        async def frames() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield await queue.get()
            finally:
                streams[sid].discard(queue)
                if not streams[sid]:
                    del streams[sid]

        return EventSourceResponse(frames(), ping=ping, sep=SEP)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/messages/{sid}", post_message, methods=["POST"]),
            Route("/events/{sid}", events, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
