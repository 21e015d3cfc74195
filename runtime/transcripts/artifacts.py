"""A session's files: its transcript, audio recording and rendered PDF, kept in the blob store."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from msgspec import UNSET, UnsetType
from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.coverage.session import of_session
from runtime.coverage.views import SessionCoverage
from runtime.interviews import service as interviews
from runtime.interviews.guide import Item, items_in_order
from runtime.platform.clock import utcnow
from runtime.platform.errors import NotFound
from runtime.platform.ids import new_id
from runtime.platform.views import Meta, View
from runtime.sessions import notes
from runtime.sessions import store as sessions
from runtime.sessions.answers import audio_key_of, audio_of
from runtime.sessions.notes import Note
from runtime.stores import schema
from runtime.stores.blobs import BlobStore
from runtime.stores.database import Database
from runtime.transcripts import audio
from runtime.transcripts import document as transcripts
from runtime.transcripts.coverage import coverage_rows, fingerprinted
from runtime.voice.clips import clip_prefix

a = schema.artifacts
PDF_CONTENT_TYPE = "application/pdf"
# transcript: txt and md; pdf; audio: the uploaded recording; voice: one voice message's
# clip; recording: the stereo recording of a voice session; captions: its WebVTT and SRT
# (registered as captions_vtt and captions_srt by the final pass, runtime/transcripts/final.py).
FileKind = Literal[
    "transcript", "pdf", "audio", "voice", "recording", "captions", "captions_vtt", "captions_srt"
]
RECORDING_CONTENT_TYPE = "audio/ogg"
CAPTION_FORMATS = {"vtt": "text/vtt", "srt": "application/x-subrip"}
RECORDING_KIND = "recording"
CAPTIONS_KINDS = {"vtt": "captions_vtt", "srt": "captions_srt"}


class FileLink(View, kw_only=True):
    kind: FileKind
    name: Annotated[str, Meta(description="A suggested file name")]
    content_type: str
    size_bytes: int
    duration_ms: Annotated[
        int | UnsetType | None, Meta(description="Audio, voice and recording only")
    ] = UNSET
    message_id: Annotated[
        str | UnsetType, Meta(description="Voice only: the message the clip is the audio of")
    ] = UNSET
    offset_ms: Annotated[
        int | UnsetType,
        Meta(description="Voice only: where the clip begins, in ms after the session started"),
    ] = UNSET
    url: Annotated[str, Meta(description="Signed download link; expires after expires_in s")]


class Files(View):
    """A session's downloadable files."""

    items: list[FileLink]
    expires_in: Annotated[int, Meta(description="Seconds the links stay valid")]


@dataclass(frozen=True)
class SessionTranscript:
    """Everything a rendered transcript shows, loaded once."""

    interview: Mapping[str, Any]
    session: Mapping[str, Any]
    messages: Sequence[Mapping[str, Any]]
    # The session's guide version: what its coverage is measured against.
    items: Sequence[Item] = ()
    # The researchers' notes on the session as a whole (those on a message are on it).
    notes: Sequence[Note] = ()

    @property
    def anonymous(self) -> bool:
        return bool((self.interview["settings"] or {}).get("anonymous"))

    @property
    def title(self) -> str:
        return str(self.interview["title"])

    @property
    def fields(self) -> list[tuple[str, str]]:
        fields = transcripts.metadata_fields(self.interview, self.session, self.anonymous)
        return fields + transcripts.note_fields(self.notes)

    @property
    def coverage(self) -> SessionCoverage:
        return of_session(self.session, self.items, self.messages)

    @property
    def coverage_rows(self) -> list[tuple[str, str]]:
        return coverage_rows(self.coverage)

    @property
    def fingerprint(self) -> str:
        fields = fingerprinted(self.fields, self.coverage_rows)
        return transcripts.fingerprint(self.title, fields, self.messages)

    def render(self, fmt: str) -> str:
        if fmt == "md":
            return transcripts.to_markdown(self.title, self.fields, self.messages)
        return transcripts.to_text(self.title, self.fields, self.messages)


