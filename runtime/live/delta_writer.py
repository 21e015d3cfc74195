"""Writes a turn's text to the event log as fast as the log takes it, merging what piles up."""

from __future__ import annotations

import asyncio
import contextlib

from runtime.live.eventlog import EventLog
from runtime.live.events import SessionEvent, TurnDelta


class DeltaWriter:
    """The engine never waits on Redis: text it produces while a write is in flight is sent
    with the next write, so a fast engine makes few events and a slow one loses no latency."""

    def __init__(
        self,
        events: EventLog,
        session_id: str,
        turn_id: str,
        fence: str,
        opening: SessionEvent | None = None,
    ) -> None:
        # `opening` (the turn's `turn.started`) goes out with the first text, in one write.
        self._opening = [opening] if opening is not None else []
        self._events = events
        self._session_id = session_id
        self._turn_id = turn_id
        self._fence = fence
        self._queue: list[str] = []
        self._ready = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run(), name=f"deltas:{session_id}")

    def write(self, text: str) -> None:
        if self._task.done():
            self._task.result()  # surface LeaseLost or a Redis error to the engine loop
        self._queue.append(text)
        self._ready.set()

    async def close(self) -> None:
        """Flush what is queued and stop."""
        self._closing = True
        self._ready.set()
        await self._task

    async def abort(self) -> None:
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
            batch = [*self._opening, TurnDelta(self._turn_id, text)]
            self._opening = []
            await self._events.append_all(self._session_id, batch, self._fence)
