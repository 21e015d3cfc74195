"""Bulk exports: streamed now (JSON, CSV, or a ZIP with audio), however many sessions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from api.auth import researcher, services_of
from api.routes import params
from runtime import export_formats, interviews
from runtime.clock import utcnow
from runtime.export_source import Selection, Source


async def transcripts(request: Request) -> Response:
    principal = await researcher(request)
    services = services_of(request)
    interview_id = request.path_params["id"]
    fmt = params.choice(request, "format", export_formats.FORMATS) or "json"
    include_audio = params.flag(request, "include_audio")
    include_pdf = params.flag(request, "include_pdf")
    status = params.choice(request, "status", interviews.SESSION_STATUSES)
    async with services.db.connect() as conn:
        await interviews.owned_row(conn, principal.workspace_id, interview_id)
    selection = Selection(
        principal.workspace_id,
        interview_id,
        statuses=(status,) if status else (),
        created_from=params.timestamp(request, "since"),
        include_test=params.flag(request, "include_test"),
    )
    source = Source(services.db, selection, services.settings.export_page_size)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    if include_audio or include_pdf:
        export = export_formats.ZipExport(
            source, services.blobs, fmt, include_audio=include_audio, include_pdf=include_pdf
        )
        body, media, ext = export.chunks(), export_formats.MEDIA["zip"], "zip"
    elif fmt == "csv":
        body, media, ext = export_formats.csv_chunks(source), export_formats.MEDIA["csv"], "csv"
    else:
        body, media, ext = export_formats.json_chunks(source), export_formats.MEDIA["json"], "json"
    disposition = f'attachment; filename="{interview_id}-{stamp}.{ext}"'
    return StreamingResponse(body, media_type=media, headers={"content-disposition": disposition})


routes = [Route("/v1/interviews/{id}/transcripts", transcripts, methods=["GET"])]
