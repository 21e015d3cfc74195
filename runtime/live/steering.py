"""Researchers acting on a live session: steering its interviewer, or writing its turns themselves.

Durable first (SQL), then live (the session's log, private events): see docs/live-console.md.
"""

from __future__ import annotations

from typing import Protocol

from runtime.live.early_turns import EarlyStarts
from runtime.live.eventlog import EventLog
from runtime.live.events import (
    SessionHandback,
    SessionTakeover,
    SteerQueued,
    TurnCompleted,
    TurnDelta,
    TurnStarted,
)
from runtime.live.lease import Leases
from runtime.live.turns import TurnRunner
from runtime.platform.errors import ValidationError
from runtime.sessions import steering, takeover
from runtime.sessions.steering import MAX_INSTRUCTION_CHARS, Steer, SteerMode
from runtime.sessions.takeover import ResearcherTurn, Takeover
from runtime.stores.database import Database

MAX_RESEARCHER_TURN_CHARS = 4000


class SteeringParts(Protocol):
    """What steering needs of the process's parts (runtime.services.Services)."""

    db: Database
    early: EarlyStarts
    events: EventLog
    leases: Leases
    turns: TurnRunner


async def steer(
    services: SteeringParts,
    workspace_id: str,
    session_id: str,
    instruction: str,
    mode: SteerMode,
    key_id: str | None,
) -> Steer:
    """Queue an instruction for the session's next turn; `now`: the turn under way is
    written again from its start with it (here at once, on another process at its next
    lease renewal)."""
    instruction = instruction.strip()
    if not instruction or len(instruction) > MAX_INSTRUCTION_CHARS:
        raise ValidationError(
            f"instruction must be 1 to {MAX_INSTRUCTION_CHARS} characters", field="instruction"
        )
    stored = await steering.queue(services.db, workspace_id, session_id, instruction, mode, key_id)
    await services.events.append(session_id, SteerQueued(stored.id, mode, instruction))
    if mode == "now" and not services.turns.restart(session_id):
        await _ask_elsewhere(services, session_id, "restart")
    return stored


async def _ask_elsewhere(services: SteeringParts, session_id: str, reason: str) -> None:
    """The turn under way, if any, is written by another process: it hears at its next lease
    renewal (a third of RAPPORT_TURN_LEASE_MS at most)."""
    if await services.leases.owes(session_id):
        await services.leases.ask_stop(session_id, reason)


async def take_over(
    services: SteeringParts, workspace_id: str, session_id: str, key_id: str | None
) -> Takeover:
    """From now on the AI writes no turn of the session; one it is writing stops where it is
    (committed as written): here at once, on another process at its next lease renewal."""
    taken = await takeover.take(services.db, workspace_id, session_id, key_id)
    await services.events.append(session_id, SessionTakeover(taken.taken_over_by))
    if not services.turns.stop(session_id):
        await _ask_elsewhere(services, session_id, "takeover")
    # No early start of the AI's turn on the next answer (elsewhere one is begun and dropped
    # once the stored answer says the session is taken over: one model request, unseen).
    services.early.forget(session_id)
    return taken


async def hand_back(services: SteeringParts, workspace_id: str, session_id: str) -> Takeover:
    """The AI writes the turns again, from everything said; the respondent's last message,
    if no turn answered it, is answered now."""
    handed = await takeover.hand_back(services.db, workspace_id, session_id)
    await services.events.append(session_id, SessionHandback(handed.turn_owed))
    if handed.turn_owed:
        await services.leases.owe(session_id)
        services.turns.start(session_id)
    return handed


async def write_turn(
    services: SteeringParts, workspace_id: str, session_id: str, content: str
) -> ResearcherTurn:
    """A researcher's interviewer turn: stored, then streamed to the respondent like any."""
    content = content.strip()
    if not content or len(content) > MAX_RESEARCHER_TURN_CHARS:
        raise ValidationError(
            f"content must be 1 to {MAX_RESEARCHER_TURN_CHARS} characters", field="content"
        )
    turn = await takeover.write_turn(services.db, workspace_id, session_id, content)
    # Settled: the turn a message owed during the takeover is answered (no sweeper retries it).
    await services.leases.settle(session_id)
    said = [
        TurnStarted(turn.turn_id, turn.item_id),
        TurnDelta(turn.turn_id, content),
        TurnCompleted(turn.turn_id, content, turn.item_id),
    ]
    await services.events.append_all(session_id, said)
    return turn
