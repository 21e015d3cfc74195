"""When an interview must end (its turn or time limit), and what the interviewer says then."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from runtime.engines.answers import Resolution
from runtime.engines.base import Decision, TurnContext

# Which of the interview's limits was reached.
Limit = Literal["max_turns", "max_duration"]


def out_of_time(ctx: TurnContext) -> Limit | None:
    """Why the interview must close now (max turns or duration reached), or None."""
    settings = ctx.interview.get("settings") or {}
    max_turns, max_minutes = settings.get("max_turns"), settings.get("max_duration_minutes")
    if max_turns and ctx.seq >= max_turns:
        return "max_turns"
    if max_minutes and ctx.now - ctx.started_at >= timedelta(minutes=max_minutes):
        return "max_duration"
    return None


def closing_message(ctx: TurnContext) -> str:
    """The interview's own closing message, else the default one in its language."""
    return (ctx.interview.get("closing_message") or "").strip() or ctx.phrases.closing()


def closing(
    ctx: TurnContext,
    metadata: dict[str, Any] | None = None,
    answer: Resolution | None = None,
    state: dict[str, Any] | None = None,
) -> Decision:
    """The decision of a turn that closes the interview here (its text: closing_message)."""
    return Decision(
        "close",
        None,
        dict(ctx.state) if state is None else state,
        completes=True,
        metadata=metadata or {},
        answer=answer,
    )
