"""The quote check every engine's draft passes: proposed words kept only where they were said."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from runtime.analysis import quotes
from runtime.analysis.drafts import Draft, ProposedQuote
from runtime.stores import schema
from runtime.stores.database import Database

# Quotes shown per theme and per side of a divergent view, whatever an engine proposes.
MAX_QUOTES_PER_GROUP = 5
# Sessions whose messages one query reads.
SESSIONS_PER_QUERY = 500
_m = schema.messages
_s = schema.sessions


@dataclass(frozen=True)
class Kept:
    """A verified quote and the group it belongs to (theme "th_N" or side "dv_N/S")."""

    group: str
    session_id: str
    found: quotes.Found


@dataclass(frozen=True)
class Verified:
    kept: tuple[Kept, ...]
    dropped: int


def groups(draft: Draft) -> list[tuple[str, tuple[ProposedQuote, ...]]]:
    """Every group of proposed quotes in the draft, with the id its quotes are stored under."""
    out = [(f"th_{i + 1}", t.quotes) for i, t in enumerate(draft.themes)]
    for i, view in enumerate(draft.divergent_views):
        out.extend((f"dv_{i + 1}/{j}", side.quotes) for j, side in enumerate(view.sides))
    return out


async def verify(db: Database, interview_id: str, draft: Draft) -> Verified:
    """Each proposed quote looked for in its session's stored respondent messages (the session
    must be the interview's); what is not found is dropped and counted, duplicates within a
    group are dropped silently, and each group keeps at most MAX_QUOTES_PER_GROUP."""
    proposed = groups(draft)
    said = await _respondent_messages(
        db, interview_id, {q.session_id for _, group in proposed for q in group}
    )
    kept: list[Kept] = []
    dropped = 0
    for name, group in proposed:
        seen: set[tuple[str, int, int]] = set()
        count = 0
        for quote in group:
            found = quotes.locate(quote.text, said.get(quote.session_id, ()), quote.message_id)
            if found is None:
                dropped += 1
                continue
            span = (found.message_id, found.start, found.end)
            if span in seen or count >= MAX_QUOTES_PER_GROUP:
                continue
            seen.add(span)
            count += 1
            kept.append(Kept(name, quote.session_id, found))
    return Verified(tuple(kept), dropped)


async def _respondent_messages(
    db: Database, interview_id: str, session_ids: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    ids = sorted(session_ids)
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    async with db.connect() as conn:
        for start in range(0, len(ids), SESSIONS_PER_QUERY):
            found = await conn.execute(
                select(_m.c.session_id, _m.c.id, _m.c.content)
                .join(_s, _s.c.id == _m.c.session_id)
                .where(
                    _m.c.session_id.in_(ids[start : start + SESSIONS_PER_QUERY]),
                    _s.c.interview_id == interview_id,
                    _m.c.role == "respondent",
                )
                .order_by(_m.c.session_id, _m.c.seq)
            )
            for r in found:
                out[r.session_id].append((r.id, r.content))
    return out
