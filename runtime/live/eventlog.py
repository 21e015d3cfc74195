"""Each session's ordered event log, as every backend (Redis, in memory) offers it."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Protocol

from runtime.live.events import EventType, SessionEvent, StoredEvent
from runtime.platform.views import Meta, View

LOG_PAGE = 500  # events per log read

# Events after which the interviewer owes or is writing a turn.
TURN_OPEN: frozenset[EventType] = frozenset(
    {"session.started", "respondent.message", "turn.started", "turn.delta"}
)


class LeaseLost(Exception):
    """The turn lease moved to another process; this writer must stop."""


class LiveState(View):
    """The live stream at a glance (null fields once the event log has expired)"""

    last_event_id: str | None
    # One Literal with None in it, as the document has always written it: an enum with null.
    last_event: Literal[EventType, None]
    turn_in_progress: Annotated[
        bool,
        Meta(
            description="The interviewer owes or is writing a turn right now (from SQL: true "
            "even while Redis is unreachable or has lost the log)"
        ),
    ]
    log_available: Annotated[
        bool,
        Meta(
            description="False when the event log could not be read (Redis unreachable): "
            "last_event_id and last_event are then null"
        ),
    ]


class EventLog(Protocol):
    """Appends can be fenced by the turn lease (`fence`: the holder's token; "" for none):
    a writer that lost the lease raises LeaseLost and writes nothing. Once a session is
    erased every append raises NotFound."""

    async def append(self, session_id: str, event: SessionEvent, fence: str = "") -> str: ...

    async def append_all(self, session_id: str, events: list[SessionEvent], fence: str = "") -> str:
        """Append several events in one step, in order; returns the last one's id."""
        ...

    async def announce_end(self, session_id: str, event: SessionEvent, fence: str = "") -> bool:
        """Append a terminal event unless one was already appended; True if this one was."""
        ...

    async def erase(
        self, session_id: str, turn_ids: list[str], interview_id: str | None = None
    ) -> int:
        """Delete everything live of the session, end its open streams with
        `session.deleted`, and refuse any later append; returns how many keys were removed.
        With its `interview_id`, its events leave the interview's feed, which gets the
        `session.deleted` instead."""
        ...

    async def last_event_type(self, session_id: str) -> str | None: ...

    async def live_state(self, session_id: str, owed: bool) -> LiveState:
        """`owed`: SQL says the interviewer owes a turn, which stays true when the log has
        lost track of it. With the log unreachable its fields are null."""
        ...

    async def after(
        self, session_id: str, last_id: str, count: int = LOG_PAGE
    ) -> list[StoredEvent]:
        """Events strictly after `last_id` ("0" for all), oldest first."""
        ...

    async def all(self, session_id: str) -> list[StoredEvent]: ...

    async def feed_after(
        self, interview_id: str, last_id: str, count: int = LOG_PAGE
    ) -> list[StoredEvent]:
        """The interview's feed (runtime.live.feed.FeedEvent: every event of its sessions'
        logs, in the order they were appended) strictly after `last_id`, oldest first."""
        ...

    async def feed_oldest(self, interview_id: str) -> str | None:
        """The oldest entry the capped feed still holds; None when it holds none."""
        ...

    async def drop_feed(self, interview_id: str) -> None:
        """Deletes the feed of an interview that is deleted."""
        ...


async def read_all(log: EventLog, session_id: str) -> list[StoredEvent]:
    """The whole log, page by page."""
    events: list[StoredEvent] = []
    last = "0"
    while batch := await log.after(session_id, last):
        events.extend(batch)
        last = batch[-1].id
    return events


def live_state(
    last_id: str | None, last: EventType | None, owed: bool, available: bool
) -> LiveState:
    return LiveState(
        last_event_id=last_id,
        last_event=last,
        turn_in_progress=owed or last in TURN_OPEN,
        log_available=available,
    )


# ASCII digits, the whole string: \d also matches "٣", and $ matches before a final "\n".
_STREAM_ID = re.compile(r"[0-9]{1,20}(-[0-9]{1,20})?")


_U64_MAX = 2**64 - 1  # each half of a Redis stream id; past it Redis refuses the id


def is_valid_id(value: str) -> bool:
    if not _STREAM_ID.fullmatch(value):
        return False
    ms, _, seq = value.partition("-")
    return int(ms) <= _U64_MAX and int(seq or 0) <= _U64_MAX


def id_key(event_id: str) -> tuple[int, int]:
    """A stream id as a comparable pair ("0" and "" sort before every real id)."""
    ms, _, seq = event_id.partition("-")
    return (int(ms or 0), int(seq or 0))
