"""Sessions made fast for export runs: rows written in bulk, every one with a recording."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from runtime.platform.clock import utcnow
from runtime.stores import schema
from runtime.stores.database import Database

BATCH = 1000
ANSWER = 'We use it every day, "really", for planning,\nreviews — 毎日 كل يوم'


async def seed_sessions(
    db: Database,
    workspace_id: str,
    interview_id: str,
    count: int,
    *,
    audio_key: str | None,
    audio_size: int = 0,
    messages_per_session: int = 6,
    answer: Callable[[int, int], str] | None = None,
) -> list[str]:
    """`count` completed sessions of `interview_id`, oldest first; returns their ids.
    `answer(session_number, question_number)` writes the respondent's words (ANSWER if not)."""
    ids: list[str] = []
    start = utcnow() - timedelta(days=1)
    for first in range(0, count, BATCH):
        sessions: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        for n in range(first, min(first + BATCH, count)):
            sid = f"ses_seed{uuid.uuid4().hex[:20]}"
            ids.append(sid)
            at = start + timedelta(milliseconds=n)
            sessions.append(_session(sid, workspace_id, interview_id, n, at))
            for seq in range(1, messages_per_session + 1):
                role = "interviewer" if seq % 2 else "respondent"
                if seq % 2:
                    text = f"Question {seq // 2 + 1}: what do you use it for?"
                else:
                    text = answer(n, seq // 2) if answer is not None else ANSWER
                messages.append(
                    {
                        "id": f"msg_{uuid.uuid4().hex[:24]}",
                        "session_id": sid,
                        "seq": seq,
                        "role": role,
                        "content": text,
                        "item_id": f"Q{seq // 2 + 1}",
                        "turn_id": f"t{seq}" if seq % 2 else None,
                        "client_message_id": None if seq % 2 else f"c{seq}",
                        "metadata": {},
                        "created_at": at + timedelta(seconds=seq),
                    }
                )
            if audio_key is not None:
                files.append(
                    {
                        "id": f"art_{uuid.uuid4().hex[:24]}",
                        "session_id": sid,
                        "kind": "audio",
                        "blob_key": audio_key,
                        "content_type": "audio/webm",
                        "size_bytes": audio_size,
                        "duration_ms": 1000,
                        "fingerprint": None,
                        "created_at": at,
                    }
                )
        async with db.begin() as conn:
            await conn.execute(insert(schema.sessions), sessions)
            await conn.execute(insert(schema.messages), messages)
            if files:
                await conn.execute(insert(schema.artifacts), files)
    return ids


def _session(sid: str, workspace_id: str, interview_id: str, n: int, at: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "workspace_id": workspace_id,
        "interview_id": interview_id,
        "guide_version": 1,
        "status": "completed",
        "token_hash": uuid.uuid4().hex + uuid.uuid4().hex,
        "respondent_name": f"Respondent {n}",
        "respondent_email": f"r{n}@example.com",
        "external_id": None,
        "is_test": False,
        "state": {},
        "turn_seq": 3,
        "awaiting": "respondent",
        "ended_reason": "finished",
        "created_at": at,
        "last_activity_at": at,
        "completed_at": at,
    }
