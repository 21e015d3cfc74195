"""The sweeper: recovers turns whose generator died, abandons idle sessions, keeps exports and
voice sessions' final transcripts; and, as a pass of its own, enforces retention."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from runtime.analysis.summaries import queue as session_analysis
from runtime.analysis.synthesis import upkeep as synthesis_upkeep
from runtime.erasure import retention
from runtime.exports import upkeep as export_upkeep
from runtime.live import ending
from runtime.platform.clock import utcnow
from runtime.services import Services
from runtime.transcripts import final as final_transcript
from workers import periodic

log = structlog.get_logger(__name__)


async def sweep_once(services: Services) -> tuple[int, int]:
    # A turn owed for less than one lease period may simply not have started yet.
    recovered = await services.turns.recover_orphans(services.settings.turn_lease_ms)
    recovered += await recover_lost_turns(services)
    abandoned = await ending.abandon_idle(services)
    # Voice sessions just ended by their last turn: their final transcript (the turn's
    # runner queues only the auto-close check: runtime/analysis/autoclose.py).
    await final_transcript.requeue(services, utcnow() - final_transcript.RECENT)
    # Sessions just ended by their last turn: their summary and quality.
    await session_analysis.requeue(services, utcnow() - session_analysis.RECENT)
    return recovered, abandoned


async def recover_lost_turns(services: Services) -> int:
    """Owed turns that only SQL remembers (Redis lost its data): run again, or closed politely
    once recovered too often. Runs after `recover_orphans`, which Redis still knows about."""
    return await services.turns.recover_lost(services.settings.turn_lease_ms)


def _sweeper() -> periodic.Pass:
    """One sweeper's pass; it looks after exports, syntheses and voice sessions' final
    transcripts at its first pass, then every export_upkeep_seconds (they change slowly, and
    each look asks Redis about every job)."""
    upkeep_due = 0.0

    async def one_pass(services: Services) -> None:
        nonlocal upkeep_due
        try:
            recovered, abandoned = await sweep_once(services)
            if recovered or abandoned:
                log.info("sweeper.swept", recovered=recovered, abandoned=abandoned)
        finally:
            if time.monotonic() >= upkeep_due:
                upkeep_due = time.monotonic() + services.settings.export_upkeep_seconds
                upkept = await export_upkeep.run(services)
                if upkept:
                    log.info("sweeper.exports", **vars(upkept))
                finals = await final_transcript.requeue(services)
                if finals:
                    log.info("sweeper.voice_finals", queued=finals)
                requeued, lost = await synthesis_upkeep.requeue_lost(services)
                if requeued or lost:
                    log.info("sweeper.syntheses", requeued=requeued, lost=lost)
                analyses = await session_analysis.requeue(services)
                if analyses:
                    log.info("sweeper.session_analyses", queued=analyses)

    return one_pass


def _interval(services: Services) -> float:
    return services.settings.sweep_interval_seconds


async def retention_pass(services: Services) -> None:
    """Erase the finished sessions past their interview's retention (runtime/erasure/retention.py),
    and finish erasures a dead process left half done."""
    retained = await retention.run(services)
    if retained:
        log.info("sweeper.retention", **vars(retained))


def _retention_interval(services: Services) -> float:
    return services.settings.retention_interval_seconds


async def run(services: Services, stop: asyncio.Event) -> None:
    await asyncio.gather(
        periodic.run(services, stop, "sweeper", _sweeper(), _interval(services)),
        periodic.run(services, stop, "retention", retention_pass, _retention_interval(services)),
    )


async def start_in_process(services: Services) -> Callable[[], Awaitable[None]]:
    """Run the sweeper (and the retention pass) beside the API (rapport serve); returns
    their stop function."""
    stop_sweeper = await periodic.in_process("sweeper", _sweeper(), _interval)(services)
    stop_retention = await periodic.in_process("retention", retention_pass, _retention_interval)(
        services
    )

    async def stop() -> None:
        await stop_sweeper()
        await stop_retention()

    return stop
