"""A session's files: transcript formats, the audio recording, and signed links to each."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from api.auth import bearer, researcher, respondent, services_of
from api.responses import Json
from api.routes import params
from runtime.access import keys
from runtime.platform.errors import PayloadTooLarge, ValidationError
from runtime.platform.private_files import private_dir
from runtime.services import Services
from runtime.sessions import store as sessions
from runtime.transcripts import artifacts
from runtime.transcripts import document as transcripts
from runtime.transcripts import pdf_files as transcript_pdf
from runtime.transcripts import view as transcript_view

RETRY_AFTER = 2  # seconds: a transcript renders in well under that
TEXT_MEDIA = {"txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8"}


def absolute(request: Request, url: str) -> str:
    """Local-store links are paths on this API; give them the address the caller used."""
    return str(request.base_url).rstrip("/") + url if url.startswith("/") else url


async def transcript(request: Request) -> Response:
    principal = await researcher(request, keys.SESSIONS_READ)
    services = services_of(request)
    fmt = params.choice(request, "format", transcripts.FORMATS) or "json"
    session_id = request.path_params["id"]
    if fmt == "json":
        return Json(
            await transcript_view.of_session(services.db, principal.workspace_id, session_id)
        )
    doc = await artifacts.load_transcript(services.db, session_id, principal.workspace_id)
    return PlainTextResponse(doc.render(fmt), media_type=TEXT_MEDIA[fmt])


async def upload_audio(request: Request) -> Response:
    services = services_of(request)
    token = bearer(request) or ""
    if token.startswith(sessions.SESSION_TOKEN_PREFIX):
        # The respondent's browser, in voice mode.
        session = await respondent(request, request.path_params["id"])
    else:
        principal = await researcher(request, keys.SESSIONS_WRITE)
        session = await sessions.for_workspace(
            services.db, principal.workspace_id, request.path_params["id"]
        )
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


async def pdf(request: Request) -> Response:
    principal = await researcher(request, keys.SESSIONS_READ)
    services = services_of(request)
    session_id = request.path_params["id"]
    doc = await artifacts.load_transcript(services.db, session_id, principal.workspace_id)
    found = await transcript_pdf.current(services.db, services.blobs, session_id, doc.fingerprint)
    if found is None:
        reason = await _render_later(services, session_id, doc.fingerprint)
        if reason is not None:
            # 424 Failed Dependency: the render this reply depends on failed.
            body = {"session_id": session_id, "status": "failed", "reason": reason}
            return Json(body, status_code=424)
        body = {"session_id": session_id, "status": "rendering", "retry_after": RETRY_AFTER}
        return Json(body, status_code=202, headers={"retry-after": str(RETRY_AFTER)})
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


async def files(request: Request) -> Response:
    principal = await researcher(request, keys.SESSIONS_READ)
    services = services_of(request)
    session_id = request.path_params["id"]
    listed = await artifacts.files(services, session_id, principal.workspace_id)
    if not any(item["kind"] == "pdf" for item in listed):
        doc = await artifacts.load_transcript(services.db, session_id, principal.workspace_id)
        await _render_later(services, session_id, doc.fingerprint)
    for item in listed:
        item["url"] = absolute(request, item["url"])
    return Json({"items": listed, "expires_in": services.settings.signed_url_ttl_seconds})
