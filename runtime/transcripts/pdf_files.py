"""A session's transcript as a PDF: rendered off the event loop, cached by its fingerprint."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from saq.job import Status

from runtime.platform.errors import ConfigurationError
from runtime.sessions.answers import NO_VALUE, answer_of, recorded
from runtime.stores.blobs import BlobStore
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue
from runtime.transcripts import artifacts
from runtime.transcripts.document import notes_of, said

JOB_FUNCTION = "render_pdf"
# A failed render is remembered this long (its job's ttl), then asking again renders again:
# an operator who installs the fonts sees it work within a minute.
FAILED_TTL_SECONDS = 60
CRASHED = "the PDF could not be rendered (the worker's log says why)"


def job_key(session_id: str, fingerprint: str) -> str:
    return f"pdf:{session_id}:{fingerprint[:16]}"


async def render(
    title: str,
    fields: Sequence[tuple[str, str]],
    messages: Sequence[Mapping[str, Any]],
    font_dirs: tuple[Path, ...],
    coverage: Sequence[tuple[str, str]] = (),
) -> bytes:
    """The PDF, in the fonts found under `font_dirs`, ending with the coverage rows (item,
    status and value); ConfigurationError if no font draws text."""
    # Imported on first use: fpdf2, HarfBuzz and the fonts are ~30 MB an API node that never
    # renders (the workers do) should not carry.
    from runtime.transcripts.pdf import PdfMessage, PdfTranscript, font_book, render_transcript

    doc = PdfTranscript(
        title,
        list(fields),
        [PdfMessage(m["role"], m["content"], m["created_at"], _note(m), said(m)) for m in messages],
        list(coverage),
    )

    def draw() -> bytes:
        return render_transcript(doc, font_book(font_dirs))

    # CPU-bound: a thread, so the loop keeps serving while fpdf2 lays out the pages.
    return await asyncio.to_thread(draw)


def _note(message: Mapping[str, Any]) -> str:
    """The lines under a message: what was recorded from an answer, then the researchers'
    notes on it (none if there is nothing to say)."""
    return "\n".join([*_recorded(message), *notes_of(message)])


def _recorded(message: Mapping[str, Any]) -> list[str]:
    answer = answer_of(message)
    value = recorded(answer)
    if answer is None or value is None:
        return []
    return [NO_VALUE.capitalize() if answer.value_status == "unresolved" else f"Recorded: {value}"]


async def current(db: Database, blobs: BlobStore, session_id: str, fingerprint: str) -> Any:
    """The session's PDF artifact if it was rendered from this transcript and still exists."""
    async with db.connect() as conn:
        found = await artifacts.get(conn, session_id, "pdf")
    if found is None or found.fingerprint != fingerprint:
        return None
    return found if await blobs.info(found.blob_key) is not None else None


async def failure(jobs: JobQueue, session_id: str, fingerprint: str) -> str | None:
    """Why this transcript's PDF could not be rendered, while its failed job is remembered."""
    job = await jobs.job(job_key(session_id, fingerprint))
    if job is None:
        return None
    if job.status == Status.FAILED:
        return CRASHED
    if job.status == Status.COMPLETE and isinstance(job.result, dict) and job.result.get("failed"):
        return str(job.result["failed"])
    return None


async def ensure(
    db: Database, blobs: BlobStore, session_id: str, font_dirs: tuple[Path, ...]
) -> dict[str, Any]:
    """Render and store the session's PDF unless the stored one is current. A deployment
    with no font at all fails at once, with the reason as the result (no retry helps)."""
    doc = await artifacts.load_transcript(db, session_id)
    fingerprint = doc.fingerprint
    found = await current(db, blobs, session_id, fingerprint)
    if found is not None:
        return {"session_id": session_id, "rendered": False}
    async with db.connect() as conn:
        previous = await artifacts.get(conn, session_id, "pdf")
    try:
        data = await render(doc.title, doc.fields, doc.messages, font_dirs, doc.coverage_rows)
    except ConfigurationError as exc:
        return {"session_id": session_id, "rendered": False, "failed": str(exc)}
    key = artifacts.pdf_key(session_id, fingerprint)
    await blobs.put(key, data, artifacts.PDF_CONTENT_TYPE)
    await artifacts.save_or_discard(
        db, blobs, session_id, "pdf", key, artifacts.PDF_CONTENT_TYPE, len(data),
        fingerprint=fingerprint,
    )  # fmt: skip
    if previous is not None and previous.blob_key != key:
        await blobs.delete(previous.blob_key)
    return {"session_id": session_id, "rendered": True, "bytes": len(data)}