async def load_transcript(
    db: Database, session_id: str, workspace_id: str | None = None
) -> SessionTranscript:
    """The session's transcript; NotFound if it is not in `workspace_id` (when given)."""
    async with db.connect() as conn:
        found = await sessions.row(conn, session_id)
        if workspace_id is not None and found.workspace_id != workspace_id:
            raise NotFound(f"no session {session_id}")
        interview = (
            await conn.execute(
                select(schema.interviews).where(schema.interviews.c.id == found.interview_id)
            )
        ).one()
        rows = await sessions.messages(conn, session_id)
        guide = await interviews.frozen_guide(conn, found.interview_id, found.guide_version)
        found_notes = (await notes.for_sessions(conn, [session_id])).get(session_id, [])
    messages = [dict(r._mapping) for r in rows]
    whole = transcripts.attach_notes(messages, found_notes)
    return SessionTranscript(
        dict(interview._mapping), dict(found._mapping), messages, items_in_order(guide), whole
    )


async def get(conn: AsyncConnection, session_id: str, kind: str) -> Row[Any] | None:
    return (
        await conn.execute(select(a).where(a.c.session_id == session_id, a.c.kind == kind))
    ).first()


async def save(
    db: Database,
    session_id: str,
    kind: str,
    blob_key: str,
    content_type: str,
    size: int,
    *,
    duration_ms: int | None = None,
    fingerprint: str | None = None,
) -> dict[str, Any]:
    """Record the session's file of this kind, replacing the previous one; NotFound if the
    session was erased meanwhile (the caller then deletes the blob it just wrote)."""
    values = {
        "blob_key": blob_key,
        "content_type": content_type,
        "size_bytes": size,
        "duration_ms": duration_ms,
        "fingerprint": fingerprint,
        "created_at": utcnow(),
    }
    async with db.begin() as conn:
        if await _gone(conn, session_id, lock=True):
            raise NotFound(f"no session {session_id}")
        done = await conn.execute(
            update(a).where(a.c.session_id == session_id, a.c.kind == kind).values(**values)
        )
        if done.rowcount != 1:
            row = {"id": new_id("art"), "session_id": session_id, "kind": kind, **values}
            await conn.execute(insert(a).values(**row))
    return {"kind": kind, **values}


async def _gone(conn: AsyncConnection, session_id: str, lock: bool = False) -> bool:
    """Whether the session no longer exists (erased). With `lock`, FOR SHARE (PostgreSQL):
    an erasure holding its row is waited for, and then seen."""
    query = select(schema.sessions.c.id).where(schema.sessions.c.id == session_id)
    found = await conn.execute(query.with_for_update(read=True) if lock else query)
    return found.first() is None


async def save_or_discard(
    db: Database,
    blobs: BlobStore,
    session_id: str,
    kind: str,
    blob_key: str,
    content_type: str,
    size: int,
    **more: Any,
) -> dict[str, Any]:
    """`save` the blob just written under `blob_key`; if the session was erased while it was
    written, delete the blob (the erasure could not have seen it) and raise NotFound."""
    try:
        return await save(db, session_id, kind, blob_key, content_type, size, **more)
    except NotFound:
        await blobs.delete(blob_key)
        raise


def audio_key(session_id: str, extension: str) -> str:
    return f"audio/{session_id}.{extension}"


def pdf_key(session_id: str, fingerprint: str) -> str:
    # One object per transcript version: a re-render never overwrites a file being served.
    return f"pdf/{session_id}/{fingerprint[:16]}.pdf"


def transcript_key(session_id: str, fingerprint: str, fmt: str) -> str:
    # The rendering version: documents written by an earlier (less careful) renderer are
    # not served again.
    return f"transcript/{session_id}/{fingerprint[:16]}-r{transcripts.RENDERING}.{fmt}"


