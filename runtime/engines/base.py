"""The one engine interface every interviewer implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from runtime.engines.answers import Resolution
from runtime.interviews.guide import StoredGuide
from runtime.languages.phrases import Phrases, for_language
from runtime.platform.text import storable
from runtime.vocabulary import Move, Role


@dataclass(frozen=True)
class TranscriptEntry:
    role: Role
    content: str
    item_id: str | None


@dataclass(frozen=True)
class Guidance:
    """A researcher's instruction for this turn (runtime/sessions/steering.py), never said."""

    id: str
    instruction: str


@dataclass(frozen=True)
class TurnContext:
    """Everything an engine may look at to produce turn `seq` of a session."""

    interview: Mapping[str, Any]
    guide: StoredGuide
    state: Mapping[str, Any]
    seq: int
    transcript: list[TranscriptEntry]
    started_at: datetime
    now: datetime
    # Queued instructions, in order: the LLM engine's prompt holds them (docs/live-console.md).
    guidance: tuple[Guidance, ...] = ()

    @property
    def phrases(self) -> Phrases:
        """What the runtime itself says, in the interview's language."""
        return for_language(str(self.interview.get("language") or "en"))


@dataclass(frozen=True)
class TextDelta:
    text: str

    def __post_init__(self) -> None:
        # What an engine says is stored: a NUL or lone surrogate (from a model, or from a
        # guide saved before they were refused) would fail the turn's write; U+FFFD instead.
        object.__setattr__(self, "text", storable(self.text))


@dataclass(frozen=True)
class Decision:
    """The engine's move and the state to commit with the turn. Both engines yield it before
    the turn's first words (so `turn.started` names the item); an engine may yield it again
    at the end with its metadata, the move unchanged: the last one is committed."""

    move: Move
    item_id: str | None
    state: dict[str, Any] = field(default_factory=dict)
    completes: bool = False
    # Stored with the message: model, tokens, timings, fallback (see docs/llm.md).
    metadata: dict[str, Any] = field(default_factory=dict)
    # What the respondent's last answer gave (choice and rating items), stored with it.
    answer: Resolution | None = None
    revisit: bool = False  # asks a required item again that was left unresolved


class Engine(Protocol):
    def respond(self, ctx: TurnContext) -> AsyncIterator[TextDelta | Decision]: ...
