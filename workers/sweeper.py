"""The sweeper: recovers turns whose generator died, and abandons idle sessions."""

from __future__ import annotations

import asyncio

import structlog

from runtime import conversation
from runtime.services import Services
from workers import periodic

log = structlog.get_logger(__name__)


async def sweep_once(services: Services) -> tuple[int, int]:
    # A turn owed for less than one lease period may simply not have started yet.
    recovered = await services.turns.recover_orphans(services.settings.turn_lease_ms)
    abandoned = await conversation.abandon_idle(services)
    return recovered, abandoned


async def _pass(services: Services) -> None:
    recovered, abandoned = await sweep_once(services)
    if recovered or abandoned:
        log.info("sweeper.swept", recovered=recovered, abandoned=abandoned)


def _interval(services: Services) -> float:
    return services.settings.sweep_interval_seconds


async def run(services: Services, stop: asyncio.Event) -> None:
    await periodic.run(services, stop, "sweeper", _pass, _interval(services))


# Run the sweeper beside the API (rapport serve).
start_in_process = periodic.in_process("sweeper", _pass, _interval)
