"""Writes a turn's text to the event log as fast as the log takes it, merging what piles up."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator

from runtime.engines.base import Decision, TextDelta
from runtime.engines.splice import Splice
from runtime.live.eventlog import EventLog, LeaseLost
from runtime.live.events import SessionEvent, TurnDelta, TurnStarted
from runtime.platform import metrics


class DeltaWriter:
    """The engine never waits on Redis: text it produces while a write is in flight is sent
    with the next write, so a fast engine makes few events and a slow one loses no latency.
    The turn opens with its first text: `opening` (its `turn.started`, unless already in the
    log) goes out with it, in one write."""

    def __init__(
        self,
        events: EventLog,
        session_id: str,
        turn_id: str,
        fence: str,
        opening: TurnStarted | None,
        first_token: tuple[str, float] | None = None,
    ) -> None:
        self._opening = opening
        # (engine, when the turn could start): the first text's delay is measured.
        self._first_token = first_token
        self._batch: list[SessionEvent] = []
        self._events = events
        self._session_id = session_id
        self._turn_id = turn_id
        self._fence = fence
        self._queue: list[str] = []
        self._ready = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.opened = False  # the first text (and the opening) was queued

    def write(self, text: str, item_id: str | None) -> None:
        """Queue text; `item_id`: the guide item the turn is on, as far as known yet."""
        if self._task is None:
            if self._first_token is not None and self._opening is not None:
                engine, began = self._first_token
                metrics.first_token(engine, time.perf_counter() - began)
            if self._opening is not None:
                self._batch = [dataclasses.replace(self._opening, item_id=item_id)]
            self._task = asyncio.create_task(self._run(), name=f"deltas:{self._session_id}")
            self.opened = True
        elif self._task.done():
            self._task.result()  # surface LeaseLost or a Redis error to the engine loop
        self._queue.append(text)
        self._ready.set()

    async def close(self) -> None:
        """Flush what is queued and stop."""
        if self._task is None:
            return
        self._closing = True
        self._ready.set()
        await self._task

    async def abort(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._ready.clear()
                await self._ready.wait()
                continue
            text = "".join(self._queue)
            self._queue.clear()
            batch = [*self._batch, TurnDelta(self._turn_id, text)]
            self._batch = []
            await self._events.append_all(self._session_id, batch, self._fence)


async def stream(
    events: EventLog,
    session_id: str,
    turn_id: str,
    outputs: AsyncIterator[TextDelta | Decision],
    said: str,
    opening: TurnStarted | None,
    fence: str,
    rephrase: str,
    first_token: tuple[str, float] | None = None,
    stop: asyncio.Event | None = None,
) -> tuple[str, Decision]:
    """Stream an engine's outputs into the log, continuing the `said` text an earlier
    attempt left (see Splice); returns the turn's whole text and the engine's decision.
    `opening`: the turn's `turn.started` (its item filled in here), None if already logged;
    `rephrase`: what bridges a retry that departs from `said` (in the interview's language);
    `first_token`: (engine, when the turn could start), to time a turn's first text;
    `stop`: set when the respondent interrupts (voice barge-in): the engine is closed at
    its next output and the turn is what it wrote so far."""
    splice = Splice(said, rephrase)
    decision: Decision | None = None
    writer = DeltaWriter(events, session_id, turn_id, fence, opening, first_token)
    try:
        async for output in outputs:
            if isinstance(output, Decision):
                decision = output
                continue
            fresh = splice.feed(output.text)
            if fresh:
                writer.write(fresh, decision.item_id if decision else None)
            if stop is not None and stop.is_set() and decision is not None:
                # Closing the generator cancels the model's request (its HTTP stream).
                await outputs.aclose()  # type: ignore[attr-defined]
                decision = dataclasses.replace(
                    decision, metadata={**decision.metadata, "stopped": "barge_in"}
                )
                break
        tail = splice.finish()
        if tail:
            writer.write(tail, decision.item_id if decision else None)
        await writer.close()
    except Exception as exc:
        if isinstance(exc, LeaseLost):
            await writer.abort()
        else:
            # The engine failed: what it wrote is on its way to the respondent anyway;
            # flushing it makes the log say exactly what a retry must continue from.
            with contextlib.suppress(Exception):
                await writer.close()
        raise
    except BaseException:
        await writer.abort()
        raise
    if decision is None:
        raise RuntimeError("engine finished without a decision")
    if opening is not None and not writer.opened:
        first = dataclasses.replace(opening, item_id=decision.item_id)
        await events.append(session_id, first, fence)
    return splice.text, decision
