"""What the assignment pass keeps per theme: counters and bounded quote candidates.

Every sentence of every session is assigned to a theme (or none) once; a theme keeps its
participants (its prevalence, which the result holds anyway), a message count, term counts
for its label, each participant's mean sentiment in it, and at most QUOTE_CANDIDATES
candidate quotes per kind (nearest its centre; the most positive and most negative), one
per participant. So memory grows with the result, not with what was said.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from runtime.analysis.corpus import SessionText
from runtime.analysis.themes.reading import Reading, SentenceReading
from runtime.analysis.themes.sentiment import LEAN_THRESHOLD

QUOTE_CANDIDATES = 25
# A quote is cut (at a word) to at most this many characters of its sentence.
MAX_QUOTE_CHARS = 300


@dataclass(frozen=True, order=True)
class Candidate:
    """A sentence that could quote a theme; orders a researcher's bookmarked message first,
    then by rank (higher is better), then by who said it first, so ties fall the same way
    every run."""

    marked: bool
    rank: float
    order: tuple[int, str, int]  # negated session number, message id, negated start
    session_id: str = field(compare=False)
    message_id: str = field(compare=False)
    text: str = field(compare=False)


@dataclass
class ThemeTally:
    participants: dict[str, int] = field(default_factory=dict)  # session id -> number
    mentions: int = 0
    # session id -> (sum of sentence scores, sentences)
    scores: dict[str, tuple[float, int]] = field(default_factory=dict)
    central: list[Candidate] = field(default_factory=list)
    positive: list[Candidate] = field(default_factory=list)
    negative: list[Candidate] = field(default_factory=list)

    def lean(self, session_id: str) -> float:
        total, n = self.scores[session_id]
        return total / n


class Tally:
    def __init__(self, themes: int, vocabulary: int) -> None:
        self.themes = [ThemeTally() for _ in range(themes)]
        # One row per theme and a last one for sentences of no theme (c-TF-IDF's outliers).
        self.counts = np.zeros((themes + 1, vocabulary))
        self.sentences = 0
        self.assigned = 0

    def add(
        self,
        session: SessionText,
        reading: Reading,
        assigned: list[tuple[int | None, float]],
        counts: NDArray[np.float64],
    ) -> None:
        """One session's sentences with their themes, similarities and term counts."""
        kept = [s for s in reading.sentences if s.terms]
        texts = {a.message_id: a.text for a in session.answers}
        mine: dict[int, list[tuple[SentenceReading, float]]] = {}
        for row, (sentence, (theme, similarity)) in enumerate(zip(kept, assigned, strict=True)):
            self.sentences += 1
            self.counts[len(self.themes) if theme is None else theme] += counts[row]
            if theme is not None:
                self.assigned += 1
                mine.setdefault(theme, []).append((sentence, similarity))
        for theme, found in mine.items():
            tally = self.themes[theme]
            tally.participants[session.session_id] = session.number
            tally.mentions += len({s.message_id for s, _ in found})
            tally.scores[session.session_id] = (sum(s.score for s, _ in found), len(found))
            # A bookmarked answer that carries the theme is what quotes this participant.
            marked = session.bookmarked
            best = max(found, key=lambda f: (f[0].message_id in marked, f[1], -f[0].start))
            _offer(tally.central, _candidate(session, texts, best[0], best[1], marked))
            high = max(found, key=lambda f: (f[0].score, f[1]))
            if high[0].score >= LEAN_THRESHOLD:
                _offer(tally.positive, _candidate(session, texts, high[0], high[0].score))
            low = min(found, key=lambda f: (f[0].score, -f[1]))
            if low[0].score <= -LEAN_THRESHOLD:
                _offer(tally.negative, _candidate(session, texts, low[0], -low[0].score))


def _candidate(
    session: SessionText,
    texts: dict[str, str],
    sentence: SentenceReading,
    rank: float,
    marked: frozenset[str] = frozenset(),
) -> Candidate:
    text = texts[sentence.message_id][sentence.start : sentence.end]
    if len(text) > MAX_QUOTE_CHARS:
        text = text[:MAX_QUOTE_CHARS].rsplit(None, 1)[0]
    return Candidate(
        marked=sentence.message_id in marked,
        rank=round(rank, 9),
        order=(-session.number, sentence.message_id, -sentence.start),
        session_id=session.session_id,
        message_id=sentence.message_id,
        text=text,
    )


def _offer(heap: list[Candidate], candidate: Candidate) -> None:
    """Keep the QUOTE_CANDIDATES best (a min-heap: its root is the worst kept)."""
    if len(heap) < QUOTE_CANDIDATES:
        heapq.heappush(heap, candidate)
    elif candidate > heap[0]:
        heapq.heapreplace(heap, candidate)


def best(heap: list[Candidate], n: int, among: set[str] | None = None) -> list[Candidate]:
    """The n best candidates, best first, from the given participants if named; a sentence
    said word for word by an earlier pick's participant too is skipped (quotes should show
    how differently people put it)."""
    chosen: list[Candidate] = []
    said: set[str] = set()
    for candidate in sorted(heap, reverse=True):
        words = " ".join(candidate.text.casefold().split())
        if (among is None or candidate.session_id in among) and words not in said:
            chosen.append(candidate)
            said.add(words)
    return chosen[:n]
