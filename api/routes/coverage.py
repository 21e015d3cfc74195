"""Researcher endpoints for coverage: a session's per guide item, an interview's across sessions."""

from __future__ import annotations

from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Group, Reply
from api.responses import Json
from api.routes import params
from runtime.access import keys
from runtime.coverage import reads as coverage
from runtime.coverage.views import InterviewCoverage, SessionCoverage

# The scope of the sessions it is read from, like GET /v1/interviews/{id}/sessions.
op = Group("sessions", "researcher", keys.SESSIONS_READ)


@op(
    "GET /v1/sessions/{id}/coverage",
    "getSessionCoverage",
    "Get where a session stands on each guide item",
    Reply(200, "The session's coverage of its guide version", SessionCoverage),
    errors={404: "No such session in this workspace"},
    description="Per guide item of the session's own guide version, in order: its status "
    "(not_started, asked, answered, probed, skipped, unresolved), the resolved value, "
    "probes and re-asks used, and the messages involved; plus summary counts. The rules "
    "are in docs/coverage.md.",
)
async def session(call: Call[None]) -> Response:
    db = services_of(call.request).db
    return Json(await coverage.for_session(db, call.key.workspace_id, call.path["id"]))


@op(
    "GET /v1/interviews/{id}/coverage",
    "getInterviewCoverage",
    "Get an interview's coverage across its sessions",
    Reply(200, "Per guide item: sessions per status, and answer distributions", InterviewCoverage),
    errors={404: "No such interview in this workspace"},
    query=(params.INCLUDE_TEST,),
    description="Each session counts against its own frozen guide version. Per item: "
    "sessions per coverage status; for multiple_choice items every option's count, for "
    "rating items every number's, with the mean and median; unresolved answers counted "
    "apart. Preview (is_test) sessions are left out unless include_test=true. See "
    "docs/coverage.md.",
)
async def interview(call: Call[None]) -> Response:
    db = services_of(call.request).db
    include_test = call.query(params.INCLUDE_TEST)
    view = await coverage.for_interview(db, call.key.workspace_id, call.path["id"], include_test)
    return Json(view)


endpoints = op.endpoints
