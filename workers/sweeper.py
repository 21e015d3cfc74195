"""The sweeper: recovers turns whose generator died, abandons idle sessions, keeps exports."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog

from runtime import conversation, export_upkeep
from runtime.services import Services

log = structlog.get_logger(__name__)


async def sweep_once(services: Services) -> tuple[int, int]:
    # A turn owed for less than one lease period may simply not have started yet.
    recovered = await services.turns.recover_orphans(services.settings.turn_lease_ms)
    abandoned = await conversation.abandon_idle(services)
    return recovered, abandoned


async def run(services: Services, stop: asyncio.Event) -> None:
    upkeep_due = 0.0  # exports are looked after at start, then every export_upkeep_seconds
    while not stop.is_set():
        try:
            recovered, abandoned = await sweep_once(services)
            if recovered or abandoned:
                log.info("sweeper.swept", recovered=recovered, abandoned=abandoned)
        except Exception:
            log.exception("sweeper.failed")
        if time.monotonic() >= upkeep_due:
            upkeep_due = time.monotonic() + services.settings.export_upkeep_seconds
            try:
                upkept = await export_upkeep.run(services)
                if upkept:
                    log.info("sweeper.exports", **vars(upkept))
            except Exception:
                log.exception("sweeper.exports_failed")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(services.settings.sweep_interval_seconds):
                await stop.wait()


async def start_in_process(services: Services) -> Callable[[], Awaitable[None]]:
    """Run the sweeper beside the API (rapport serve); returns its stop function."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(services, stop), name="sweeper")

    async def stop_sweeper() -> None:
        stop.set()
        await task

    return stop_sweeper
