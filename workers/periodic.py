"""A pass run again and again until stopped: the shape of the sweeper and webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from runtime.services import Services
from runtime.stores import outages as store_errors

log = structlog.get_logger(__name__)
Pass = Callable[[Services], Awaitable[None]]


async def run(
    services: Services, stop: asyncio.Event, name: str, one_pass: Pass, interval: float
) -> None:
    while not stop.is_set():
        try:
            await one_pass(services)
        except Exception as exc:
            if store_errors.outage(exc) is None:
                log.exception(f"{name}.failed")
            else:
                # A store is down or locked: one line per pass, not a traceback; the next
                # pass tries again.
                log.warning(f"{name}.store_unavailable", error=f"{type(exc).__name__}: {exc}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await stop.wait()


def in_process(
    name: str, one_pass: Pass, interval: Callable[[Services], float]
) -> Callable[[Services], Awaitable[Callable[[], Awaitable[None]]]]:
    """An on_start hook for the API app that runs the pass beside it; returns its stop."""

    async def start(services: Services) -> Callable[[], Awaitable[None]]:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run(services, stop, name, one_pass, interval(services)), name=name
        )

        async def stop_it() -> None:
            stop.set()
            await task

        return stop_it

    return start