def recording_key(session_id: str) -> str:
    """The stereo recording of a voice session (respondent left, interviewer right)."""
    return f"recording/{session_id}.ogg"


def captions_key(session_id: str, fmt: str) -> str:
    return f"captions/{session_id}.{fmt}"


def blob_prefixes(session_id: str) -> tuple[str, ...]:
    """Every blob key of the session's files begins with one of these (and no other's)."""
    return (
        f"audio/{session_id}.",
        f"pdf/{session_id}/",
        f"transcript/{session_id}/",
        clip_prefix(session_id),
        f"recording/{session_id}.",
        f"captions/{session_id}.",
    )


@dataclass(frozen=True)
class VoiceFile:
    """A voice session's recording or captions file, once made (by the voice.finalize job)."""

    kind: FileKind
    key: str
    name: str  # in /files
    path: str  # in an export's ZIP
    content_type: str
    size_bytes: int
    duration_ms: int | None = None


def voice_file_keys(session_id: str) -> list[tuple[FileKind, str, str, str, str]]:
    """(kind, blob key, file name, ZIP path, content type) of each file a voice session may
    have beside its clips."""
    out: list[tuple[FileKind, str, str, str, str]] = [
        (
            "recording",
            recording_key(session_id),
            f"{session_id}-recording.ogg",
            f"audio/{session_id}/recording.ogg",
            RECORDING_CONTENT_TYPE,
        )
    ]
    for fmt, content_type in CAPTION_FORMATS.items():
        key = captions_key(session_id, fmt)
        name = f"{session_id}.{fmt}"
        out.append(("captions", key, name, f"captions/{name}", content_type))
    return out


def voice_files(
    session_id: str, registered: Sequence[Mapping[str, Any]], stat: Any
) -> list[VoiceFile]:
    """The session's recording and captions that exist: as their artifact rows describe
    them (any kind), else as the blob store does (`stat`: BlobStore.stat, or a lookup)."""
    rows = {str(r["blob_key"]): r for r in registered}
    found = []
    for kind, key, name, path, content_type in voice_file_keys(session_id):
        row = rows.get(key)
        if row is not None:
            size, duration = int(row["size_bytes"]), row["duration_ms"]
            content_type = str(row["content_type"])
        else:
            info = stat(key)
            if info is None:
                continue
            size, duration = info.size, None
        found.append(VoiceFile(kind, key, name, path, content_type, size, duration))
    return found


def has_voice(messages: Sequence[Mapping[str, Any]]) -> bool:
    return any(audio_key_of(m) for m in messages)


async def attach_audio(db: Database, blobs: BlobStore, session_id: str, path: Path) -> audio.Audio:
    """Store an uploaded recording (a file on disk) as the session's audio."""
    info = await audio.probe(path)
    key = audio_key(session_id, info.extension)
    size = await upload_file(blobs, key, info.content_type, path)
    async with db.connect() as conn:
        previous = await get(conn, session_id, "audio")
    saved = await save_or_discard(
        db, blobs, session_id, "audio", key, info.content_type, size, duration_ms=info.duration_ms
    )
    if previous is not None and previous.blob_key != key:
        await blobs.delete(previous.blob_key)
    return audio_view(saved)


async def upload_file(blobs: BlobStore, key: str, content_type: str, path: Path) -> int:
    """Write a file on disk to the blob store under `key`, a MiB at a time; its size."""
    size = (await asyncio.to_thread(path.stat)).st_size
    writer = await blobs.writer(key, content_type)
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                await writer.write(chunk)
        await writer.complete()
    except BaseException:
        await writer.abort()
        raise
    return size


def audio_view(r: Mapping[str, Any]) -> audio.Audio:
    return audio.Audio(
        content_type=r["content_type"],
        size_bytes=r["size_bytes"],
        duration_ms=r["duration_ms"],
        uploaded_at=r["created_at"],
    )


