"""One synthesis run: read the sessions, draft, verify the quotes, store the report, announce it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis.corpus import SqlCorpus
from runtime.analysis.drafts import SynthesisEngine
from runtime.analysis.forget import scrub
from runtime.analysis.graph import service as graph_service
from runtime.analysis.synthesis import records
from runtime.analysis.synthesis.result import quote_rows, result_json
from runtime.analysis.synthesis.verify import Verified, verify
from runtime.analysis.vocabulary import EngineName
from runtime.interviews import service as interviews
from runtime.platform.clock import iso, utcnow
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.webhooks import outbox

y = schema.syntheses
PROGRESS_EVERY_SECONDS = 0.5
SESSIONS_PER_QUERY = 500


@dataclass(frozen=True)
class InterviewFacts:
    """What an engine may need of the interview: its language and whether it is anonymous."""

    language: str
    anonymous: bool
    title: str
    goal: str


class EngineFactory(Protocol):
    def __call__(self, name: EngineName, facts: InterviewFacts) -> SynthesisEngine: ...


@dataclass(frozen=True)
class Ran:
    synthesis_id: str
    status: str
    themes: int = 0
    quotes_dropped: int = 0

    def result(self) -> dict[str, object]:
        return {
            "synthesis_id": self.synthesis_id,
            "status": self.status,
            "themes": self.themes,
            "quotes_dropped": self.quotes_dropped,
        }


async def run(
    db: Database,
    synthesis_id: str,
    engine_for: EngineFactory,
    report: Callable[[float], Awaitable[None]] | None = None,
) -> Ran:
    """Run a queued (or interrupted) synthesis to its end; a finished one is left as it is."""
    row = await records.load(db, synthesis_id)
    if row.status not in records.UNFINISHED:
        return Ran(synthesis_id, row.status)
    async with db.connect() as conn:
        interview = await interviews.owned_row(conn, row.workspace_id, row.interview_id)
    facts = InterviewFacts(
        language=interview.language,
        anonymous=bool((interview.settings or {}).get("anonymous")),
        title=interview.title,
        goal=interview.goal,
    )
    corpus = SqlCorpus(db, row.interview_id, records.filters_of(row), facts.anonymous)
    await records.started(db, synthesis_id, await corpus.count())
    last = 0.0

    async def progress(share: float) -> None:
        nonlocal last
        if time.monotonic() - last < PROGRESS_EVERY_SECONDS:
            return
        last = time.monotonic()
        await records.progressed(db, synthesis_id, share)
        if report is not None:
            await report(min(share, 0.99))

    engine = engine_for(row.engine, facts)
    draft = await engine.draft(corpus, progress)
    verified = await verify(db, row.interview_id, draft)
    result = result_json(draft, verified)
    await _complete(db, row, draft.engine, result, verified)
    # The knowledge graph of the same sessions is rebuilt with each synthesis, so GET …/graph
    # is as fresh as the report (POST …/graph/analyze rebuilds it between runs).
    filters = records.filters_of(row)
    await graph_service.analyze(
        db, row.workspace_id, row.interview_id, include_test=filters.include_test
    )
    return Ran(synthesis_id, "completed", len(draft.themes), verified.dropped)


async def _complete(
    db: Database, row: Any, engine: EngineName, result: dict[str, Any], verified: Verified
) -> None:
    now = utcnow()
    q = schema.quotes
    rows = quote_rows(verified, row.workspace_id, row.interview_id, row.id, now)
    # The report, its quotes and its webhook in one transaction: announced exactly when, and
    # only if, this run finished it (a late duplicate of the job changes nothing).
    async with db.begin() as conn:
        # A session erased while the run read it must not come back in its report: the
        # sessions it names are share-locked (PostgreSQL; SQLite's writes are serial), so an
        # erasure either finished before (they are scrubbed here) or waits, and then finds
        # this report and scrubs it itself (runtime.analysis.forget).
        alive = await _still_there(conn, _named(result, rows))
        for gone in sorted(_named(result, rows) - alive):
            result = scrub(result, gone)
        rows = [r for r in rows if r["session_id"] in alive]
        changed = (
            await conn.execute(
                update(y)
                .where(y.c.id == row.id, y.c.status == "running")
                .values(
                    status="completed",
                    progress=1.0,
                    engine=engine,
                    result=result,
                    generated_at=now,
                    error=None,
                )
                .returning(y)
            )
        ).first()
        if changed is None:
            return
        await conn.execute(delete(q).where(q.c.synthesis_id == row.id))
        if rows:
            await conn.execute(insert(q), rows)
        await outbox.emit(conn, row.workspace_id, "synthesis.completed", completed_data(changed))


def _named(result: dict[str, Any], rows: list[dict[str, Any]]) -> set[str]:
    named = {r["session_id"] for r in rows}
    for theme in result["themes"]:
        named.update(theme["session_ids"])
    for view in result["divergent_views"]:
        for side in view["sides"]:
            named.update(side["session_ids"])
    return named


async def _still_there(conn: AsyncConnection, session_ids: set[str]) -> set[str]:
    s = schema.sessions
    ids, alive = sorted(session_ids), set[str]()
    for start in range(0, len(ids), SESSIONS_PER_QUERY):
        found = await conn.execute(
            select(s.c.id)
            .where(s.c.id.in_(ids[start : start + SESSIONS_PER_QUERY]))
            .with_for_update(read=True)
        )
        alive.update(r.id for r in found)
    return alive


async def fail(db: Database, synthesis_id: str, error: str) -> None:
    """Mark it failed, and say so to the webhooks (as export.completed does for exports)."""
    async with db.begin() as conn:
        changed = (
            await conn.execute(
                update(y)
                .where(y.c.id == synthesis_id, y.c.status.in_(records.UNFINISHED))
                .values(status="failed", error=error[:2000])
                .returning(y)
            )
        ).first()
        if changed is not None:
            await outbox.emit(
                conn, changed.workspace_id, "synthesis.completed", completed_data(changed)
            )


def completed_data(r: Any) -> dict[str, Any]:
    """What a synthesis.completed event carries; the report is at GET …/synthesis."""
    result = r.result or {}
    return {
        "synthesis_id": r.id,
        "interview_id": r.interview_id,
        "status": r.status,
        "engine": r.engine,
        "session_count": r.session_count,
        "themes": len(result.get("themes") or []),
        "generated_at": iso(r.generated_at) if r.generated_at else None,
        "error": r.error,
    }
