"""Researcher endpoints for cross-session synthesis: start a run, read the latest report."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from msgspec import UNSET, UnsetType
from starlette.responses import PlainTextResponse, Response

from api.auth import services_of
from api.endpoints import Call, Fields, Group, Reply
from api.responses import Json
from api.routes import params
from api.validation import Bool, Str, StrList
from runtime.access import keys
from runtime.analysis.corpus import Filters
from runtime.analysis.synthesis import engines, reads, records, report_md, report_pdf
from runtime.analysis.synthesis.views import Synthesis
from runtime.analysis.vocabulary import ENGINE_NAMES, EngineName
from runtime.interviews import service as interviews
from runtime.platform.clock import parse
from runtime.platform.errors import Conflict, NotFound
from runtime.vocabulary import SESSION_STATUSES, SessionStatus

BINARY = {"type": "string", "format": "binary"}


class SynthesisCreate(Fields):
    """Which sessions to synthesize, and with which engine; all optional."""

    engine: Annotated[str | UnsetType, Str(20, enum=ENGINE_NAMES)] = UNSET
    statuses: Annotated[
        list[str] | UnsetType,
        StrList(3, Str(20, enum=SESSION_STATUSES), min_items=1, nullable=False, unique=True),
    ] = UNSET
    since: Annotated[str | UnsetType | None, Str(40, 1, nullable=True)] = UNSET
    include_test: Annotated[bool | UnsetType, Bool()] = UNSET

    examples: ClassVar[dict[str, Any]] = {
        "completed": {},
        "recent, offline": {"engine": "offline", "since": "2026-11-01T00:00:00Z"},
    }


op = Group("synthesis", "researcher", keys.SESSIONS_READ)
_404 = {404: "No such interview in this workspace"}


@op(
    "POST /v1/interviews/{id}/synthesis",
    "startSynthesis",
    "Start a synthesis of the interview's sessions (a job)",
    Reply(202, "The synthesis, queued (or the one already under way); poll its Location",
          Synthesis),
    errors={
        **_404,
        400: "A filter is invalid, or engine=llm without an LLM configured",
        409: "The interview is a draft",
    },
    body=SynthesisCreate,
    body_required=False,
    body_description="statuses (default [\"completed\"]), since (sessions started at or "
    "after; ISO 8601), include_test (preview sessions; default false), engine (offline, "
    "or llm: the default when RAPPORT_LLM_BASE_URL or RAPPORT_LLM_API_KEY is set). One "
    "synthesis runs at a time per interview: asking while one is queued or running "
    "answers with that one. A re-run reads only the sessions that are new or changed "
    "since the last (docs/synthesis.md).",
    scope=keys.SESSIONS_WRITE,
)  # fmt: skip
async def start(call: Call[SynthesisCreate]) -> Response:
    services = services_of(call.request)
    body = await call.body()
    given = body.given()
    engine: EngineName = given.get("engine") or engines.default(services.settings)
    engines.check(engine, services.settings)
    statuses: tuple[SessionStatus, ...] = tuple(given.get("statuses") or ("completed",))
    since = given.get("since")
    filters = Filters(
        statuses=statuses,
        since=parse(since, "since") if since else None,
        include_test=bool(given.get("include_test", False)),
    )
    row, _ = await records.create(
        services.db, call.key.workspace_id, call.path["id"], engine, filters
    )
    # Should this fail after the insert, the sweeper's upkeep queues it again.
    await records.enqueue(services.jobs, services.settings.job_heartbeat_seconds, row["id"])
    view = await reads.view(services.db, call.key.workspace_id, row["id"])
    response = Json(view, status_code=202)
    response.headers["location"] = f"/v1/interviews/{call.path['id']}/synthesis"
    return response


@op(
    "GET /v1/interviews/{id}/synthesis",
    "getSynthesis",
    "Get the interview's latest synthesis: its status and progress, or its report",
    Reply(
        200,
        "The latest synthesis as JSON; with format=md or pdf its report as a document",
        Synthesis,
        also=("text/markdown", "application/pdf"),
    ),
    errors={
        **_404,
        409: "format=md or pdf, and no synthesis has completed yet",
    },
    query=(params.SYNTHESIS_FORMAT, params.SYNTHESIS_COMPLETED),
    description="The newest run whatever its status (queued, running with progress, "
    "completed, failed), or with completed=true the newest completed one. Themes carry "
    "only verified quotes: each found in a stored respondent message, with its offsets "
    "(docs/synthesis.md). 404 when the interview was never synthesized.",
)
async def latest(call: Call[None]) -> Response:
    services = services_of(call.request)
    workspace_id, interview_id = call.key.workspace_id, call.path["id"]
    fmt = call.query(params.SYNTHESIS_FORMAT) or "json"
    completed_only = fmt != "json" or call.query(params.SYNTHESIS_COMPLETED)
    async with services.db.connect() as conn:
        interview = await interviews.owned_row(conn, workspace_id, interview_id)
    view = await reads.latest(
        services.db, workspace_id, interview_id, completed_only=completed_only
    )
    if view is None:
        if fmt != "json":
            raise Conflict(f"no synthesis of {interview_id} has completed yet")
        raise NotFound(f"interview {interview_id} was never synthesized")
    if fmt == "json":
        return Json(view)
    name = f"{interview_id}-synthesis"
    if fmt == "md":
        text = report_md.markdown(view, interview.title)
        return PlainTextResponse(
            text,
            media_type="text/markdown; charset=utf-8",
            headers={"content-disposition": f'inline; filename="{name}.md"'},
        )
    document = await report_pdf.render(view, interview.title, services.settings.pdf_font_dirs)
    return Response(
        document,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{name}.pdf"'},
    )


endpoints = op.endpoints