async def _stored_text(blobs: BlobStore, key: str, render: str, content_type: str) -> int:
    """Keep a rendered transcript in the store under its fingerprint, writing it only once."""
    found = await blobs.info(key)
    if found is not None:
        return found.size
    data = render.encode()
    await blobs.put(key, data, content_type)
    return len(data)


async def files(services: Any, session_id: str, workspace_id: str) -> Files:
    """The session's downloadable files with signed links (the PDF only once it is current)."""
    blobs: BlobStore = services.blobs
    ttl = services.settings.signed_url_ttl_seconds
    doc = await load_transcript(services.db, session_id, workspace_id)
    out: list[tuple[FileLink, str]] = []  # each file and its blob key
    for fmt, content_type in (("txt", "text/plain; charset=utf-8"), ("md", "text/markdown")):
        key = transcript_key(session_id, doc.fingerprint, fmt)
        size = await _stored_text(blobs, key, doc.render(fmt), content_type)
        out.append((_file("transcript", f"{session_id}-transcript.{fmt}", content_type, size), key))
    async with services.db.connect() as conn:
        if await _gone(conn, session_id):
            # Erased while the files were written (after the erasure looked for them).
            for _, key in out:
                await blobs.delete(key)
            raise NotFound(f"no session {session_id}")
        pdf = await get(conn, session_id, "pdf")
        recording = await get(conn, session_id, "audio")
        registered = await voice_artifacts(conn, session_id)
    if pdf is not None and pdf.fingerprint == doc.fingerprint:
        out.append(
            (_file("pdf", f"{session_id}.pdf", PDF_CONTENT_TYPE, pdf.size_bytes), pdf.blob_key)
        )
    if recording is not None and str(recording.blob_key).startswith("audio/"):
        ext = str(recording.blob_key).rsplit(".", 1)[-1]
        item = _file("audio", f"{session_id}.{ext}", recording.content_type, recording.size_bytes)
        item.duration_ms = recording.duration_ms
        out.append((item, recording.blob_key))
    out += await _voice_links(blobs, session_id, doc.messages, registered)
    for item, key in out:
        item.url = await blobs.signed_url(key, ttl, filename=item.name)
    return Files(items=[item for item, _ in out], expires_in=ttl)


async def voice_artifacts(conn: AsyncConnection, session_id: str) -> list[Mapping[str, Any]]:
    """The session's artifact rows of its recording and captions (whatever their kind)."""
    keys = [key for _, key, *_ in voice_file_keys(session_id)]
    rows = await conn.execute(select(a).where(a.c.session_id == session_id, a.c.blob_key.in_(keys)))
    return [dict(r._mapping) for r in rows]


async def _voice_links(
    blobs: BlobStore,
    session_id: str,
    messages: Sequence[Mapping[str, Any]],
    registered: Sequence[Mapping[str, Any]],
) -> list[tuple[FileLink, str]]:
    """Each voice message's clip, then the recording and captions when they exist."""
    out = []
    for message in messages:
        audio, key = audio_of(message), audio_key_of(message)
        if audio is None or key is None:
            continue
        name = f"{session_id}-{message['id']}.ogg"
        item = _file("voice", name, audio.content_type, audio.size_bytes)
        item.duration_ms, item.offset_ms = audio.duration_ms, audio.offset_ms
        item.message_id = str(message["id"])
        out.append((item, key))
    if not out:
        return out  # a text session: no need to look for what only voice sessions have
    known = {str(r["blob_key"]) for r in registered}
    keys = [key for _, key, *_ in voice_file_keys(session_id) if key not in known]
    infos = {key: await blobs.info(key) for key in keys}
    for found in voice_files(session_id, registered, infos.get):
        item = _file(found.kind, found.name, found.content_type, found.size_bytes)
        if found.kind == "recording":
            item.duration_ms = found.duration_ms
        out.append((item, found.key))
    return out


def _file(kind: FileKind, name: str, content_type: str, size: int) -> FileLink:
    # Its url is signed once every file is known to be the session's.
    return FileLink(kind=kind, name=name, content_type=content_type, size_bytes=size, url="")
