"""A session's files: transcript formats, the audio recording, and signed links to each."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from api.auth import bearer, respondent, services_of
from api.endpoints import BINARY, Call, Group, Reply
from api.responses import Json
from api.routes import params
from runtime.access import keys
from runtime.platform.errors import PayloadTooLarge, ValidationError
from runtime.platform.private_files import private_dir
from runtime.platform.views import Meta, View
from runtime.services import Services
from runtime.sessions import store as sessions
from runtime.transcripts import artifacts, audio
from runtime.transcripts import pdf_files as transcript_pdf
from runtime.transcripts import view as transcript_view

RETRY_AFTER = 2  # seconds: a transcript renders in well under that
TEXT_MEDIA = {"txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8"}


_404 = {404: "No such session in this workspace"}
op = Group("sessions", "researcher", keys.SESSIONS_READ)
# With an API key (rather than the session token) it needs sessions:write.
either = Group("sessions", "session", keys.SESSIONS_WRITE)


class PdfRendering(View):
    session_id: str
    status: Literal["rendering"] = "rendering"
    retry_after: Annotated[int, Meta(description="Seconds to wait before asking again")] = (
        RETRY_AFTER
    )


class PdfFailed(View, kw_only=True):
    session_id: str
    status: Literal["failed"] = "failed"
    reason: Annotated[str, Meta(description="Why, and what fixes it (e.g. the fonts to install)")]


def absolute(request: Request, url: str) -> str:
    """Local-store links are paths on this API; give them the address the caller used."""
    return str(request.base_url).rstrip("/") + url if url.startswith("/") else url


@op(
    "GET /v1/sessions/{id}/transcript",
    "getTranscript",
    "Get a session's transcript (JSON, plain text or Markdown)",
    Reply(
        200,
        "The transcript: JSON with messages and question → answer turns; with "
        "format=txt or md, the same as a readable document",
        transcript_view.Transcript,
        also=("text/plain", "text/markdown"),
    ),
    errors=_404,
    query=(params.TRANSCRIPT_FORMAT,),
)
async def transcript(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    services = services_of(request)
    fmt = call.query(params.TRANSCRIPT_FORMAT) or "json"
    session_id = call.path["id"]
    if fmt == "json":
        return Json(
            await transcript_view.of_session(services.db, principal.workspace_id, session_id)
        )
    doc = await artifacts.load_transcript(services.db, session_id, principal.workspace_id)
    return PlainTextResponse(doc.render(fmt), media_type=TEXT_MEDIA[fmt])


@either(
    "PUT /v1/sessions/{id}/audio",
    "uploadAudio",
    "Attach the session's audio recording (replaces an earlier one)",
    Reply(201, "The stored recording: detected content type and duration", audio.Audio),
    errors={
        **_404,
        401: "No API key or session token, or the token is not this session's",
        400: "The body is empty, or not audio in one of: "
        + ", ".join(ext for _, ext in audio.FORMATS.values()),
        413: "The recording is over the deployment's audio limit (payload_too_large)",
    },
    upload=tuple(kind for kind, _ in audio.FORMATS.values()),
    description="Send the recording's bytes as the body, with the session's own token "
    "(the respondent's browser, CORS-enabled) or an API key of its workspace. The "
    "format is detected from the bytes (WebM/Opus as browsers record it, Ogg, MP3, "
    "WAV), not the Content-Type header.",
)
async def upload_audio(call: Call[None]) -> Response:
    request = call.request
    services = services_of(request)
    token = bearer(request) or ""
    if token.startswith(sessions.SESSION_TOKEN_PREFIX):
        # The respondent's browser, in voice mode.
        session = await respondent(request, call.path["id"])
    else:
        principal = await call.check_key()
        session = await sessions.for_workspace(services.db, principal.workspace_id, call.path["id"])
    limit = services.settings.max_audio_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"audio uploads are limited to {limit} bytes")
    # Spooled to disk as it arrives: a long recording never sits in memory.
    # Beside the data, not in /tmp, which may be memory-backed.
    spool = services.settings.data_dir / "uploads"
    await asyncio.to_thread(private_dir, spool)
    fd, name = tempfile.mkstemp(prefix="audio-", dir=spool)
    path = Path(name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"audio uploads are limited to {limit} bytes")
                await asyncio.to_thread(handle.write, chunk)
        if size == 0:
            raise ValidationError("the body is empty: send the recording's bytes")
        view = await artifacts.attach_audio(services.db, services.blobs, session.id, path)
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    return Json(view, status_code=201)


@op(
    "GET /v1/sessions/{id}/pdf",
    "getSessionPdf",
    "The transcript as a PDF (rendered by a worker, cached until the transcript changes)",
    Reply(200, "The PDF", BINARY, "application/pdf"),
    Reply(202, "Being rendered: ask again after Retry-After seconds", PdfRendering),
    Reply(
        424,
        "The render failed (no font to draw with on the worker, or a crash): the "
        "reason says why; asked again a minute later, it is tried again",
        PdfFailed,
    ),
    errors=_404,
    description="The PDF shows the interview title, the session's metadata, the "
    "respondent (unless the interview is anonymous), every message with its role and "
    "time, and page numbers; CJK, Arabic, Hebrew and emoji included. It is cached under "
    "the transcript's fingerprint: a new message (or a changed title) makes the next "
    "request render it again. A character no font on the worker draws is shown as "
    "U+FFFD (�), and a note under the metadata says so (docs/pdf.md).",
)
async def pdf(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    services = services_of(request)
    session_id = call.path["id"]
    doc = await artifacts.load_transcript(services.db, session_id, principal.workspace_id)
    found = await transcript_pdf.current(services.db, services.blobs, session_id, doc.fingerprint)
    if found is None:
        reason = await _render_later(services, session_id, doc.fingerprint)
        if reason is not None:
            # 424 Failed Dependency: the render this reply depends on failed.
            return Json(PdfFailed(session_id=session_id, reason=reason), status_code=424)
        rendering = PdfRendering(session_id=session_id)
        return Json(rendering, status_code=202, headers={"retry-after": str(RETRY_AFTER)})
    headers = {
        "content-length": str(found.size_bytes),
        "content-disposition": f'inline; filename="{session_id}.pdf"',
        "etag": f'"{doc.fingerprint[:32]}"',
    }
    return StreamingResponse(
        services.blobs.stream(found.blob_key), media_type=found.content_type, headers=headers
    )


async def _render_later(services: Services, session_id: str, fingerprint: str) -> str | None:
    """Queue the render, unless it failed lately: then why (asked again later, it retries)."""
    reason = await transcript_pdf.failure(services.jobs, session_id, fingerprint)
    if reason is not None:
        return reason
    # Keyed by the transcript's fingerprint: asking again while it renders queues nothing.
    await services.jobs.enqueue(
        transcript_pdf.JOB_FUNCTION,
        key=transcript_pdf.job_key(session_id, fingerprint),
        timeout=300,
        heartbeat=services.settings.job_heartbeat_seconds,
        ttl=transcript_pdf.FAILED_TTL_SECONDS,
        session_id=session_id,
    )
    return None


@op(
    "GET /v1/sessions/{id}/files",
    "listSessionFiles",
    "The session's files with signed download links",
    Reply(
        200,
        "Transcript (txt, md), the PDF once rendered and current, the uploaded audio; for "
        "voice sessions each voice message's clip, and the stereo recording and captions "
        "once made",
        artifacts.Files,
    ),
    errors=_404,
)
async def files(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    services = services_of(request)
    session_id = call.path["id"]
    listed = await artifacts.files(services, session_id, principal.workspace_id)
    if not any(item.kind == "pdf" for item in listed.items):
        doc = await artifacts.load_transcript(services.db, session_id, principal.workspace_id)
        await _render_later(services, session_id, doc.fingerprint)
    for item in listed.items:
        item.url = absolute(request, item.url)
    return Json(listed)


endpoints = [*op.endpoints, *either.endpoints]
