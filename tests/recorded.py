"""A conversation as issue 11's contract stores it: moves on turns, answers on replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from runtime.sessions import store as sessions
from runtime.stores import schema
from runtime.stores.database import Database

START = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
# What issue 11 added to a message's metadata.
RECORDED_KEYS = ("move", "revisit", "answer")


def answer(
    kind: str,
    value: str | int | None = None,
    status: str | None = None,
    confidence: float | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """metadata["answer"] as the engines write it."""
    return {
        "kind": kind,
        "value": value,
        "value_status": status,
        "confidence": confidence,
        "resolved_by": by,
    }


# (role, item_id, content, metadata): every case a transcript shows. Q1 open-ended and
# probed, Q2 a choice answered invalidly then resolved by the model, Q3 a rating resolved
# by the runtime's rule, Q4 a choice left unresolved after two re-asks, then the close.
CONVERSATION: list[tuple[str, str | None, str, dict[str, Any]]] = [
    ("interviewer", "Q1", "Hi!\n\nWhat do you use our app for?", {"move": "open"}),
    ("respondent", "Q1", "Planning", {"answer": answer("question")}),
    ("interviewer", "Q1", "Can you give me a recent example?", {"move": "probe"}),
    ("respondent", "Q1", "Last week's launch plan", {"answer": answer("probe")}),
    ("interviewer", "Q2", "Which plan are you on?\n1. Free\n2. Pro\n3. Team", {"move": "ask"}),
    (
        "respondent", "Q2", "the cheap one, I think",
        {"answer": answer("question", None, "invalid", 0.3, "model")},
    ),
    ("interviewer", "Q2", "Which one: 1. Free; 2. Pro; 3. Team?", {"move": "reask"}),
    (
        "respondent", "Q2", "the middle one, we pay monthly",
        {"answer": answer("reask", "Pro", "resolved", 0.85, "model")},
    ),
    ("interviewer", "Q3", "How likely are you to recommend us?\n1 to 5", {"move": "ask"}),
    ("respondent", "Q3", "4", {"answer": answer("question", 4, "resolved", 1.0, "rule")}),
    ("interviewer", "Q4", "Which team are you in?\n1. Sales\n2. Ops", {"move": "ask"}),
    ("respondent", "Q4", "all of them", {"answer": answer("question", None, "invalid")}),
    ("interviewer", "Q4", "Which one: 1. Sales; 2. Ops?", {"move": "reask"}),
    ("respondent", "Q4", "depends", {"answer": answer("reask", None, "invalid")}),
    ("interviewer", "Q4", "Which one: 1. Sales; 2. Ops?", {"move": "reask"}),
    ("respondent", "Q4", "no idea", {"answer": answer("reask", None, "unresolved")}),
    ("interviewer", None, "That's all, thank you!", {"move": "close"}),
]  # fmt: skip


def rows(
    conversation: list[tuple[str, str | None, str, dict[str, Any]]] = CONVERSATION,
) -> list[dict[str, Any]]:
    """The conversation as stored message rows (the columns the transcript readers take)."""
    out = []
    for seq, (role, item_id, content, metadata) in enumerate(conversation, 1):
        out.append(
            {
                "id": f"msg_{seq:02d}",
                "seq": seq,
                "role": role,
                "content": content,
                "item_id": item_id,
                "turn_id": f"t{seq // 2 + 1}" if role == "interviewer" else None,
                "metadata": metadata,
                "created_at": START + timedelta(seconds=20 * seq),
            }
        )
    return out


def old(conversation: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same rows as stored before moves and answers were recorded."""
    before = {"interviewer": {"engine": "scripted"}, "respondent": {}}
    return [{**r, "metadata": before[r["role"]]} for r in conversation]


async def record(db: Database, session_id: str, metadata: list[dict[str, Any]]) -> None:
    """Give the session's messages, in order, this metadata (added to what they have)."""
    m = schema.messages
    async with db.begin() as conn:
        stored = await sessions.messages(conn, session_id)
        assert len(stored) == len(metadata), [r.content for r in stored]
        for row, more in zip(stored, metadata, strict=True):
            values = {"metadata": {**(row.metadata or {}), **more}}
            await conn.execute(update(m).where(m.c.id == row.id).values(**values))


async def unrecord(db: Database, session_id: str) -> None:
    """Make the session's messages as they were stored before moves and answers were."""
    m = schema.messages
    async with db.begin() as conn:
        for row in await sessions.messages(conn, session_id):
            kept = {k: v for k, v in (row.metadata or {}).items() if k not in RECORDED_KEYS}
            await conn.execute(update(m).where(m.c.id == row.id).values(metadata=kept))
