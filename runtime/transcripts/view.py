"""A session's transcript as the API shows it: its messages, usage and turns."""

from __future__ import annotations

from typing import Any

from runtime.platform.errors import NotFound
from runtime.sessions import store as sessions
from runtime.sessions import views as session_views
from runtime.stores.database import Database
from runtime.transcripts import document as transcripts


async def of_session(db: Database, workspace_id: str, session_id: str) -> dict[str, Any]:
    async with db.connect() as conn:
        found = await sessions.row(conn, session_id)
        if found.workspace_id != workspace_id:
            raise NotFound(f"no session {session_id}")
        rows = await sessions.messages(conn, session_id)
    return {
        "session_id": session_id,
        "interview_id": found.interview_id,
        "status": found.status,
        "messages": [session_views.message_view(r) for r in rows],
        "metadata": session_views.usage_totals(rows),
        "turns": transcripts.turns([dict(r._mapping) for r in rows]),
    }
