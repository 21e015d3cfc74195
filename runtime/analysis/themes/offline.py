"""The offline synthesis engine: deterministic themes from the sessions' sentences, no model.

Two passes over the corpus, page by page. The first reads each session (or takes its cached
reading) and keeps a bounded sample of sentences, MAX_FIT_SENTENCES chosen by a stable hash
of where each sentence is and what it says (so the sample depends neither on the order
pages come in nor on ids).
The themes are fitted on the sample (clustering.fit). The second pass assigns every
sentence to a theme, keeping only counters and bounded quote candidates (tally.Tally).
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
from collections.abc import AsyncIterator

from runtime.analysis.corpus import SessionText
from runtime.analysis.drafts import Corpus, Draft, Progress
from runtime.analysis.themes import clustering, compose, sentiment
from runtime.analysis.themes.reading import Reading, readings
from runtime.analysis.themes.tally import Tally
from runtime.analysis.vocabulary import EngineName
from runtime.stores.database import Database

MAX_FIT_SENTENCES = 20_000
# Sessions read (and their cached readings fetched) at a time.
PAGE_SESSIONS = 200


class OfflineEngine:
    name: EngineName = "offline"

    def __init__(self, db: Database, language: str = "en") -> None:
        self.db = db
        # The interview's language (its `language` column): what sentiment and stopwords use.
        self.language = language

    async def draft(self, corpus: Corpus, progress: Progress) -> Draft:
        total = await corpus.count()
        sample: list[tuple[int, str, tuple[str, ...]]] = []  # (-hash, session id, terms)
        seen = read = reused = sentences = 0
        async for page in self._pages(corpus):
            for session, (reading, cached) in page:
                reused += cached
                read += not cached
                place = {a.message_id: i for i, a in enumerate(session.answers)}
                for s in reading.sentences:
                    if s.terms:
                        sentences += 1
                        key = _hash(session.number, place[s.message_id], s.start, s.terms)
                        _sample(sample, key, reading, s.terms)
            seen += len(page)
            await progress(0.45 * seen / max(total, 1))
        fit = [clustering.FitSentence(sid, terms) for _, sid, terms in sorted(sample, reverse=True)]
        # Seconds of CPU on a large sample: in a thread, so the job's event loop (its
        # heartbeat, other jobs' I/O) keeps running meanwhile.
        model = await asyncio.to_thread(clustering.fit, fit)
        await progress(0.5)
        notes = self._notes(len(fit), sentences)
        if model is None:
            await progress(1.0)
            return Draft(
                engine=self.name,
                summary=compose.summary(seen, [], []),
                themes=(),
                sessions_read=read,
                sessions_reused=reused,
                notes=notes,
            )
        tally = Tally(model.themes, len(model.vocabulary))
        done = 0
        async for page in self._pages(corpus):
            # A page's sentences at once: one vectorisation per page, not per session.
            kept = [s.terms for _, (r, _) in page for s in r.sentences if s.terms]
            assigned, counts = model.assign(kept), model.counts(kept)
            at = 0
            for session, (reading, _) in page:
                n = sum(1 for s in reading.sentences if s.terms)
                tally.add(session, reading, assigned[at : at + n], counts[at : at + n])
                at += n
            done += len(page)
            await progress(0.5 + 0.45 * done / max(total, 1))
        found, views = compose.themes(tally, model.vocabulary, seen)
        await progress(1.0)
        return Draft(
            engine=self.name,
            summary=compose.summary(seen, found, views),
            themes=tuple(found),
            divergent_views=tuple(views),
            sessions_read=read,
            sessions_reused=reused,
            notes=notes,
        )

    async def _pages(
        self, corpus: Corpus
    ) -> AsyncIterator[list[tuple[SessionText, tuple[Reading, bool]]]]:
        page: list[SessionText] = []
        async for session in corpus.sessions():
            page.append(session)
            if len(page) >= PAGE_SESSIONS:
                yield await self._read(corpus, page)
                page = []
        if page:
            yield await self._read(corpus, page)

    async def _read(
        self, corpus: Corpus, page: list[SessionText]
    ) -> list[tuple[SessionText, tuple[Reading, bool]]]:
        found = await readings(self.db, corpus.interview_id, page, self.language)
        return list(zip(page, found, strict=True))

    def _notes(self, fitted: int, sentences: int) -> tuple[str, ...]:
        notes: list[str] = []
        if not sentiment.scored_language(self.language):
            notes.append(
                f"Sentiment is not scored offline in language {self.language!r}: "
                "themes are neutral."
            )
        if fitted < sentences:
            notes.append(f"Themes were fitted on a sample of {fitted} of {sentences} sentences.")
        return tuple(notes)


def _hash(number: int, answer: int, start: int, terms: tuple[str, ...]) -> int:
    """Where a sentence is and what it says, hashed; not its ids, so two copies of an
    interview (the same answers in the same order) are sampled, and so clustered, alike."""
    where = f"{number}\x1f{answer}\x1f{start}\x1f{' '.join(terms)}"
    digest = hashlib.blake2b(where.encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


def _sample(
    sample: list[tuple[int, str, tuple[str, ...]]],
    key: int,
    reading: Reading,
    terms: tuple[str, ...],
) -> None:
    """Keep the MAX_FIT_SENTENCES sentences of smallest hash (a heap of negated hashes)."""
    entry = (-key, reading.session_id, terms)
    if len(sample) < MAX_FIT_SENTENCES:
        heapq.heappush(sample, entry)
    elif entry > sample[0]:
        heapq.heapreplace(sample, entry)
