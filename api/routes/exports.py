"""Bulk exports: streamed now (JSON, CSV, or a ZIP with audio), or as a job; no session cap."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.auth import services_of
from api.endpoints import Call, Fields, Group, ListOf, Reply
from api.responses import Json, page
from api.routes import params
from api.routes.files import absolute
from api.validation import Bool, Described, Str, StrList
from runtime.access import keys
from runtime.exports import formats as export_formats
from runtime.exports import pdfs as export_pdfs
from runtime.exports import records as exports
from runtime.exports.source import Selection, Source
from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow

_WHEN = Str(40, 1, nullable=True)
_SYNTHESIS = Described(
    Bool(),
    "Add the interview's latest completed synthesis (default false; needs interview_id): "
    "synthesis/synthesis.json (as GET /v1/interviews/{id}/synthesis shows it), "
    "synthesis/synthesis.md and synthesis/synthesis.pdf. The manifest's `synthesis` names "
    "it (id, generated_at, engine, files), or is null when the interview has none. With "
    'anonymize, its participants are "Participant N" too.',
)


class ExportCreate(Fields):
    """An export job's options; all optional (no interview_id: the whole workspace)."""

    interview_id: Annotated[str | UnsetType | None, Str(40, 1, nullable=True)] = UNSET
    format: Annotated[str | UnsetType, Str(10, enum=export_formats.FORMATS)] = UNSET
    include_audio: Annotated[bool | UnsetType, Bool()] = UNSET
    include_pdf: Annotated[bool | UnsetType, Bool()] = UNSET
    include_synthesis: Annotated[bool | UnsetType, _SYNTHESIS] = UNSET
    anonymize: Annotated[bool | UnsetType, Bool()] = UNSET
    include_test: Annotated[bool | UnsetType, Bool()] = UNSET
    statuses: Annotated[
        list[str] | UnsetType | None, StrList(3, Str(20, enum=interviews.SESSION_STATUSES))
    ] = UNSET
    created_from: Annotated[str | UnsetType | None, _WHEN] = UNSET
    created_to: Annotated[str | UnsetType | None, _WHEN] = UNSET

    examples: ClassVar[dict[str, Any]] = {
        "interview": {"interview_id": "int_…", "format": "csv", "include_audio": True},
        "workspace": {
            "anonymize": True,
            "statuses": ["completed"],
            "created_from": "2026-01-01T00:00:00Z",
        },
    }


op = Group("exports", "researcher", keys.EXPORTS_READ)


