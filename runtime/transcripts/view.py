"""A session's transcript as the API shows it: its messages, usage and turns."""

from __future__ import annotations

from typing import Annotated

from runtime.platform.errors import NotFound
from runtime.platform.views import Meta, View
from runtime.sessions import notes
from runtime.sessions import store as sessions
from runtime.sessions import views as session_views
from runtime.sessions.notes import Note
from runtime.stores.database import Database
from runtime.transcripts import document as transcripts
from runtime.vocabulary import SessionStatus


class Transcript(View):
    session_id: str
    interview_id: str
    status: SessionStatus
    messages: Annotated[
        list[session_views.Message], Meta(description="Every committed message, in order")
    ]
    metadata: session_views.Usage
    turns: Annotated[
        list[transcripts.Turn], Meta(description="The conversation as question → answer pairs")
    ]
    notes: Annotated[
        list[Note],
        Meta(
            description="The researchers' notes and bookmarks, oldest first (message_id: the "
            "message each is on); never the respondent's words"
        ),
    ]


async def of_session(db: Database, workspace_id: str, session_id: str) -> Transcript:
    async with db.connect() as conn:
        found = await sessions.row(conn, session_id)
        if found.workspace_id != workspace_id:
            raise NotFound(f"no session {session_id}")
        rows = await sessions.messages(conn, session_id)
        found_notes = (await notes.for_sessions(conn, [session_id])).get(session_id, [])
    return Transcript(
        session_id=session_id,
        interview_id=found.interview_id,
        status=found.status,
        messages=[session_views.message_view(r) for r in rows],
        metadata=session_views.usage_totals(rows),
        turns=transcripts.turns([dict(r._mapping) for r in rows]),
        notes=found_notes,
    )
