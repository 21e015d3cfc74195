"""Researcher endpoints for notes and bookmarks on a session and its messages."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from msgspec import UNSET, UnsetType
from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Fields, Group, ListOf, Reply
from api.responses import Json, page
from api.routes import params
from api.validation import Described, Str
from runtime.access import keys
from runtime.live import notes as live_notes
from runtime.sessions import notes
from runtime.sessions import store as sessions

_BODY = Described(
    Str(notes.BODY_MAX),
    f"A note: 1 to {notes.BODY_MAX} characters; a bookmark: 0 to {notes.BODY_MAX}",
)


class NoteCreate(Fields):
    kind: Annotated[str, Described(Str(20, enum=notes.NOTE_KINDS), "note or bookmark")]
    body: Annotated[str, _BODY] = ""
    message_id: Annotated[
        str | UnsetType | None,
        Described(
            Str(40, 1, nullable=True),
            "A message of this session (required for a bookmark); absent or null: the "
            "note is on the session as a whole",
        ),
    ] = UNSET

    examples: ClassVar[dict[str, Any]] = {
        "note": {"kind": "note", "message_id": "msg_01J…", "body": "Contradicts Q2's answer"},
        "bookmark": {"kind": "bookmark", "message_id": "msg_01J…"},
    }


class NoteUpdate(Fields):
    body: Annotated[str, _BODY]


_404 = {404: "No such session in this workspace"}
_404_NOTE = {404: "No such session in this workspace, or no such note on it"}
op = Group("sessions", "researcher", keys.SESSIONS_WRITE)


@op(
    "POST /v1/sessions/{id}/notes",
    "createNote",
    "Add a note or a bookmark to a session or one of its messages",
    Reply(201, "The note", notes.Note),
    body=NoteCreate,
    errors={**_404, 409: f"The session has {notes.MAX_PER_SESSION} notes and bookmarks already"},
    description="Researchers' annotations, never shown to the respondent: a private "
    "`note.added` event reaches the session's researcher streams, and notes go into the "
    "session's transcripts and exports beside their message and into synthesis as "
    "researcher context, never as respondent quotes (docs/live-console.md, Notes).",
)
async def create(call: Call[NoteCreate]) -> Response:
    body = await call.body()
    services = services_of(call.request)
    session = await sessions.for_workspace(services.db, call.key.workspace_id, call.path["id"])
    kind: notes.NoteKind = "bookmark" if body.kind == "bookmark" else "note"
    message_id = body.message_id if isinstance(body.message_id, str) else None
    note = await live_notes.add(
        services.db, services.events, session, kind, body.body, message_id, call.key.key_id
    )
    return Json(note, status_code=201)


@op(
    "GET /v1/sessions/{id}/notes",
    "listNotes",
    "List a session's notes and bookmarks, newest first",
    Reply(200, "One page of notes", ListOf(notes.Note)),
    errors=_404,
    query=(params.LIMIT, params.CURSOR),
    scope=keys.SESSIONS_READ,
)
async def list_(call: Call[None]) -> Response:
    db = services_of(call.request).db
    session = await sessions.for_workspace(db, call.key.workspace_id, call.path["id"])
    found = await notes.list_page(
        db, session.id, call.query(params.CURSOR), call.query(params.LIMIT)
    )
    return page(found)


@op(
    "PATCH /v1/sessions/{id}/notes/{note_id}",
    "updateNote",
    "Change a note's or bookmark's body",
    Reply(200, "The note", notes.Note),
    body=NoteUpdate,
    errors=_404_NOTE,
)
async def update(call: Call[NoteUpdate]) -> Response:
    body = await call.body()
    db = services_of(call.request).db
    session = await sessions.for_workspace(db, call.key.workspace_id, call.path["id"])
    return Json(await notes.edit(db, session.id, call.path["note_id"], body.body))


@op(
    "DELETE /v1/sessions/{id}/notes/{note_id}",
    "deleteNote",
    "Delete a note or bookmark",
    Reply(204, "Deleted"),
    errors=_404_NOTE,
)
async def delete(call: Call[None]) -> Response:
    db = services_of(call.request).db
    session = await sessions.for_workspace(db, call.key.workspace_id, call.path["id"])
    await notes.remove(db, session.id, call.path["note_id"])
    return Response(status_code=204)


endpoints = op.endpoints
