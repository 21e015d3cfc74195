"""The live stores in this process's memory: event log, hub and leases, for tests and one process.

They keep the Redis ones' contract (tests/runtime/live/test_live_contract.py runs one suite
against both) but not their durability: nothing expires, nothing outlives the process.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from runtime.live.eventlog import LOG_PAGE, LeaseLost, LiveState, id_key, live_state, read_all
from runtime.live.events import (
    PRIVATE_EVENTS,
    SessionDeleted,
    SessionEvent,
    StoredEvent,
)
from runtime.live.feed import FeedEvent, InterviewOf
from runtime.live.hub import KeyCheck, Readers, Subscription
from runtime.platform.errors import NotFound
from runtime.stores import redis_keys

# Called with the channel a reader of the event follows (as Redis would publish it) and the
# event.
Listener = Callable[[str, StoredEvent], None]


class MemoryLeases:
    def __init__(self, lease_ms: int) -> None:
        self.lease_ms = lease_ms
        self._held: dict[str, tuple[str, float]] = {}  # session: (token, until, monotonic s)
        self._owed: dict[str, float] = {}  # session: since (ms)
        self._attempts: dict[tuple[str, str], int] = {}
        self._asked: dict[str, tuple[str, float]] = {}  # session: (reason, until, monotonic s)

    def holder(self, session_id: str) -> str | None:
        held = self._held.get(session_id)
        if held is None or held[1] <= time.monotonic():
            self._held.pop(session_id, None)
            return None
        return held[0]

    def _hold(self, session_id: str, token: str) -> None:
        self._held[session_id] = (token, time.monotonic() + self.lease_ms / 1000)

    async def owe(self, session_id: str) -> None:
        self._owed[session_id] = time.time() * 1000

    async def owes(self, session_id: str) -> bool:
        return session_id in self._owed

    async def settle(self, session_id: str) -> None:
        self._owed.pop(session_id, None)

    async def take(self, session_id: str) -> str | None:
        if self.holder(session_id) is not None:
            return None
        token = uuid.uuid4().hex
        self._hold(session_id, token)
        return token

    async def owe_and_take(self, session_id: str, turn_id: str) -> tuple[str | None, int]:
        await self.owe(session_id)
        token = await self.take(session_id)
        return token, await self.count_attempt(session_id, turn_id)

    async def renew(self, session_id: str, token: str) -> bool:
        if self.holder(session_id) != token:
            return False
        self._hold(session_id, token)
        return True

    async def renew_hearing(self, session_id: str, token: str) -> tuple[bool, str | None]:
        if not await self.renew(session_id, token):
            return False, None
        asked = self._asked.pop(session_id, None)
        return True, asked[0] if asked is not None and asked[1] > time.monotonic() else None

    async def ask_stop(self, session_id: str, reason: str) -> None:
        self._asked[session_id] = (reason, time.monotonic() + self.lease_ms / 1000)

    async def release(self, session_id: str, token: str) -> None:
        if self.holder(session_id) == token:
            del self._held[session_id]

    async def count_attempt(self, session_id: str, turn_id: str) -> int:
        key = (session_id, turn_id)
        self._attempts[key] = self._attempts.get(key, 0) + 1
        return self._attempts[key]

    async def unleased_owed(self, older_than_ms: int) -> list[str]:
        cutoff = time.time() * 1000 - older_than_ms
        return [s for s, since in self._owed.items() if since <= cutoff and not self.holder(s)]

    async def unknown(self, session_ids: list[str]) -> list[str]:
        return [s for s in session_ids if s not in self._owed and not self.holder(s)]

    def erase(self, session_id: str, turn_ids: list[str]) -> int:
        """Drops the session's lease, owed turn and attempt counts; how many of them there were."""
        removed = int(self._held.pop(session_id, None) is not None)
        self._owed.pop(session_id, None)
        for turn_id in turn_ids:
            removed += int(self._attempts.pop((session_id, turn_id), None) is not None)
        return removed