@op(
    "GET /v1/interviews/{id}/transcripts",
    "exportTranscripts",
    "Export every session's transcript now, streamed (JSON, CSV or a ZIP)",
    Reply(
        200,
        "A JSON envelope, CSV (one row per message), or with include_audio / "
        "include_pdf a ZIP with transcripts, audio/, pdf/ and manifest.json",
        {"type": "object"},
        also=("text/csv", "application/zip"),
    ),
    errors={404: "No such interview in this workspace"},
    query=(
        params.EXPORT_FORMAT,
        params.INCLUDE_AUDIO,
        params.INCLUDE_PDF,
        params.INCLUDE_TEST,
        params.SESSION_STATUS,
        params.SINCE,
    ),
    description="No session cap: sessions are read a page at a time and written as "
    "they are read, so memory does not grow with their number. Preview (is_test) "
    "sessions are left out unless include_test=true. See docs/exports.md.",
)
async def transcripts(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    services = services_of(request)
    interview_id = call.path["id"]
    fmt = call.query(params.EXPORT_FORMAT) or "json"
    include_audio = call.query(params.INCLUDE_AUDIO)
    include_pdf = call.query(params.INCLUDE_PDF)
    status = call.query(params.SESSION_STATUS)
    async with services.db.connect() as conn:
        await interviews.owned_row(conn, principal.workspace_id, interview_id)
    selection = Selection(
        principal.workspace_id,
        interview_id,
        statuses=(status,) if status else (),
        created_from=call.query(params.SINCE),
        include_test=call.query(params.INCLUDE_TEST),
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


@op(
    "POST /v1/exports",
    "createExport",
    "Start an export job (one interview or the whole workspace)",
    Reply(202, "The export, queued; poll its Location", exports.Export),
    errors={
        404: "No such interview in this workspace",
        409: "The interview is a draft (publish it first)",
    },
    body=ExportCreate,
    body_required=False,
    body_description="Everything is optional: without interview_id the whole "
    "workspace is exported. The result is always a ZIP (transcripts in `format`, "
    "audio unless include_audio is false, PDFs with include_pdf, the interview's latest "
    "synthesis with include_synthesis). anonymize replaces "
    'respondent names with "Participant N" and drops emails and external ids '
    "everywhere, the manifest included. created_from/created_to bound the sessions' "
    "start (ISO 8601; UTC when no offset is given).",
    scope=keys.EXPORTS_WRITE,
)
async def create(call: Call[ExportCreate]) -> Response:
    services = services_of(call.request)
    options = (await call.body()).given()
    row = await exports.create(services.db, call.key.workspace_id, options)
    # Should this fail after the insert, the sweeper's export upkeep queues it again.
    await exports.enqueue(services.jobs, services.settings.job_heartbeat_seconds, row["id"])
    response = Json(exports.to_view(row), status_code=202)
    response.headers["location"] = f"/v1/exports/{row['id']}"
    return response


async def _view(request: Request, row: Mapping[str, Any]) -> exports.Export:
    services = services_of(request)
    view = exports.to_view(row)
    if row["status"] == "succeeded" and row["blob_key"]:
        ttl = services.settings.signed_url_ttl_seconds
        url = await services.blobs.signed_url(row["blob_key"], ttl, filename=f"{row['id']}.zip")
        view.url, view.url_expires_in = absolute(request, url), ttl
    return view


@op(
    "GET /v1/exports",
    "listExports",
    "List the workspace's exports, newest first",
    Reply(200, "One page of exports", ListOf(exports.Export)),
    query=(params.LIMIT, params.CURSOR, params.EXPORT_STATUS, params.EXPORT_INTERVIEW),
    description="Succeeded exports carry a fresh signed link, as GET /v1/exports/{id}.",
)
async def list_(call: Call[None]) -> Response:
    request = call.request
    rows = await exports.list_page(
        services_of(request).db,
        call.key.workspace_id,
        status=call.query(params.EXPORT_STATUS),
        interview_id=call.query(params.EXPORT_INTERVIEW) or None,
        cursor=call.query(params.CURSOR),
        limit=call.query(params.LIMIT),
    )
    return page(rows.of([await _view(request, r) for r in rows.items]))


@op(
    "GET /v1/exports/{id}",
    "getExport",
    "An export's status, progress and counts; a signed link once it succeeded",
    Reply(200, "The export", exports.Export),
    errors={404: "No such export in this workspace"},
    description="After RAPPORT_EXPORT_RETENTION_HOURS its ZIP is deleted and the "
    "export shows status expired, without a link.",
)
async def get(call: Call[None]) -> Response:
    services = services_of(call.request)
    row = await exports.load(services.db, call.path["id"], call.key.workspace_id)
    return Json(await _view(call.request, dict(row._mapping)))


@op(
    "DELETE /v1/exports/{id}",
    "deleteExport",
    "Delete an export and its ZIP",
    Reply(204, "Deleted"),
    errors={
        404: "No such export in this workspace",
        409: "The export is still queued or running; delete it once it has finished",
    },
    scope=keys.EXPORTS_WRITE,
)
async def delete(call: Call[None]) -> Response:
    services = services_of(call.request)
    await exports.remove(services.db, services.blobs, call.key.workspace_id, call.path["id"])
    return Response(status_code=204)


endpoints = op.endpoints
