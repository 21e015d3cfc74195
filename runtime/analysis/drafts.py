"""What an engine hands back: themes and views as proposed, before any quote is verified.

An engine never writes a quote's offsets or decides that it is shown: it proposes the words
and the message they come from, and the pipeline (runtime.analysis.synthesis.verify) keeps
only those found in the stored respondent messages. So the offline engine and a model pass
the same check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from runtime.analysis.corpus import SessionText
from runtime.analysis.vocabulary import EngineName, Sentiment


@dataclass(frozen=True)
class ProposedQuote:
    session_id: str
    # The message the words are said to come from; verification also looks in the
    # same session's other respondent messages.
    message_id: str | None
    text: str


@dataclass(frozen=True)
class ThemeDraft:
    title: str
    description: str
    sentiment: Sentiment
    keywords: tuple[str, ...]
    # The sessions (participants) whose answers carry the theme: its prevalence.
    session_ids: tuple[str, ...]
    # How many respondent messages carry it.
    mentions: int
    quotes: tuple[ProposedQuote, ...] = ()


@dataclass(frozen=True)
class ViewSide:
    """One side of a divergent view: who holds it, in a word, with their words."""

    stance: str
    session_ids: tuple[str, ...]
    quotes: tuple[ProposedQuote, ...] = ()


@dataclass(frozen=True)
class DivergentDraft:
    title: str
    description: str
    # The theme it divides (its index in the draft's themes), if it divides one.
    theme_index: int | None
    sides: tuple[ViewSide, ...]


@dataclass(frozen=True)
class Draft:
    engine: EngineName
    summary: str
    themes: tuple[ThemeDraft, ...]
    divergent_views: tuple[DivergentDraft, ...] = ()
    # The model that wrote it (LLM engine), for the report's provenance.
    model: str | None = None
    # Sessions read afresh vs taken from their cached reading (incremental re-runs).
    sessions_read: int = 0
    sessions_reused: int = 0
    notes: tuple[str, ...] = field(default=())


# Called with the share done (0..1) as an engine goes, so the job can report progress.
Progress = Callable[[float], Awaitable[None]]


class Corpus(Protocol):
    """The sessions an engine reads: iterable more than once (a pass per stage), page by page
    from SQL each time, so memory does not grow with the number of sessions."""

    @property
    def interview_id(self) -> str: ...

    async def count(self) -> int: ...

    def sessions(self) -> AsyncIterator[SessionText]: ...


class SynthesisEngine(Protocol):
    name: EngineName

    async def draft(self, corpus: Corpus, progress: Progress) -> Draft: ...
