"""A session's summary and quality: read from its cached row, or computed (and cached) when
it is missing or stale."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import openai
from openai import AsyncOpenAI
from sqlalchemy import Row, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis import corpus, judging
from runtime.analysis.summaries import store
from runtime.analysis.summaries.quality import Span, measure
from runtime.analysis.summaries.summary import summarise
from runtime.analysis.summaries.views import SessionSummary
from runtime.coverage.session import of_session
from runtime.interviews import guide as guides
from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.platform.errors import NotFound, UpstreamFailed
from runtime.sessions import store as sessions
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.vocabulary import SessionStatus

_s = schema.sessions


async def for_session(db: Database, workspace_id: str, session_id: str) -> SessionSummary:
    """The session's summary; NotFound when it is not in this workspace."""
    async with db.connect() as conn:
        row = await sessions.row(conn, session_id)
        if row.workspace_id != workspace_id:
            raise NotFound(f"no session {session_id}")
    return await _current(db, row)


async def refresh(db: Database, session_id: str) -> SessionSummary:
    """The session's summary, computed if its row is missing or stale (the job's work)."""
    return await _current(db, await sessions.load(db, session_id))


async def judged(
    db: Database, workspace_id: str, session_id: str, client: AsyncOpenAI, model: str
) -> SessionSummary:
    """The summary with the LLM judge's card, asked for once per version of the transcript
    (runtime.analysis.judging); UpstreamFailed when the model fails or answers no card."""
    summary = await for_session(db, workspace_id, session_id)
    if summary.judged is not None:
        return summary
    async with db.connect() as conn:
        rows = list(await sessions.messages(conn, session_id))
        stored = await store.load(conn, session_id)
    turns = [judging.Turn(r.role, r.content) for r in rows]
    try:
        card = await judging.judge(client, model, turns, utcnow())
    except (openai.OpenAIError, TimeoutError) as exc:
        raise UpstreamFailed(f"the LLM judge failed: {type(exc).__name__}") from exc
    if card is None:
        raise UpstreamFailed("the LLM judge answered no well-formed card (scores 1 to 4)")
    if stored is not None:
        await store.save_judged(db, session_id, stored.computed.fingerprint, card)
    return msgspec.structs.replace(summary, judged=card)


async def _current(db: Database, row: Row[Any]) -> SessionSummary:
    async with db.connect() as conn:
        rows = [dict(r._mapping) for r in await sessions.messages(conn, row.id)]
        text = await session_text(conn, row, rows)
        basis = store.basis(row.status, len(rows))
        stored = await store.load(conn, row.id)
        if stored is None or not stored.current(text.fingerprint, basis):
            guide = await interviews.frozen_guide(conn, row.interview_id, row.guide_version)
            stored = None
    if stored is None:
        # In a thread: TF-IDF and PageRank over a long session take a good part of a second,
        # which the event loop (serving live sessions beside it) must not wait out.
        items = guides.items_in_order(guide)
        computed = await asyncio.to_thread(compute, row, rows, items, text)
        stored = await store.save(db, computed)
    return view(stored, row.status)


def compute(
    row: Row[Any], rows: list[dict[str, Any]], items: list[guides.Item], text: corpus.SessionText
) -> store.Computed:
    """The summary and quality of a session (its row, its messages in seq order, its guide
    version's items): a function of them alone, so the same session gives the same result."""
    coverage = of_session(row._mapping, items, rows)
    summary = summarise(text.answers, coverage)
    span = Span(row.created_at, row.last_activity_at, row.completed_at)
    return store.Computed(
        session_id=row.id,
        interview_id=row.interview_id,
        fingerprint=text.fingerprint,
        basis=store.basis(row.status, len(rows)),
        overview=summary.overview,
        key_points=summary.key_points,
        quality=measure(rows, items, coverage, span),
    )


def view(stored: store.Stored, status: SessionStatus) -> SessionSummary:
    c = stored.computed
    return SessionSummary(
        session_id=c.session_id,
        interview_id=c.interview_id,
        status=status,
        overview=c.overview,
        key_points=c.key_points,
        quality=c.quality,
        judged=stored.judged,
        engine="offline",
        generated_at=stored.created_at,
        version=stored.version,
    )


async def session_text(
    conn: AsyncConnection, row: Row[Any], rows: list[dict[str, Any]]
) -> corpus.SessionText:
    """The session as the cross-session analysis sees it (runtime.analysis.corpus), for its
    fingerprint: the same key a synthesis keeps its reading of the session under."""
    before = or_(
        _s.c.created_at < row.created_at, and_(_s.c.created_at == row.created_at, _s.c.id <= row.id)
    )
    number = int(
        await conn.scalar(
            select(func.count())
            .select_from(_s)
            .where(_s.c.interview_id == row.interview_id, before)
        )
        or 0
    )
    settings = await conn.scalar(
        select(schema.interviews.c.settings).where(schema.interviews.c.id == row.interview_id)
    )
    anonymous = bool((settings or {}).get("anonymous"))
    return corpus.SessionText(
        session_id=row.id,
        number=number,
        participant=corpus.participant_label(number, row.respondent_name, anonymous),
        status=row.status,
        created_at=row.created_at,
        completed_at=row.completed_at,
        answers=tuple(
            corpus.Answer(r["id"], r["item_id"], r["seq"], r["content"])
            for r in rows
            if r["role"] == "respondent"
        ),
    )
