"""The corpus read twice, page by page: once to learn which concepts count, once to use them."""

from __future__ import annotations

from collections.abc import AsyncIterator

from runtime.analysis import corpus
from runtime.analysis.concepts import Mentions, Vocabulary, extract
from runtime.stores.database import Database

# Why twice: whether a phrase counts (MIN_SESSIONS) is known only once every session has
# been read, and keeping every session's mentions until then would hold the whole corpus.
# Reading again costs a second extraction (a few milliseconds a session) and no memory.


async def vocabulary(db: Database, interview_id: str, filters: corpus.Filters) -> Vocabulary:
    """Which concepts and entities occur in how many of the sessions under `filters`."""
    found = Vocabulary()
    async for session in corpus.sessions(db, interview_id, filters, page_size=corpus.PAGE_SIZE):
        found.add(extract(session))
    return found


async def mentions(
    db: Database, interview_id: str, filters: corpus.Filters
) -> AsyncIterator[Mentions]:
    """Each session's mentions, in the order the sessions were started."""
    async for session in corpus.sessions(db, interview_id, filters, page_size=corpus.PAGE_SIZE):
        yield extract(session)
