"""Which engine writes a turn: the interview's, until the turn has failed too often."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import structlog

from runtime.engines.base import Decision, Engine, TextDelta, TurnContext
from runtime.live.lease import Leases
from runtime.platform import metrics

log = structlog.get_logger(__name__)


async def engine_for(
    engines: dict[str, Engine],
    leases: Leases,
    max_attempts: int,
    session_id: str,
    turn_id: str,
    name: str,
    attempt: int | None = None,
    recoveries: int | None = None,
) -> Engine:
    """The interview's engine, until this turn has failed too often: then the scripted
    one, and past twice the limit a closing apology, so no turn is retried forever.
    `attempt`: this one's number, when already counted. Redis counts attempts, and a
    Redis that lost its data forgot them: SQL counts those recoveries (`recoveries`), and
    a turn recovered more than the limit gets the apology too."""
    if recoveries is not None and recoveries > max_attempts:
        log.warning("turn.recoveries_exhausted", session_id=session_id, turn=turn_id)
        return GiveUp()
    if attempt is None:
        attempt = await leases.count_attempt(session_id, turn_id)
    if attempt <= max_attempts:
        return engines.get(name) or engines["scripted"]
    log.warning("turn.attempts_exhausted", session_id=session_id, turn=turn_id, attempt=attempt)
    if attempt <= 2 * max_attempts and name != "scripted":
        return Fallback(engines["scripted"], "attempts_exhausted")
    return GiveUp()


def count(engine: str, decision: Decision) -> None:
    """A finished turn's outcome, for the metrics."""
    reason = decision.metadata.get("fallback_reason") if decision.metadata.get("fallback") else None
    outcome: metrics.TurnOutcome = (
        "gave_up" if reason == "gave_up" else "fallback" if reason else "completed"
    )
    metrics.turn_finished(engine, outcome, str(reason) if reason else None)


class Fallback:
    """Another engine taking the turn; its decision is marked as a fallback."""

    def __init__(self, engine: Engine, reason: str) -> None:
        self._engine = engine
        self._reason = reason

    async def respond(self, ctx: TurnContext) -> AsyncIterator[TextDelta | Decision]:
        async for output in self._engine.respond(ctx):
            if isinstance(output, Decision):
                meta = {**output.metadata, "fallback": True, "fallback_reason": self._reason}
                output = dataclasses.replace(output, metadata=meta)
            yield output


class GiveUp:
    """The last resort for a turn nothing could write: close the session politely."""

    async def respond(self, ctx: TurnContext) -> AsyncIterator[TextDelta | Decision]:
        yield TextDelta(ctx.phrases.apology())
        meta = {
            "fallback": True,
            "fallback_reason": "gave_up",
            "ended_reason": "interviewer_failed",
        }
        yield Decision("close", None, dict(ctx.state), completes=True, metadata=meta)
