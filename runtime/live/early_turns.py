"""The next turn of a session begun the moment an answer arrives, from what this process knows."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.engines.base import Decision, Engine, TextDelta, TranscriptEntry, TurnContext
from runtime.platform.clock import utcnow

_KNOWN_LIMIT = 4096
_DONE = object()


@dataclass(frozen=True)
class Known:
    """A session as this process left it when it committed turn `seq`: what the next turn
    reads from SQL, without reading it."""

    interview: Mapping[str, Any]
    guide: Mapping[str, Any]
    state: dict[str, Any]  # as stored (JSON round trip), item_id included
    seq: int
    transcript: tuple[TranscriptEntry, ...]
    started_at: datetime

    def holds_for(self, turn_seq: int, state: Any, interview_updated_at: Any) -> bool:
        """Whether the session is still as known, apart from the one message just stored.
        Only a respondent message moves `turn_seq` on and only one turn commits per seq, so
        an unchanged seq (plus the one) means no message was written elsewhere; the
        interview's `updated_at` moves with every edit of it."""
        return (
            turn_seq == self.seq + 1
            and state == self.state
            and interview_updated_at == self.interview.get("updated_at")
        )


class KnownSessions:
    """Per process, bounded: the sessions whose last turn this process committed."""

    def __init__(self, limit: int = _KNOWN_LIMIT) -> None:
        self._known: OrderedDict[str, Known] = OrderedDict()
        self._limit = limit

    def remember(self, session_id: str, ctx: TurnContext, content: str, decision: Decision) -> None:
        if decision.completes:
            self._known.pop(session_id, None)
            return
        state = json.loads(json.dumps({**decision.state, "item_id": decision.item_id}))
        said = TranscriptEntry("interviewer", content, decision.item_id)
        self._known[session_id] = Known(
            ctx.interview, ctx.guide, state, ctx.seq, (*ctx.transcript, said), ctx.started_at
        )
        self._known.move_to_end(session_id)
        if len(self._known) > self._limit:
            self._known.popitem(last=False)

    def pop(self, session_id: str) -> Known | None:
        """Taken out while a turn is owed: it is put back only by the turn that commits."""
        return self._known.pop(session_id, None)


class EarlyTurn:
    """An engine's turn begun before the message that owes it is committed. Its output is held
    (nothing is published) until the turn runner, once the message is durable and the context
    confirmed, takes it; otherwise it is cancelled and nothing of it was ever seen."""

    def __init__(self, engine: Engine, known: Known, content: str) -> None:
        entry = TranscriptEntry("respondent", content, known.state.get("item_id"))
        self.known = known
        self.engine = engine
        self.ctx = TurnContext(
            interview=known.interview,
            guide=known.guide,
            state=known.state,
            seq=known.seq + 1,
            transcript=[*known.transcript, entry],
            started_at=known.started_at,
            now=utcnow(),
        )
        self.attempt: int | None = None  # counted when the turn is owed
        self.began = time.perf_counter()  # the answer's arrival, for time to first token
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump(), name="early-turn")

    async def _pump(self) -> None:
        try:
            async for output in self.engine.respond(self.ctx):
                self._queue.put_nowait(output)
        except Exception as exc:  # handed to the runner, which treats it as the engine's
            self._queue.put_nowait(exc)
        else:
            self._queue.put_nowait(_DONE)

    async def outputs(self) -> AsyncIterator[TextDelta | Decision]:
        while True:
            output = await self._queue.get()
            if output is _DONE:
                return
            if isinstance(output, Exception):
                raise output
            yield output

    async def cancel(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
