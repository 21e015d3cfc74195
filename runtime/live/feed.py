"""An interview's live feed: its sessions' events in one ordered stream, for researchers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from runtime.live.eventlog import id_key
from runtime.live.events import EVENT_CLASSES, SessionEvent, SessionStarted, StoredEvent

log = structlog.get_logger(__name__)

# The first frame for a reader resuming from before what the capped feed still holds.
RESET = "feed.reset"
# The session's interview, or None when the session is unknown (erased, never stored).
Lookup = Callable[[str], Awaitable[str | None]]
# Sessions whose interview a process remembers: a session never changes interview, so the
# cache is never stale, only bounded (about 100 bytes an entry).
CACHED_SESSIONS = 100_000


@dataclass(frozen=True)
class FeedEvent(StoredEvent):
    """A session event as the feed holds it: `id` is the feed's own entry id, `entry_id` the
    event's id in the session's log, and `raw` the data sent (the event's plus session_id)."""

    session_id: str
    entry_id: str

    @classmethod
    def mirrored(
        cls, feed_id: str, session_id: str, entry_id: str, event_type: str, data: str
    ) -> FeedEvent:
        event = EVENT_CLASSES[event_type](**json.loads(data))
        return cls(feed_id, event, with_session(data, session_id), session_id, entry_id)

    @classmethod
    def of_stored(cls, feed_id: str, session_id: str, stored: StoredEvent) -> FeedEvent:
        raw = with_session(stored.raw, session_id)
        return cls(feed_id, stored.event, raw, session_id, stored.id)

    @property
    def data(self) -> dict[str, Any]:
        return {**self.event.data(), "session_id": self.session_id}

    @property
    def ends_stream(self) -> bool:
        return False  # a session's end is one more event of the interview's feed


def with_session(data: str, session_id: str) -> str:
    """The event's JSON object with "session_id" in it (once: session.started has it)."""
    if '"session_id"' in data and "session_id" in json.loads(data):
        return data
    body = data.strip()[1:]
    return json.dumps({"session_id": session_id})[:-1] + ("" if body == "}" else ", ") + body


def published(payload: str) -> FeedEvent:
    """A feed notify message ("feed id\\nsession\\nentry id\\ntype\\ndata")."""
    feed_id, session_id, entry_id, event_type, data = payload.split("\n", 4)
    return FeedEvent.mirrored(feed_id, session_id, entry_id, event_type, data)


def trimmed_before(oldest: str | None, last_id: str) -> bool:
    """Whether a reader resuming after `last_id` has missed entries the feed no longer holds
    (trimmed past its cap, or expired): its id is older than the oldest entry kept."""
    if last_id in ("", "0", "0-0"):
        return False
    return oldest is None or id_key(last_id) < id_key(oldest)


class InterviewOf:
    """Each session's interview, looked up once per process (the append callers know only
    the session). On the hot path a log reads `known` itself: a dict lookup, not a call."""

    def __init__(self, lookup: Lookup, size: int = CACHED_SESSIONS) -> None:
        self._lookup = lookup
        self._size = size
        self.known: dict[str, str] = {}

    def _remember(self, session_id: str, interview_id: str) -> None:
        if len(self.known) >= self._size:
            del self.known[next(iter(self.known))]  # the oldest remembered
        self.known[session_id] = interview_id

    async def find(self, session_id: str, events: Sequence[SessionEvent]) -> str | None:
        """For a session not `known` yet: named by its session.started, or looked up."""
        found = next((e.interview_id for e in events if isinstance(e, SessionStarted)), None)
        if found is None:
            try:
                found = await self._lookup(session_id)
            except Exception as exc:
                # The session's own log is the record and must not fail for its feed's
                # sake: this event misses the feed (and the next append looks again).
                log.warning("feed.interview_unknown", session_id=session_id, error=str(exc))
                return None
        if found is not None:
            self._remember(session_id, found)
        return found
