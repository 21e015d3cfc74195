"""What moves through a live session: typed events, and the stored record of one."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

TERMINAL_STATUSES = frozenset({"completed", "abandoned"})


@dataclass(frozen=True)
class SessionEvent:
    type: ClassVar[str]

    def data(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SessionStarted(SessionEvent):
    type: ClassVar[str] = "session.started"
    session_id: str
    interview_id: str


@dataclass(frozen=True)
class TurnStarted(SessionEvent):
    type: ClassVar[str] = "turn.started"
    turn_id: str
    item_id: str | None
    # The turn is being written again from its start (Redis lost what had been streamed of
    # it): a client replaces whatever it showed for this turn_id with what follows.
    restart: bool = False


@dataclass(frozen=True)
class TurnDelta(SessionEvent):
    type: ClassVar[str] = "turn.delta"
    turn_id: str
    text: str


@dataclass(frozen=True)
class TurnCompleted(SessionEvent):
    type: ClassVar[str] = "turn.completed"
    turn_id: str
    content: str
    item_id: str | None


@dataclass(frozen=True)
class RespondentMessage(SessionEvent):
    type: ClassVar[str] = "respondent.message"
    message_id: str
    content: str
    client_message_id: str


@dataclass(frozen=True)
class SessionState(SessionEvent):
    type: ClassVar[str] = "session.state"
    status: str
    reason: str | None


@dataclass(frozen=True)
class SessionCompleted(SessionEvent):
    type: ClassVar[str] = "session.completed"
    reason: str


@dataclass(frozen=True)
class SessionDeleted(SessionEvent):
    """The last event of an erased session: its log is gone, readers must stop."""

    type: ClassVar[str] = "session.deleted"
    session_id: str


@dataclass(frozen=True)
class StoredEvent:
    """An event as read back from the log; `id` is its Redis Stream id."""

    id: str
    type: str
    data: dict[str, Any]

    @property
    def ends_stream(self) -> bool:
        return self.type in (SessionCompleted.type, SessionDeleted.type) or (
            self.type == SessionState.type and self.data.get("status") in TERMINAL_STATUSES
        )
