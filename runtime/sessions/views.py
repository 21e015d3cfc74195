"""Sessions and messages as the API shows them: views, usage totals, a page of sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select

from runtime.interviews import service as interviews
from runtime.sessions.store import messages, s
from runtime.stores.database import Database
from runtime.stores.pagination import Page, fetch_page
from runtime.stores.schema import real_sessions
from runtime.vocabulary import SessionStatus


def to_view(row: Row[Any] | dict[str, Any], anonymous: bool = False) -> dict[str, Any]:
    r = row._mapping if isinstance(row, Row) else row
    return {
        "id": r["id"],
        "interview_id": r["interview_id"],
        "status": r["status"],
        "guide_version": r["guide_version"],
        "respondent": None
        if anonymous
        else {
            "name": r["respondent_name"],
            "email": r["respondent_email"],
            "external_id": r["external_id"],
        },
        "is_test": r["is_test"],
        "ended_reason": r["ended_reason"],
        "current_item_id": (r["state"] or {}).get("item_id"),
        "created_at": r["created_at"],
        "last_activity_at": r["last_activity_at"],
        "completed_at": r["completed_at"],
    }


def message_view(r: Row[Any], with_metadata: bool = True) -> dict[str, Any]:
    """A stored message; respondents get it without the accounting metadata."""
    view = {
        "id": r.id,
        "role": r.role,
        "content": r.content,
        "created_at": r.created_at,
        "item_id": r.item_id,
        "turn_id": r.turn_id,
    }
    if with_metadata:
        view["metadata"] = r.metadata or {}
    return view


def usage_totals(rows: list[Row[Any]]) -> dict[str, Any]:
    """Per-session totals of the per-turn accounting stored with interviewer messages."""
    turns = [r.metadata or {} for r in rows if r.role == "interviewer"]
    ttfts = [float(m["ttft_ms"]) for m in turns if m.get("ttft_ms") is not None]
    return {
        "interviewer_turns": len(turns),
        "llm_turns": sum(1 for m in turns if m.get("engine") == "llm"),
        "fallback_turns": sum(1 for m in turns if m.get("fallback")),
        "prompt_tokens": sum(int(m.get("prompt_tokens", 0)) for m in turns),
        "completion_tokens": sum(int(m.get("completion_tokens", 0)) for m in turns),
        "generation_ms": round(sum(float(m.get("total_ms", 0)) for m in turns), 1),
        "mean_ttft_ms": round(sum(ttfts) / len(ttfts), 1) if ttfts else None,
        "models": sorted({str(m["model"]) for m in turns if m.get("model")}),
    }


async def usage(db: Database, session_id: str) -> dict[str, Any]:
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
) -> Page[dict[str, Any]]:
    async with db.connect() as conn:
        interview = (await interviews.owned_row(conn, workspace_id, interview_id))._mapping
        query = select(s).where(s.c.interview_id == interview_id, real_sessions(include_test))
        if status:
            query = query.where(s.c.status == status)
        if since:
            query = query.where(s.c.created_at >= since)
        rows = await fetch_page(conn, query, s, cursor, limit)
    anonymous = bool((interview["settings"] or {}).get("anonymous"))
    return rows.map(lambda r: to_view(r, anonymous))
