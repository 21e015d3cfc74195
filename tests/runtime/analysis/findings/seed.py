"""Interviews, sessions with respondent messages, and completed syntheses, written as rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from runtime.access import keys
from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.platform.ids import new_id
from runtime.stores import schema
from runtime.stores.database import Database


@dataclass(frozen=True)
class Seeded:
    session_id: str
    message_ids: tuple[str, ...]  # the respondent's, in order


async def workspace(db: Database) -> str:
    return await keys.ensure_workspace(db, f"ws-{uuid.uuid4().hex[:8]}")


async def interview(db: Database, workspace_id: str, *, anonymous: bool = False) -> str:
    view = await interviews.create(db, workspace_id, {"title": "Study", "anonymous": anonymous})
    return view.id


async def session(
    db: Database,
    workspace_id: str,
    interview_id: str,
    answers: list[str],
    *,
    name: str | None = None,
    minutes: int = 0,
) -> Seeded:
    """A completed session whose respondent said `answers` (each after an interviewer turn),
    started `minutes` after the others of the test (its place in the participant numbering)."""
    now = utcnow() + timedelta(minutes=minutes)
    session_id = new_id("ses")
    rows: list[dict[str, Any]] = []
    ids = []
    for n, text in enumerate(answers):
        rows.append(_message(session_id, 2 * n + 1, "interviewer", f"Question {n + 1}?", now))
        ids.append(new_id("msg"))
        rows.append({**_message(session_id, 2 * n + 2, "respondent", text, now), "id": ids[-1]})
    async with db.begin() as conn:
        await conn.execute(
            insert(schema.sessions).values(
                id=session_id,
                workspace_id=workspace_id,
                interview_id=interview_id,
                guide_version=1,
                status="completed",
                token_hash=uuid.uuid4().hex,
                respondent_name=name,
                state={},
                awaiting="nobody",
                created_at=now,
                last_activity_at=now,
                completed_at=now,
            )
        )
        if rows:
            await conn.execute(insert(schema.messages), rows)
    return Seeded(session_id, tuple(ids))


def _message(session_id: str, seq: int, role: str, text: str, at: Any) -> dict[str, Any]:
    return {
        "id": new_id("msg"),
        "session_id": session_id,
        "seq": seq,
        "role": role,
        "content": text,
        "item_id": "Q1",
        "metadata": {},
        "created_at": at,
    }


@dataclass(frozen=True)
class ThemeQuote:
    theme_id: str
    session_id: str
    message_id: str
    start: int
    end: int
    text: str


async def synthesis(
    db: Database,
    workspace_id: str,
    interview_id: str,
    result: dict[str, Any],
    quotes: list[ThemeQuote],
    *,
    status: str = "completed",
    minutes: int = 0,
) -> str:
    """A synthesis row as the job writes it, with its themes' quote rows."""
    synthesis_id = new_id("syn")
    now = utcnow() + timedelta(minutes=minutes)
    async with db.begin() as conn:
        await conn.execute(
            insert(schema.syntheses).values(
                id=synthesis_id,
                workspace_id=workspace_id,
                interview_id=interview_id,
                status=status,
                progress=1.0,
                engine="offline",
                filters={"statuses": ["completed"], "since": None, "include_test": False},
                session_count=len({q.session_id for q in quotes}),
                result=result,
                created_at=now,
                generated_at=now,
            )
        )
        for i, q in enumerate(quotes):
            await conn.execute(
                insert(schema.quotes).values(
                    id=new_id("qt"),
                    workspace_id=workspace_id,
                    interview_id=interview_id,
                    session_id=q.session_id,
                    message_id=q.message_id,
                    start=q.start,
                    end=q.end,
                    text=q.text,
                    score=100.0,
                    finding_id=None,
                    synthesis_id=synthesis_id,
                    theme_id=q.theme_id,
                    created_at=now + timedelta(microseconds=i),
                )
            )
    return synthesis_id


def theme(theme_id: str, title: str, session_ids: list[str], prevalence: int) -> dict[str, Any]:
    return {
        "id": theme_id,
        "title": title,
        "description": f"About {title.lower()}",
        "sentiment": "negative",
        "prevalence": prevalence,
        "mentions": prevalence,
        "keywords": title.lower().split(),
        "session_ids": session_ids,
    }
