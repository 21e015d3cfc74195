"""A stored synthesis as the API shows it: its row, its result, its quotes with participants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis.corpus import numbered, participant_label
from runtime.analysis.synthesis.views import (
    DivergentView,
    Quote,
    Synthesis,
    SynthesisCounts,
    SynthesisFilters,
    Theme,
    ViewSide,
)
from runtime.interviews import service as interviews
from runtime.platform.clock import parse
from runtime.platform.errors import NotFound
from runtime.stores import schema
from runtime.stores.database import Database

_y = schema.syntheses
_q = schema.quotes
_s = schema.sessions
_i = schema.interviews


def side_key(view_id: str, index: int) -> str:
    """The theme_id a divergent view's side's quotes are stored under: "dv_N/S"."""
    return f"{view_id}/{index}"


async def view(
    db: Database, workspace_id: str, synthesis_id: str, *, anonymize: bool = False
) -> Synthesis:
    """The synthesis with its quotes; NotFound when it is not this workspace's. `anonymize`
    names every participant "Participant N", as an anonymised export does."""
    async with db.connect() as conn:
        found = (
            await conn.execute(
                _with_settings(select(_y)).where(
                    _y.c.id == synthesis_id, _y.c.workspace_id == workspace_id
                )
            )
        ).first()
        if found is None:
            raise NotFound(f"no synthesis {synthesis_id}")
        return await _assemble(conn, found, anonymize)


async def latest(
    db: Database,
    workspace_id: str,
    interview_id: str,
    *,
    completed_only: bool = True,
    anonymize: bool = False,
    as_of: datetime | None = None,
) -> Synthesis | None:
    """The interview's newest synthesis (the newest completed one unless `completed_only`
    is false; of those made by `as_of`, if given), None when there is none; NotFound when
    the interview is not this workspace's."""
    async with db.connect() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
        query = _with_settings(select(_y)).where(
            _y.c.interview_id == interview_id, _y.c.workspace_id == workspace_id
        )
        if completed_only:
            query = query.where(_y.c.status == "completed")
        if as_of is not None:
            query = query.where(_y.c.created_at <= as_of)
        newest = query.order_by(_y.c.created_at.desc(), _y.c.id.desc()).limit(1)
        found = (await conn.execute(newest)).first()
        return None if found is None else await _assemble(conn, found, anonymize)


def _with_settings(query: Select[Any]) -> Select[Any]:
    # The interview's settings say whether its respondents are named.
    return query.add_columns(_i.c.settings.label("interview_settings")).join(
        _i, _i.c.id == _y.c.interview_id
    )


async def _assemble(conn: AsyncConnection, row: Row[Any], anonymize: bool) -> Synthesis:
    r = row._mapping
    stored = r["filters"] or {}
    since = stored.get("since")
    filters = SynthesisFilters(
        statuses=list(stored.get("statuses") or []),
        since=None if since is None else parse(since, "since"),
        include_test=bool(stored.get("include_test", False)),
    )
    completed = r["status"] == "completed" and r["result"] is not None
    result: Mapping[str, Any] = r["result"] if completed else {}
    anonymous = anonymize or bool((r["interview_settings"] or {}).get("anonymous"))
    quotes = await _quotes(conn, r["id"], r["interview_id"], anonymous) if completed else {}
    session_count = r["session_count"]
    themes = [_theme(t, quotes.get(t["id"], ()), session_count) for t in result.get("themes", ())]
    views = [_divergent(v, quotes) for v in result.get("divergent_views", ())]
    counts = result.get("counts")
    return Synthesis(
        id=r["id"],
        interview_id=r["interview_id"],
        status=r["status"],
        progress=float(r["progress"]),
        engine=r["engine"],
        model=result.get("model"),
        filters=filters,
        session_count=session_count,
        created_at=r["created_at"],
        generated_at=r["generated_at"],
        error=r["error"],
        summary=result.get("summary") if completed else None,
        themes=themes,
        divergent_views=views,
        counts=None if counts is None else SynthesisCounts(**counts),
        notes=list(result.get("notes") or ()),
    )


async def _quotes(
    conn: AsyncConnection, synthesis_id: str, interview_id: str, anonymous: bool
) -> dict[str, list[Quote]]:
    """The synthesis's quotes by theme_id, each theme's best first, with each quote's
    participant: one query, whatever the number of quotes or sessions."""
    # "Participant 7" is the same person in every report (runtime.analysis.corpus.numbered).
    counted = numbered(interview_id)
    found = await conn.execute(
        select(_q, counted.c.respondent_name, counted.c.number)
        .join(counted, counted.c.id == _q.c.session_id)
        .where(_q.c.synthesis_id == synthesis_id)
        .order_by(_q.c.theme_id, _q.c.id)
    )
    by_theme: dict[str, list[Quote]] = {}
    for q in found:
        by_theme.setdefault(q.theme_id or "", []).append(
            Quote(
                id=q.id,
                session_id=q.session_id,
                message_id=q.message_id,
                start=q.start,
                end=q.end,
                text=q.text,
                participant=participant_label(int(q.number), q.respondent_name, anonymous),
                score=float(q.score),
            )
        )
    return by_theme


def _theme(t: Mapping[str, Any], quotes: Sequence[Quote], session_count: int | None) -> Theme:
    prevalence = int(t["prevalence"])
    return Theme(
        id=t["id"],
        title=t["title"],
        description=t["description"],
        sentiment=t["sentiment"],
        prevalence=prevalence,
        prevalence_share=round(prevalence / session_count, 4) if session_count else 0.0,
        mentions=int(t["mentions"]),
        keywords=list(t["keywords"]),
        session_ids=list(t.get("session_ids") or ()),
        quotes=list(quotes),
    )


def _divergent(v: Mapping[str, Any], quotes: Mapping[str, Sequence[Quote]]) -> DivergentView:
    sides = [
        ViewSide(
            stance=side["stance"],
            prevalence=int(side["prevalence"]),
            session_ids=list(side.get("session_ids") or ()),
            quotes=list(quotes.get(side_key(v["id"], index), ())),
        )
        for index, side in enumerate(v["sides"])
    ]
    return DivergentView(
        id=v["id"],
        title=v["title"],
        description=v["description"],
        theme_id=v.get("theme_id"),
        sides=sides,
    )
