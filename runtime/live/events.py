"""What moves through a live session: typed events, written and read back as the same types."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

TERMINAL_STATUSES = frozenset({"completed", "abandoned"})

EventType = Literal[
    "session.started",
    "turn.started",
    "turn.delta",
    "turn.completed",
    "coverage.updated",
    "respondent.message",
    "session.state",
    "session.completed",
    "session.deleted",
    "steer.queued",
    "steer.applied",
    "note.added",
    "session.takeover",
    "session.handback",
]

# Researchers' events: in the session's log, so they sit in order with its turns, and on the
# interview's live feed; never sent (or spoken) to the respondent, whose readers drop them.
PRIVATE_EVENTS: frozenset[EventType] = frozenset(
    {"steer.queued", "steer.applied", "note.added", "session.takeover", "session.handback"}
)


@dataclass(frozen=True)
class SessionEvent:
    type: ClassVar[EventType]

    def data(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The event's data as the log stores it (and SSE sends it)."""
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass(frozen=True)
class SessionStarted(SessionEvent):
    type: ClassVar[EventType] = "session.started"
    session_id: str
    interview_id: str


@dataclass(frozen=True)
class TurnStarted(SessionEvent):
    type: ClassVar[EventType] = "turn.started"
    turn_id: str
    item_id: str | None
    # The turn is being written again from its start (Redis lost what had been streamed of
    # it): a client replaces whatever it showed for this turn_id with what follows.
    restart: bool = False


@dataclass(frozen=True)
class TurnDelta(SessionEvent):
    type: ClassVar[EventType] = "turn.delta"
    turn_id: str
    text: str


@dataclass(frozen=True)
class TurnCompleted(SessionEvent):
    type: ClassVar[EventType] = "turn.completed"
    turn_id: str
    content: str
    item_id: str | None


@dataclass(frozen=True)
class CoverageUpdated(SessionEvent):
    """Where the session stands on its guide after a turn, in compact form: the summary of
    runtime.coverage's SessionCoverage and each item's {item_id, status, value}."""

    type: ClassVar[EventType] = "coverage.updated"
    turn_id: str
    answered: int
    total: int
    share: float
    required_open: int
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class RespondentMessage(SessionEvent):
    type: ClassVar[EventType] = "respondent.message"
    message_id: str
    content: str
    client_message_id: str


@dataclass(frozen=True)
class SessionState(SessionEvent):
    type: ClassVar[EventType] = "session.state"
    status: str
    reason: str | None


@dataclass(frozen=True)
class SessionCompleted(SessionEvent):
    type: ClassVar[EventType] = "session.completed"
    reason: str


@dataclass(frozen=True)
class SessionDeleted(SessionEvent):
    """The last event of an erased session: its log is gone, readers must stop."""

    type: ClassVar[EventType] = "session.deleted"
    session_id: str


@dataclass(frozen=True)
class SteerQueued(SessionEvent):
    """A researcher's instruction to the interviewer, stored and waiting for a turn."""

    type: ClassVar[EventType] = "steer.queued"
    steer_id: str
    mode: Literal["next_turn", "now"]
    instruction: str


@dataclass(frozen=True)
class SteerApplied(SessionEvent):
    """The instruction shaped turn `turn_id` (appended before that turn's turn.started)."""

    type: ClassVar[EventType] = "steer.applied"
    steer_id: str
    turn_id: str


@dataclass(frozen=True)
class NoteAdded(SessionEvent):
    type: ClassVar[EventType] = "note.added"
    note_id: str
    kind: Literal["note", "bookmark"]
    message_id: str | None
    body: str


@dataclass(frozen=True)
class SessionTakeover(SessionEvent):
    """A researcher writes the interviewer's turns from now on (author: researcher)."""

    type: ClassVar[EventType] = "session.takeover"
    taken_over_by: str | None  # the API key's id


@dataclass(frozen=True)
class SessionHandback(SessionEvent):
    """The AI interviewer writes the turns again, from everything said."""

    type: ClassVar[EventType] = "session.handback"
    turn_owed: bool  # the respondent's last message is unanswered: the AI answers it now


# Every event type, by its name on the wire: what a read from the log is decoded into.
EVENT_CLASSES: dict[str, type[SessionEvent]] = {
    cls.type: cls
    for cls in (
        SessionStarted,
        TurnStarted,
        TurnDelta,
        TurnCompleted,
        CoverageUpdated,
        RespondentMessage,
        SessionState,
        SessionCompleted,
        SessionDeleted,
        SteerQueued,
        SteerApplied,
        NoteAdded,
        SessionTakeover,
        SessionHandback,
    )
}


@dataclass(frozen=True)
class StoredEvent:
    """An event as read back from the log: its id (the Redis Stream id), the typed event that
    was written, and its data as stored (sent as is, never encoded again per reader)."""

    id: str
    event: SessionEvent
    raw: str = field(repr=False, compare=False)

    @classmethod
    def decode(cls, event_id: str, event_type: str, raw: str) -> StoredEvent:
        return cls(event_id, EVENT_CLASSES[event_type](**json.loads(raw)), raw)

    @classmethod
    def of(cls, event_id: str, event: SessionEvent) -> StoredEvent:
        return cls(event_id, event, event.to_json())

    @property
    def type(self) -> EventType:
        return self.event.type

    @property
    def data(self) -> dict[str, Any]:
        return self.event.data()

    @property
    def ends_stream(self) -> bool:
        event = self.event
        return isinstance(event, SessionCompleted | SessionDeleted) or (
            isinstance(event, SessionState) and event.status in TERMINAL_STATUSES
        )
