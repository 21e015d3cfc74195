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
from runtime.interviews.guide import StoredGuide
from runtime.platform.clock import utcnow
from runtime.sessions import store as sessions
from runtime.sessions.store import PostedMessage

_KNOWN_LIMIT = 4096
_DONE = object()


@dataclass(frozen=True)
class Known:
    """A session as this process left it when it committed turn `seq`: what the next turn
    reads from SQL, without reading it."""

    interview: Mapping[str, Any]
    guide: StoredGuide
    state: dict[str, Any]  # as stored (JSON round trip), item_id included
    seq: int
    transcript: tuple[TranscriptEntry, ...]
    started_at: datetime


class EarlyStarts:
    """Per process, bounded: the sessions whose last turn this process committed, from which
    the next turn can start the moment an answer arrives."""

    def __init__(self, engines: Mapping[str, Engine], limit: int = _KNOWN_LIMIT) -> None:
        self._engines = engines
        self._known: OrderedDict[str, Known] = OrderedDict()
        self._limit = limit

    def remember(self, session_id: str, ctx: TurnContext, content: str, decision: Decision) -> None:
        if decision.completes:
            self._known.pop(session_id, None)
            return
        stored = sessions.stored_state(decision.state, decision.item_id, decision.move)
        state = json.loads(json.dumps(stored))
        said = TranscriptEntry("interviewer", content, decision.item_id)
        self._known[session_id] = Known(
            ctx.interview, ctx.guide, state, ctx.seq, (*ctx.transcript, said), ctx.started_at
        )
        self._known.move_to_end(session_id)
        if len(self._known) > self._limit:
            self._known.popitem(last=False)

    def begin(self, session_id: str, content: str) -> EarlyTurn | None:
        """Start the turn a respondent's `content` will owe, before it is stored, when this
        process wrote the session's last turn (so the context needs no SQL read). What is
        known is taken out while the turn is owed: only the turn that commits puts it back."""
        known = self._known.pop(session_id, None)
        if known is None:
            return None
        engine = self._engines.get(str(known.interview.get("engine"))) or self._engines["scripted"]
        return EarlyTurn(engine, known, content)

    def forget(self, session_id: str) -> None:
        """Drop what is kept of an erased session."""
        self._known.pop(session_id, None)


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
        self.turn_id = f"t{self.ctx.seq}"
        self.attempt: int | None = None  # counted when the turn is owed
        self.began = time.perf_counter()  # the answer's arrival, for time to first token
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump(), name="early-turn")

    def confirmed_by(self, posted: PostedMessage) -> bool:
        """Whether the session is still as known, apart from the one message just stored.
        Only a respondent message moves `turn_seq` on and only one turn commits per seq, so
        an unchanged seq (plus the one) means no message was written elsewhere; the
        interview's `updated_at` moves with every edit of it. A session researchers steer or
        have taken over starts its turn from SQL."""
        known = self.known
        return (
            posted.created
            and not posted.directed
            and posted.turn_seq == known.seq + 1
            and posted.state == known.state
            and posted.interview_updated_at == known.interview.get("updated_at")
        )

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
