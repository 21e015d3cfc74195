"""The sessions an export covers, read a page at a time so memory never grows with their number."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select

from runtime.coverage.reads import guide_items
from runtime.coverage.session import of_session
from runtime.coverage.views import SessionCoverage
from runtime.interviews.guide import Item
from runtime.platform.clock import utcnow
from runtime.sessions import notes
from runtime.sessions.answers import (
    answer_of,
    audio_key_of,
    audio_of,
    author_of,
    interrupted_of,
    modality_of,
    move_of,
)
from runtime.sessions.notes import Note
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.stores.schema import real_sessions
from runtime.transcripts import artifacts
from runtime.transcripts import document as transcripts

s = schema.sessions
m = schema.messages
a = schema.artifacts
iv = schema.interviews
# What an export writes, and no more: decoding the JSON columns it never shows costs time.
# The session's state is what its coverage is computed from (with the messages' moves and
# answers); the token hash never leaves the database.
SESSION_COLUMNS = [c for c in s.c if c.name != "token_hash"]
# Of a message's metadata only what an export shows (the accounting stays behind).
SHOWN_METADATA = ("move", "answer", "modality", "audio", "interrupted", "written")
MESSAGE_COLUMNS: list[Any] = [
    *(
        m.c[n]
        for n in ("id", "session_id", "seq", "role", "content", "item_id", "created_at", "author")
    ),
    *(m.c.metadata[key].label(key) for key in SHOWN_METADATA),
]


@dataclass(frozen=True)
class Selection:
    """Which sessions: one interview or the whole workspace, optionally filtered."""

    workspace_id: str
    interview_id: str | None = None
    statuses: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    include_test: bool = False
    anonymize: bool = False


@dataclass
class Entry:
    """One session with what an export writes of it."""

    session: Mapping[str, Any]
    interview: Mapping[str, Any]
    messages: list[dict[str, Any]]
    audio: Mapping[str, Any] | None
    pdf: Mapping[str, Any] | None
    participant: int
    anonymize: bool
    # The session's guide version: what its coverage is measured against.
    items: Sequence[Item] = ()
    # Its artifact rows of a voice session's recording and captions (any kind).
    voice_artifacts: Sequence[Mapping[str, Any]] = ()
    # The researchers' notes on the session as a whole (those on a message are on it).
    notes: Sequence[Note] = ()

    @property
    def id(self) -> str:
        return str(self.session["id"])

    @property
    def hides_respondent(self) -> bool:
        return bool((self.interview["settings"] or {}).get("anonymous"))

    def respondent(self) -> dict[str, Any] | None:
        if self.hides_respondent:
            return None
        if self.anonymize:
            return {"name": f"Participant {self.participant}"}
        r = self.session
        return {
            "name": r["respondent_name"],
            "email": r["respondent_email"],
            "external_id": r["external_id"],
        }

    def transcript_fields(self) -> list[tuple[str, str]]:
        """Metadata rows for a rendered transcript, anonymised like the rest of the export."""
        session = dict(self.session)
        if self.anonymize:
            session.update(respondent_name=f"Participant {self.participant}")
            session.update(respondent_email=None, external_id=None)
        fields = transcripts.metadata_fields(self.interview, session, self.hides_respondent)
        return fields + transcripts.note_fields(self.notes)

    def coverage(self) -> SessionCoverage:
        return of_session(self.session, self.items, self.messages)

    def audio_path(self) -> str | None:
        if self.audio is None:
            return None
        return f"audio/{self.id}.{str(self.audio['blob_key']).rsplit('.', 1)[-1]}"

    def clip_path(self, message: Mapping[str, Any]) -> str:
        """Where a voice message's clip is in the ZIP."""
        return f"audio/{self.id}/{message['id']}.ogg"

    def clips(self) -> list[tuple[str, str, str]]:
        """(message id, blob key, ZIP path) of each voice message's clip."""
        return [
            (str(msg["id"]), key, self.clip_path(msg))
            for msg in self.messages
            if (key := audio_key_of(msg)) is not None
        ]

    def has_voice(self) -> bool:
        return artifacts.has_voice(self.messages)

    def _message(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        audio = audio_of(msg)
        interrupted = interrupted_of(msg)
        return {
            # The id, so the coverage's message_ids point at messages listed here.
            "id": msg["id"],
            "seq": msg["seq"],
            "role": msg["role"],
            "content": msg["content"],
            "item_id": msg["item_id"],
            "created_at": msg["created_at"],
            "move": move_of(msg),
            "answer": answer_of(msg),
            "modality": modality_of(msg),
            "audio": None
            if audio is None
            else {
                "path": self.clip_path(msg),
                "content_type": audio.content_type,
                "size_bytes": audio.size_bytes,
                "duration_ms": audio.duration_ms,
                "offset_ms": audio.offset_ms,
            },
            "interrupted": interrupted,
            "written": (msg.get("metadata") or {}).get("written") if interrupted else None,
            "author": author_of(msg),
            # Beside the message they are on, apart from what was said.
            transcripts.NOTES: [_note(n) for n in msg.get(transcripts.NOTES) or ()],
        }

    def view(self) -> dict[str, Any]:
        r = self.session
        return {
            "id": r["id"],
            "interview_id": r["interview_id"],
            "interview_title": self.interview["title"],
            "status": r["status"],
            "ended_reason": r["ended_reason"],
            "is_test": r["is_test"],
            "respondent": self.respondent(),
            "created_at": r["created_at"],
            "completed_at": r["completed_at"],
            "audio": None
            if self.audio is None
            else {
                "path": self.audio_path(),
                "content_type": self.audio["content_type"],
                "size_bytes": self.audio["size_bytes"],
                "duration_ms": self.audio["duration_ms"],
            },
            "messages": [self._message(msg) for msg in self.messages],
            "turns": transcripts.turns(self.messages),
            "coverage": self.coverage(),
            transcripts.NOTES: [_note(n) for n in self.notes],
        }


def _note(note: Note) -> dict[str, Any]:
    return {"id": note.id, "kind": note.kind, "body": note.body, "created_at": note.created_at}


def sessions_query(sel: Selection, cutoff: datetime, *columns: Any) -> Select[Any]:
    """The selected sessions that existed at `cutoff`, as `columns`."""
    query = select(*columns).where(s.c.workspace_id == sel.workspace_id, s.c.created_at <= cutoff)
    if sel.interview_id is not None:
        query = query.where(s.c.interview_id == sel.interview_id)
    if sel.statuses:
        query = query.where(s.c.status.in_(sel.statuses))
    if sel.created_from is not None:
        query = query.where(s.c.created_at >= sel.created_from)
    if sel.created_to is not None:
        query = query.where(s.c.created_at < sel.created_to)
    return query.where(real_sessions(sel.include_test))


@dataclass
class Source:
    """Reads the selection in pages; every pass sees the sessions that existed when it began."""

    db: Database
    selection: Selection
    page_size: int = 200
    cutoff: datetime = field(default_factory=utcnow)
    # Export jobs: told each page's sessions before their content is read, it answers those
    # the page may hold (runtime.exports.members.record: erased ones are left out).
    admit: Callable[[list[str]], Awaitable[set[str]]] | None = None
    _interviews: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    _guides: dict[tuple[str, int], list[Item]] = field(default_factory=dict)

    def _query(self) -> Any:
        return sessions_query(self.selection, self.cutoff, *SESSION_COLUMNS)

    async def count(self) -> int:
        from sqlalchemy import func

        async with self.db.connect() as conn:
            sub = self._query().with_only_columns(s.c.id).subquery()
            return int(await conn.scalar(select(func.count()).select_from(sub)) or 0)

    async def pages(self) -> AsyncIterator[list[Entry]]:
        after: tuple[datetime, str] | None = None
        participant = 0
        while True:
            query = self._query()
            if after is not None:
                query = query.where(
                    or_(
                        s.c.created_at > after[0],
                        and_(s.c.created_at == after[0], s.c.id > after[1]),
                    )
                )
            query = query.order_by(s.c.created_at, s.c.id).limit(self.page_size)
            async with self.db.connect() as conn:
                rows = [dict(r._mapping) for r in await conn.execute(query)]
                if not rows:
                    return
                after = (rows[-1]["created_at"], rows[-1]["id"])
                if self.admit is None:
                    content = await self._content(conn, rows)
            if self.admit is not None:
                kept = await self.admit([r["id"] for r in rows])
                rows = [r for r in rows if r["id"] in kept]
                if not rows:
                    continue
                async with self.db.connect() as conn:
                    content = await self._content(conn, rows)
            messages, files, voice_files, whole = content
            entries = []
            for r in rows:
                participant += 1
                entries.append(
                    Entry(
                        r,
                        self._interviews[r["interview_id"]],
                        messages[r["id"]],
                        files.get((r["id"], "audio")),
                        files.get((r["id"], "pdf")),
                        participant,
                        self.selection.anonymize,
                        self._guides[(r["interview_id"], r["guide_version"])],
                        voice_files.get(r["id"], ()),
                        whole.get(r["id"], ()),
                    )
                )
            yield entries

    async def _content(
        self, conn: Any, rows: list[dict[str, Any]]
    ) -> tuple[
        dict[str, list[dict[str, Any]]],
        dict[tuple[str, str], Mapping[str, Any]],
        dict[str, list[Mapping[str, Any]]],
        dict[str, list[Note]],
    ]:
        """The page's messages by session (with the notes on each), its files by (session,
        kind), the artifact rows of its voice sessions' recordings and captions by session,
        and the notes on each session as a whole."""
        ids = [r["id"] for r in rows]
        by_session: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        found = await conn.execute(
            select(*MESSAGE_COLUMNS)
            .where(m.c.session_id.in_(ids))
            .order_by(m.c.session_id, m.c.seq)
        )
        for msg in found:
            row = dict(msg._mapping)
            # Shaped as a stored message's metadata, which the transcript readers take.
            shown = {key: row.pop(key) for key in SHOWN_METADATA}
            row["metadata"] = {key: value for key, value in shown.items() if value is not None}
            by_session[msg.session_id].append(row)
        files: dict[tuple[str, str], Mapping[str, Any]] = {}
        voice_files: dict[str, list[Mapping[str, Any]]] = {}
        for f in await conn.execute(select(a).where(a.c.session_id.in_(ids))):
            keys = [key for _, key, *_ in artifacts.voice_file_keys(f.session_id)]
            if f.blob_key in keys:
                voice_files.setdefault(f.session_id, []).append(dict(f._mapping))
            else:
                files[(f.session_id, f.kind)] = dict(f._mapping)
        await self._load_interviews(conn, {r["interview_id"] for r in rows})
        # Frozen versions never change: each is read once per export.
        versions = {(r["interview_id"], r["guide_version"]) for r in rows} - set(self._guides)
        self._guides.update(await guide_items(conn, versions))
        found_notes = await notes.for_sessions(conn, ids)
        whole = {i: transcripts.attach_notes(by_session[i], found_notes.get(i, [])) for i in ids}
        return by_session, files, voice_files, whole

    async def _load_interviews(self, conn: Any, ids: set[str]) -> None:
        missing = ids - set(self._interviews)
        if missing:
            for row in await conn.execute(select(iv).where(iv.c.id.in_(missing))):
                self._interviews[row.id] = dict(row._mapping)

    def interview_view(self) -> dict[str, Any] | None:
        """The interview's metadata for the envelope (None for a whole-workspace export)."""
        interview_id = self.selection.interview_id
        if interview_id is None or interview_id not in self._interviews:
            return None
        r = self._interviews[interview_id]
        return {
            "id": r["id"],
            "title": r["title"],
            "goal": r["goal"],
            "language": r["language"],
            "status": r["status"],
            "guide_version": r["guide_version"],
            "created_at": r["created_at"],
        }

    async def prime(self, conn: Any) -> None:
        if self.selection.interview_id is not None:
            await self._load_interviews(conn, {self.selection.interview_id})
