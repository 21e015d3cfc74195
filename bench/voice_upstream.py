"""The test upstream (tests/upstream) as bench.voice serves it: plus when each request arrived.

`python -m uvicorn bench.voice_upstream:create --factory`. `GET /bench/arrivals` lists the
chat requests in arrival order: `at`, the upstream's `time.monotonic()` once the request's
body had arrived (CLOCK_MONOTONIC: the same clock as the bench's `perf_counter` on Linux),
and `answer`, the last respondent message the request carried.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.upstream.server import State, create_from_env


def last_answer(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def create() -> Starlette:
    app = create_from_env()
    state: State = app.state.upstream

    async def arrivals(request: Request) -> Response:
        seen = [{"at": r.at, "answer": last_answer(r.messages)} for r in state.requests]
        return JSONResponse(seen)

    app.router.routes.append(Route("/bench/arrivals", arrivals, methods=["GET"]))
    return app
