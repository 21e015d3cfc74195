"""Sessions and messages as the API shows them: views, usage totals, a page of sessions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from msgspec import UNSET, UnsetType
from sqlalchemy import Row, select

from runtime.interviews import service as interviews
from runtime.platform.views import Meta, Timestamp, View
from runtime.sessions import ordering
from runtime.sessions.answers import (
    Answer,
    MessageAudio,
    answer_of,
    audio_of,
    author_of,
    interrupted_of,
    modality_of,
    move_of,
)
from runtime.sessions.ordering import SessionSort
from runtime.sessions.store import messages, s
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.stores.pagination import Page, fetch_page
from runtime.stores.schema import real_sessions
from runtime.vocabulary import Author, Modality, Move, Role, SessionStatus


class Respondent(View):
    name: str | None
    email: str | None
    external_id: str | None


class Session(View):
    id: str
    interview_id: str
    status: SessionStatus
    guide_version: Annotated[
        int,
        Meta(
            description="The guide version the session runs on (negative: a draft frozen for "
            "a preview)"
        ),
    ]
    respondent: Annotated[
        Respondent | None, Meta(description="Who answered; null when the interview is anonymous")
    ]
    is_test: bool
    ended_reason: Annotated[
        str | None,
        Meta(
            description="Why it ended: finished, ended_by_respondent, idle_timeout; null while live"
        ),
    ]
    current_item_id: Annotated[str | None, Meta(description="The guide item the interviewer is on")]
    created_at: Timestamp
    last_activity_at: Timestamp
    completed_at: Timestamp | None
    quality_index: Annotated[
        float | None,
        Meta(
            description="The session's quality index (GET /v1/sessions/{id}/summary), what "
            "?sort=quality_desc orders by; null until the session is analysed"
        ),
    ] = None
    taken_over_at: Annotated[
        Timestamp | None,
        Meta(
            description="Since when a researcher writes the interviewer's turns "
            "(POST /v1/sessions/{id}/takeover); null while the AI does"
        ),
    ] = None


class Message(View):
    id: str
    role: Role
    content: str
    created_at: Timestamp
    item_id: Annotated[str | None, Meta(description="The guide item the message belongs to")]
    turn_id: Annotated[str | None, Meta(description="The interviewer turn (t1, t2, …)")]
    move: Annotated[
        Move | None,
        Meta(
            description="Interviewer turns: what the turn does (open, ask, probe, reask, "
            "close); null for respondent messages and turns stored before moves were recorded"
        ),
    ]
    answer: Annotated[
        Answer | None,
        Meta(
            description="Respondent messages: the turn answered and the value recorded; null "
            "for interviewer turns and messages stored before answers were recorded"
        ),
    ]
    modality: Annotated[
        Modality,
        Meta(description="How it was said: voice (spoken, its audio kept) or text (typed)"),
    ] = "text"
    audio: Annotated[
        MessageAudio | None, Meta(description="Voice messages: the stored audio; null for text")
    ] = None
    interrupted: Annotated[
        bool,
        Meta(
            description="Interviewer voice turns cut by the respondent (barge-in): content "
            "is what was heard before the cut"
        ),
    ] = False
    # Researchers only, like metadata: to the respondent every turn is the interviewer's.
    author: Annotated[
        Author | UnsetType | None,
        Meta(
            description="Interviewer turns: who wrote it, ai or researcher (a takeover: "
            "POST /v1/sessions/{id}/takeover); null for respondent messages"
        ),
    ] = UNSET
    # Researchers only, like metadata.
    written: Annotated[
        str | UnsetType | None,
        Meta(description="Interrupted turns: the whole text the interviewer wrote"),
    ] = UNSET
    # Left out for respondents: the accounting is the researcher's.
    metadata: Annotated[
        dict[str, Any] | UnsetType,
        Meta(
            description="Interviewer turns: engine, model, prompt_tokens, completion_tokens, "
            "ttft_ms, total_ms, attempts, move, revisit, words, fallback, fallback_reason, "
            "overruled (see docs/llm.md); respondent messages: answer (as `answer` shows it); "
            "voice messages: modality, audio (with its blob key), and for interrupted turns "
            "written and heard_ms, for re-transcribed answers final (see docs/voice.md)"
        ),
    ] = UNSET


class Usage(View):
    """Per-session totals of the per-turn accounting (see Message.metadata)"""

    interviewer_turns: Annotated[int, Meta(ge=0)]
    llm_turns: Annotated[int, Meta(description="Turns the LLM engine wrote", ge=0)]
    fallback_turns: Annotated[int, Meta(description="Turns the scripted fallback wrote", ge=0)]
    prompt_tokens: Annotated[int, Meta(ge=0)]
    completion_tokens: Annotated[int, Meta(ge=0)]
    generation_ms: Annotated[float, Meta(description="Time spent generating turns, summed", ge=0)]
    mean_ttft_ms: Annotated[float | None, Meta(description="Mean time to the model's first token")]
    models: Annotated[list[str], Meta(description="Models that wrote turns")]


def to_view(row: Row[Any] | dict[str, Any], anonymous: bool = False) -> Session:
    r = row._mapping if isinstance(row, Row) else row
    return Session(
        id=r["id"],
        interview_id=r["interview_id"],
        status=r["status"],
        guide_version=r["guide_version"],
        respondent=None
        if anonymous
        else Respondent(
            name=r["respondent_name"], email=r["respondent_email"], external_id=r["external_id"]
        ),
        is_test=r["is_test"],
        ended_reason=r["ended_reason"],
        current_item_id=(r["state"] or {}).get("item_id"),
        created_at=r["created_at"],
        last_activity_at=r["last_activity_at"],
        completed_at=r["completed_at"],
        quality_index=r.get("quality_index"),
        taken_over_at=r.get("taken_over_at"),
    )


def message_view(r: Row[Any] | Mapping[str, Any], with_metadata: bool = True) -> Message:
    """A stored message; respondents get it without the accounting metadata (the turns'
    moves, and the record of their own answers, they see)."""
    row = r._mapping if isinstance(r, Row) else r
    metadata = row["metadata"] or {}
    interrupted = interrupted_of(row)
    return Message.from_row(
        row,
        move=move_of(row),
        answer=answer_of(row),
        modality=modality_of(row),
        audio=audio_of(row),
        interrupted=interrupted,
        written=(metadata.get("written") if interrupted else None) if with_metadata else UNSET,
        author=author_of(row) if with_metadata else UNSET,
        metadata=metadata if with_metadata else UNSET,
    )


def usage_totals(rows: list[Row[Any]]) -> Usage:
    """Per-session totals of the per-turn accounting stored with interviewer messages."""
    turns = [r.metadata or {} for r in rows if r.role == "interviewer"]
    ttfts = [float(m["ttft_ms"]) for m in turns if m.get("ttft_ms") is not None]
    return Usage(
        interviewer_turns=len(turns),
        llm_turns=sum(1 for m in turns if m.get("engine") == "llm"),
        fallback_turns=sum(1 for m in turns if m.get("fallback")),
        prompt_tokens=sum(int(m.get("prompt_tokens", 0)) for m in turns),
        completion_tokens=sum(int(m.get("completion_tokens", 0)) for m in turns),
        generation_ms=round(sum(float(m.get("total_ms", 0)) for m in turns), 1),
        mean_ttft_ms=round(sum(ttfts) / len(ttfts), 1) if ttfts else None,
        models=sorted({str(m["model"]) for m in turns if m.get("model")}),
    )


async def quality_index(db: Database, session_id: str) -> float | None:
    """The session's quality index, once it is analysed (runtime/analysis/summaries)."""
    sa = schema.session_analyses
    async with db.connect() as conn:
        found = await conn.scalar(select(sa.c.quality_index).where(sa.c.session_id == session_id))
    return None if found is None else float(found)


async def usage(db: Database, session_id: str) -> Usage:
    async with db.connect() as conn:
        return usage_totals(await messages(conn, session_id))


async def list_page(
    db: Database,
    workspace_id: str,
    interview_id: str,
    *,
    status: SessionStatus | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
    include_test: bool = False,
    sort: SessionSort = "created_desc",
) -> Page[Session]:
    """A page of the interview's sessions, newest first, or by quality index (sessions not
    analysed yet last, newest first among equals); each with its quality index."""
    async with db.connect() as conn:
        interview = (await interviews.owned_row(conn, workspace_id, interview_id))._mapping
        query = ordering.joined(select(s)).where(
            s.c.interview_id == interview_id, real_sessions(include_test)
        )
        if status:
            query = query.where(s.c.status == status)
        if since:
            query = query.where(s.c.created_at >= since)
        if sort == "created_desc":
            rows = await fetch_page(conn, query, s, cursor, limit)
        else:
            rows = await ordering.fetch(conn, query, sort, cursor, limit)
    anonymous = bool((interview["settings"] or {}).get("anonymous"))
    return rows.map(lambda r: to_view(r, anonymous))