class MemoryEventLog:
    """Appends are fenced by `leases`, like the Redis log's by the lease key; with
    `interview_of`, mirrored into each interview's feed, capped like the Redis one (exactly)."""

    def __init__(self, leases: MemoryLeases, interview_of: InterviewOf | None = None) -> None:
        self._leases = leases
        self._interview_of = interview_of
        self._logs: dict[str, list[StoredEvent]] = {}
        self._feeds: dict[str, list[StoredEvent]] = {}
        self._ended: set[str] = set()
        self._erased: set[str] = set()
        self._last = (0, 0)
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """`listener` gets every event appended from now on, as it is appended."""
        self._listeners.append(listener)

    def _next_id(self) -> str:
        # Stream ids as Redis makes them: milliseconds, then a sequence within one.
        ms = max(int(time.time() * 1000), self._last[0])
        self._last = (ms, self._last[1] + 1 if ms == self._last[0] else 0)
        return f"{self._last[0]}-{self._last[1]}"

    def _add(self, session_id: str, events: list[SessionEvent], interview_id: str | None) -> str:
        log = self._logs.setdefault(session_id, [])
        for event in events:
            stored = StoredEvent.of(self._next_id(), event)
            log.append(stored)
            self._tell(redis_keys.notify(session_id), stored)
            if interview_id is not None:
                self._mirror(interview_id, session_id, stored)
        return log[-1].id

    def _mirror(self, interview_id: str, session_id: str, stored: StoredEvent) -> None:
        feed = self._feeds.setdefault(interview_id, [])
        mirrored = FeedEvent.of_stored(self._next_id(), session_id, stored)
        feed.append(mirrored)
        del feed[: -redis_keys.INTERVIEW_FEED_MAXLEN]
        self._tell(redis_keys.interview_notify(interview_id), mirrored)

    def _tell(self, channel: str, event: StoredEvent) -> None:
        for listener in self._listeners:
            listener(channel, event)

    def _check(self, session_id: str, fence: str) -> None:
        if session_id in self._erased:
            raise NotFound(f"session {session_id} was erased")
        if fence and self._leases.holder(session_id) != fence:
            raise LeaseLost(session_id)

    async def append(self, session_id: str, event: SessionEvent, fence: str = "") -> str:
        return await self.append_all(session_id, [event], fence)

    async def _interview(self, session_id: str, events: list[SessionEvent]) -> str | None:
        known = self._interview_of
        if known is None:
            return None
        return known.known.get(session_id) or await known.find(session_id, events)

    async def append_all(self, session_id: str, events: list[SessionEvent], fence: str = "") -> str:
        interview_id = await self._interview(session_id, events)
        self._check(session_id, fence)
        return self._add(session_id, events, interview_id)

    async def announce_end(self, session_id: str, event: SessionEvent, fence: str = "") -> bool:
        interview_id = await self._interview(session_id, [event])
        self._check(session_id, fence)
        if session_id in self._ended:
            return False
        self._ended.add(session_id)
        self._add(session_id, [event], interview_id)
        return True

    async def erase(
        self, session_id: str, turn_ids: list[str], interview_id: str | None = None
    ) -> int:
        # As the Redis log counts keys: the log, its live state, the ended flag, the lease
        # and the attempt counters.
        removed = 2 * int(self._logs.pop(session_id, None) is not None)
        removed += int(session_id in self._ended) + self._leases.erase(session_id, turn_ids)
        self._ended.discard(session_id)
        self._erased.add(session_id)
        feed = None if self._interview_of is None else self._feeds.get(interview_id or "")
        if feed is not None:
            feed[:] = [e for e in feed if not _of_session(e, session_id)]
        self._add(session_id, [SessionDeleted(session_id)], None if feed is None else interview_id)
        return removed

    def _last_public(self, session_id: str) -> StoredEvent | None:
        """The newest event of the conversation (as the Redis log's live state keeps it)."""
        log = self._logs.get(session_id, [])
        return next((e for e in reversed(log) if e.type not in PRIVATE_EVENTS), None)

    async def last_event_type(self, session_id: str) -> str | None:
        last = self._last_public(session_id)
        return None if last is None else last.type

    async def live_state(self, session_id: str, owed: bool) -> LiveState:
        last = self._last_public(session_id)
        if last is None:
            return live_state(None, None, owed, True)
        return live_state(last.id, last.type, owed, True)

    async def after(
        self, session_id: str, last_id: str, count: int = LOG_PAGE
    ) -> list[StoredEvent]:
        after = id_key(last_id)
        log = self._logs.get(session_id, [])
        return [e for e in log if id_key(e.id) > after][:count]

    async def all(self, session_id: str) -> list[StoredEvent]:
        return await read_all(self, session_id)

    async def feed_after(
        self, interview_id: str, last_id: str, count: int = LOG_PAGE
    ) -> list[StoredEvent]:
        after = id_key(last_id)
        return [e for e in self._feeds.get(interview_id, []) if id_key(e.id) > after][:count]

    async def drop_feed(self, interview_id: str) -> None:
        self._feeds.pop(interview_id, None)

    async def feed_oldest(self, interview_id: str) -> str | None:
        feed = self._feeds.get(interview_id)
        return feed[0].id if feed else None


def _of_session(event: StoredEvent, session_id: str) -> bool:
    return isinstance(event, FeedEvent) and event.session_id == session_id


class MemoryHub(Readers):
    """Readers fed by the memory log as it appends: nothing to confirm, nothing to lose."""

    def __init__(
        self, events: MemoryEventLog, heartbeat_seconds: float, key_check: KeyCheck | None = None
    ) -> None:
        super().__init__(events, heartbeat_seconds, key_check)
        events.listen(self._deliver)

    async def start(self) -> None:
        self._start_ticker()

    async def stop(self) -> None:
        await self._stop_tasks()

    async def _follow(self, subscription: Subscription, live: bool) -> Subscription:
        subscription.ready = True
        if live:
            self._subscriptions[subscription.channel].add(subscription)
            if subscription.key_id is not None:
                self._by_key[subscription.key_id].add(subscription)
        return subscription

    async def release(self, subscription: Subscription) -> None:
        self._close(subscription)
        self._forget(subscription)
