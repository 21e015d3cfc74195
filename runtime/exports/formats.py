"""Bulk export formats written as streams: a JSON envelope, CSV, and a ZIP with audio and PDFs."""

from __future__ import annotations

import asyncio
import csv
import io
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from stream_zip import ZIP_64, ZIP_AUTO, stream_zip

from runtime.exports import coverage_csv
from runtime.exports.source import Entry, Source
from runtime.exports.synthesis import SynthesisFiles
from runtime.platform.clock import iso, utcnow
from runtime.platform.json_output import dumps
from runtime.sessions.answers import answer_of, author_of, interrupted_of, modality_of, move_of
from runtime.stores.blobs import BlobStore
from runtime.transcripts import artifacts, neutralize
from runtime.transcripts import document as transcripts

FORMATS = ("json", "csv")
MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8", "zip": "application/zip"}
CSV_COLUMNS = (
    "session_id", "interview_id", "interview_title", "session_status", "respondent_name",
    "respondent_email", "external_id", "session_created_at", "seq", "role", "item_id",
    "content", "message_created_at", "move", "answer_kind", "value", "value_status",
    "modality", "interrupted", "author", "researcher_notes",
)  # fmt: skip
ANONYMOUS_DROPPED = ("respondent_email", "external_id")
FLUSH_BYTES = 256 * 1024
T = TypeVar("T")

# Gives one entry's PDF for the ZIP (None: it has none, and the manifest says so).
PdfSource = Callable[[Entry], Awaitable[bytes | None]]
# Gives the interview's synthesis files for the ZIP (None: it has none, the manifest says so).
SynthesisSource = Callable[[], Awaitable[SynthesisFiles | None]]


async def _no_pdf(entry: Entry) -> bytes | None:
    return None


async def _no_synthesis() -> SynthesisFiles | None:
    return None


async def json_chunks(source: Source) -> AsyncIterator[bytes]:
    """The envelope: interview, generated_at, then one entry per session as pages arrive."""
    async with source.db.connect() as conn:
        await source.prime(conn)
    head = {"interview": source.interview_view(), "generated_at": source.cutoff}
    yield (dumps(head)[:-1] + ', "sessions": [').encode()
    first = True
    async for page in source.pages():
        parts = []
        for entry in page:
            parts.append(("" if first else ",") + "\n" + dumps(entry.view()))
            first = False
        yield "".join(parts).encode()
    yield b"\n]}\n"


def csv_columns(anonymize: bool) -> tuple[str, ...]:
    return tuple(c for c in CSV_COLUMNS if not (anonymize and c in ANONYMOUS_DROPPED))


async def csv_chunks(source: Source) -> AsyncIterator[bytes]:
    """One row per message; the csv module quotes commas, quotes and newlines, and
    runtime.transcripts.neutralize defuses formulas and control characters (docs/exports.md)."""
    columns = csv_columns(source.selection.anonymize)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A byte-order mark so spreadsheet programs read the UTF-8 as UTF-8.
    yield "\ufeff".encode()
    writer.writerow(columns)
    async for page in source.pages():
        for entry in page:
            respondent = entry.respondent() or {}
            session = {
                "session_id": entry.id,
                "interview_id": entry.session["interview_id"],
                "interview_title": entry.interview["title"],
                "session_status": entry.session["status"],
                "respondent_name": respondent.get("name") or "",
                "respondent_email": respondent.get("email") or "",
                "external_id": respondent.get("external_id") or "",
                "session_created_at": iso(entry.session["created_at"]),
            }
            for msg in entry.messages:
                answer = answer_of(msg)
                row = {
                    **session,
                    "seq": msg["seq"],
                    "role": msg["role"],
                    "item_id": msg["item_id"] or "",
                    "content": msg["content"],
                    "message_created_at": iso(msg["created_at"]),
                    "move": move_of(msg) or "",
                    "answer_kind": answer.kind if answer else "",
                    "value": "" if answer is None or answer.value is None else answer.value,
                    "value_status": (answer.value_status if answer else None) or "",
                    "modality": modality_of(msg),
                    "interrupted": "true" if interrupted_of(msg) else "",
                    "author": author_of(msg) or "",
                    # One line per note on the message ("Researcher note: …"), never its words.
                    "researcher_notes": "\n".join(transcripts.notes_of(msg)),
                }
                # No cell a spreadsheet would evaluate, no control character obeyed.
                writer.writerow([neutralize.csv_cell(row[c]) for c in columns])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _blocking(agen: AsyncIterator[T], loop: asyncio.AbstractEventLoop) -> Iterator[T]:
    """Drive an async iterator from the ZIP writer's thread, on the event loop that owns it."""
    while True:
        try:
            yield asyncio.run_coroutine_threadsafe(anext(agen), loop).result()  # type: ignore[arg-type]
        except StopAsyncIteration:
            return


