"""A real HTTP webhook receiver for tests: it verifies signatures as an integrator would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.conftest import serving


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def verified(self, secret: str) -> Any:
        """The payload, once standardwebhooks accepts the signature (raises otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    url: str
    # Statuses to answer, in order; 200 once they run out.
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    arrivals: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    stall_seconds: float = 0.0

    async def next(self) -> Received:
        async with asyncio.timeout(10):
            return await self.arrivals.get()


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver("")

    async def hook(request: Request) -> Response:
        got = Received(dict(request.headers), await request.body())
        state.received.append(got)
        state.arrivals.put_nowait(got)
        if state.stall_seconds:
            await asyncio.sleep(state.stall_seconds)
        status = state.statuses.pop(0) if state.statuses else 200
        # More than the sender reads: it must stop at its limit, not choke.
        return PlainTextResponse("x" * 100_000, status_code=status)

    async def redirect(request: Request) -> Response:
        await request.body()
        state.received.append(Received(dict(request.headers), b"redirect"))
        return RedirectResponse(state.url, status_code=307)

    app = Starlette(
        routes=[
            Route("/hook", hook, methods=["POST"]),
            Route("/redirect", redirect, methods=["POST"]),
        ]
    )
    async with serving(app, lifespan="off") as base:
        state.url = f"{base}/hook"
        yield state
