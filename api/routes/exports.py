"""Bulk exports: streamed now (JSON, CSV, or a ZIP with audio), or as a job; no session cap."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from api.auth import researcher, services_of
from api.responses import Json, page
from api.routes import params
from api.routes.files import absolute
from api.validation import Body, Bool, Obj, Str, StrList, parse
from runtime.access import keys
from runtime.exports import formats as export_formats
from runtime.exports import pdfs as export_pdfs
from runtime.exports import records as exports
from runtime.exports.source import Selection, Source
from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.sessions.vocabulary import SESSION_STATUSES


async def transcripts(request: Request) -> Response:
    principal = await researcher(request, keys.EXPORTS_READ)
    services = services_of(request)
    interview_id = request.path_params["id"]
    fmt = params.choice(request, "format", export_formats.FORMATS) or "json"
    include_audio = params.flag(request, "include_audio")
    include_pdf = params.flag(request, "include_pdf")
    status = params.choice(request, "status", SESSION_STATUSES)
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
            source,
            services.blobs,
            fmt,
            include_audio=include_audio,
            include_pdf=include_pdf,
            # Streamed now: only PDFs already rendered; the rest are listed as missing.
            pdf_for=functools.partial(export_pdfs.for_export, services.blobs, render_missing=False),
        )
        body, media, ext = export.chunks(), export_formats.MEDIA["zip"], "zip"
    elif fmt == "csv":
        body, media, ext = export_formats.csv_chunks(source), export_formats.MEDIA["csv"], "csv"
    else:
        body, media, ext = export_formats.json_chunks(source), export_formats.MEDIA["json"], "json"
    disposition = f'attachment; filename="{interview_id}-{stamp}.{ext}"'
    return StreamingResponse(body, media_type=media, headers={"content-disposition": disposition})


EXPORT_CREATE = Body(
    "ExportCreate",
    Obj(
        {
            "interview_id": Str(40, 1, nullable=True),
            "format": Str(10, enum=export_formats.FORMATS),
            "include_audio": Bool(),
            "include_pdf": Bool(),
            "anonymize": Bool(),
            "include_test": Bool(),
            "statuses": StrList(3, Str(20, enum=SESSION_STATUSES)),
            "created_from": Str(40, 1, nullable=True),
            "created_to": Str(40, 1, nullable=True),
        }
    ),
    examples={
        "interview": {"interview_id": "int_…", "format": "csv", "include_audio": True},
        "workspace": {
            "anonymize": True,
            "statuses": ["completed"],
            "created_from": "2026-01-01T00:00:00Z",
        },
    },
)


async def create(request: Request) -> Response:
    principal = await researcher(request, keys.EXPORTS_WRITE)
    services = services_of(request)
    options = await parse(request, EXPORT_CREATE, allow_empty=True)
    row = await exports.create(services.db, principal.workspace_id, options)
    # Should this fail after the insert, the sweeper's export upkeep queues it again.
    await exports.enqueue(services.jobs, services.settings.job_heartbeat_seconds, row["id"])
    response = Json(exports.to_view(row), status_code=202)
    response.headers["location"] = f"/v1/exports/{row['id']}"
    return response


async def _view(request: Request, row: Mapping[str, Any]) -> dict[str, Any]:
    services = services_of(request)
    view = exports.to_view(dict(row))
    if row["status"] == "succeeded" and row["blob_key"]:
        ttl = services.settings.signed_url_ttl_seconds
        url = await services.blobs.signed_url(row["blob_key"], ttl, filename=f"{row['id']}.zip")
        view.update(url=absolute(request, url), url_expires_in=ttl)
    return view


async def list_(request: Request) -> Response:
    principal = await researcher(request, keys.EXPORTS_READ)
    rows, cursor = await exports.list_page(
        services_of(request).db,
        principal.workspace_id,
        status=params.choice(request, "status", exports.STATUSES),
        interview_id=request.query_params.get("interview_id") or None,
        cursor=request.query_params.get("cursor"),
        limit=params.limit(request),
    )
    return page([await _view(request, r) for r in rows], cursor)


async def get(request: Request) -> Response:
    principal = await researcher(request, keys.EXPORTS_READ)
    services = services_of(request)
    row = await exports.load(services.db, request.path_params["id"], principal.workspace_id)
    return Json(await _view(request, dict(row._mapping)))


async def delete(request: Request) -> Response:
    principal = await researcher(request, keys.EXPORTS_WRITE)
    services = services_of(request)
    await exports.remove(
        services.db, services.blobs, principal.workspace_id, request.path_params["id"]
    )
    return Response(status_code=204)


routes = [
    Route("/v1/interviews/{id}/transcripts", transcripts, methods=["GET"]),
    Route("/v1/exports", create, methods=["POST"]),
    Route("/v1/exports", list_, methods=["GET"]),
    Route("/v1/exports/{id}", get, methods=["GET"]),
    Route("/v1/exports/{id}", delete, methods=["DELETE"]),
]