def _call(loop: asyncio.AbstractEventLoop, coro: Awaitable[T]) -> T:
    return asyncio.run_coroutine_threadsafe(coro, loop).result()  # type: ignore[arg-type]


class ZipExport:
    """transcripts.<fmt>, coverage.csv, audio/<session>.<ext>, audio/<session>/<message>.ogg
    and audio/<session>/recording.ogg, captions/<session>.vtt|srt, pdf/<session>.pdf,
    synthesis/synthesis.json|md|pdf and manifest.json."""

    def __init__(
        self,
        source: Source,
        blobs: BlobStore,
        fmt: str,
        *,
        include_audio: bool = True,
        include_pdf: bool = False,
        pdf_for: PdfSource | None = None,
        include_synthesis: bool = False,
        synthesis_for: SynthesisSource | None = None,
        on_session: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.source = source
        self.blobs = blobs
        self.fmt = fmt
        self.include_audio = include_audio
        self.include_pdf = include_pdf
        self.pdf_for = pdf_for or _no_pdf
        self.include_synthesis = include_synthesis
        self.synthesis_for = synthesis_for or _no_synthesis
        self.synthesis: SynthesisFiles | None = None
        self.on_session = on_session
        self.files: list[dict[str, Any]] = []
        self.audio_missing: list[str] = []
        self.voice_missing: list[dict[str, str]] = []
        self.pdf_missing: list[str] = []
        self.sessions = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        """The ZIP, built by stream-zip in a thread; pieces of ~256 KiB as they are ready."""
        loop = asyncio.get_running_loop()
        generator = self._zip(loop)
        while True:
            piece = await asyncio.to_thread(_gather, generator)
            if not piece:
                return
            yield piece

    def _zip(self, loop: asyncio.AbstractEventLoop) -> Iterator[bytes]:
        return iter(
            stream_zip(
                self._members(loop),
                chunk_size=FLUSH_BYTES,
                get_compressobj=lambda: zlib.compressobj(wbits=-zlib.MAX_WBITS, level=6),
            )
        )

    def _members(self, loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
        now = utcnow().replace(tzinfo=None)
        text = json_chunks(self.source) if self.fmt == "json" else csv_chunks(self.source)
        name = f"transcripts.{self.fmt}"
        yield name, now, 0o600, ZIP_64, self._counted(name, None, _blocking(text, loop))
        rows = _blocking(coverage_csv.coverage_chunks(self.source), loop)
        yield coverage_csv.NAME, now, 0o600, ZIP_64, self._counted(coverage_csv.NAME, None, rows)
        for page in _blocking(self.source.pages(), loop):
            for entry in page:
                self.sessions += 1
                if self.include_audio:
                    yield from self._audio(entry, now, loop)
                if entry.has_voice():
                    yield from self._voice_files(entry, now)
                if self.include_pdf:
                    yield from self._pdf(entry, now, loop)
                if self.on_session is not None:
                    _call(loop, self.on_session(self.sessions))
        if self.include_synthesis:
            self.synthesis = _call(loop, self.synthesis_for())
            for path, data in self.synthesis.files if self.synthesis else ():
                yield path, now, 0o600, ZIP_64, self._counted(path, None, iter((data,)))
        yield "manifest.json", now, 0o600, ZIP_64, (self.manifest().encode(),)

    def _audio(self, entry: Entry, now: datetime, loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
        """The uploaded recording and each voice message's clip; a session with none of
        them is listed in audio_missing, a clip whose blob is gone in voice_missing."""
        found = False
        path = entry.audio_path()
        # Already in the ZIP's thread: ask the store directly, no round trip through the loop.
        info = self.blobs.stat(str(entry.audio["blob_key"])) if entry.audio else None
        if path is not None and info is not None:
            found = True
            key = str(entry.audio["blob_key"])  # type: ignore[index]
            chunks = self._counted(path, entry.id, self.blobs.chunks(key))
            # Recordings are compressed already: store them, deflating them again costs for
            # nothing.
            yield path, now, 0o600, ZIP_AUTO(info.size, level=0), chunks
        for message_id, key, clip_path in entry.clips():
            clip = self.blobs.stat(key)
            if clip is None:
                self.voice_missing.append({"session_id": entry.id, "message_id": message_id})
                continue
            found = True
            chunks = self._counted(clip_path, entry.id, self.blobs.chunks(key), message_id)
            yield clip_path, now, 0o600, ZIP_AUTO(clip.size, level=0), chunks
        if not found:
            self.audio_missing.append(entry.id)

    def _voice_files(self, entry: Entry, now: datetime) -> Iterator[Any]:
        """A voice session's stereo recording (with the audio) and captions, when made."""
        for found in artifacts.voice_files(entry.id, (), self.blobs.stat):
            if found.kind == "recording" and not self.include_audio:
                continue
            chunks = self._counted(found.path, entry.id, self.blobs.chunks(found.key))
            level = 0 if found.kind == "recording" else 6
            yield found.path, now, 0o600, ZIP_AUTO(found.size_bytes, level=level), chunks

    def _pdf(self, entry: Entry, now: datetime, loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
        path = f"pdf/{entry.id}.pdf"
        data = _call(loop, self.pdf_for(entry))
        if data is None:
            self.pdf_missing.append(entry.id)
            return
        yield path, now, 0o600, ZIP_64, self._counted(path, entry.id, iter((data,)))

    def _counted(
        self,
        path: str,
        session_id: str | None,
        chunks: Iterator[bytes],
        message_id: str | None = None,
    ) -> Iterator[bytes]:
        size = 0
        for chunk in chunks:
            size += len(chunk)
            yield chunk
        listed: dict[str, Any] = {"path": path, "session_id": session_id, "bytes": size}
        if message_id is not None:
            listed["message_id"] = message_id
        self.files.append(listed)

    def manifest(self) -> str:
        sel = self.source.selection
        listed: dict[str, Any] = {
            "generated_at": self.source.cutoff,
            "interview_id": sel.interview_id,
            "format": self.fmt,
            "anonymized": sel.anonymize,
            "sessions": self.sessions,
            "files": [*self.files, {"path": "manifest.json", "session_id": None}],
            "audio_missing": self.audio_missing if self.include_audio else [],
            "voice_missing": self.voice_missing if self.include_audio else [],
            "pdf_missing": self.pdf_missing if self.include_pdf else [],
        }
        if self.include_synthesis:
            # Which synthesis the files are of; null: the interview has no completed one.
            listed["synthesis"] = self.synthesis.manifest() if self.synthesis else None
        return dumps(listed)


def _gather(generator: Iterator[bytes]) -> bytes:
    pieces: list[bytes] = []
    size = 0
    for chunk in generator:
        pieces.append(chunk)
        size += len(chunk)
        if size >= FLUSH_BYTES:
            break
    return b"".join(pieces)
