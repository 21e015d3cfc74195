"""Researcher endpoints for sessions: list, preview, get one, erase, its transcript and files."""

from __future__ import annotations

import msgspec
from starlette.responses import Response

from api.auth import bearer, respondent, services_of
from api.endpoints import Call, Group, ListOf, Reply
from api.responses import Json, page
from api.routes import params
from api.routes.public import Respondent, SessionStartResponse, session_payload
from runtime.access import keys
from runtime.erasure import erase as erasure
from runtime.interviews import service as interviews
from runtime.live import conversation
from runtime.live.eventlog import LiveState
from runtime.sessions import store as sessions
from runtime.sessions import views as session_views


class PreviewSessionStart(Respondent):
    """Optional respondent details for a test session."""


class SessionDetail(session_views.Session, kw_only=True):
    live: LiveState
    usage: session_views.Usage


_404 = {404: "No such session in this workspace"}
op = Group("sessions", "researcher", keys.SESSIONS_READ)


@op(
    "GET /v1/interviews/{id}/sessions",
    "listSessions",
    "List an interview's sessions, newest first or by quality",
    Reply(200, "One page of sessions", ListOf(session_views.Session)),
    errors={404: "No such interview in this workspace"},
    query=(
        params.LIMIT,
        params.CURSOR,
        params.SESSION_STATUS,
        params.SINCE,
        params.INCLUDE_TEST,
        params.SESSION_SORT,
    ),
)
async def list_(call: Call[None]) -> Response:
    request = call.request
    sort = call.query(params.SESSION_SORT) or "created_desc"
    items = await session_views.list_page(
        services_of(request).db,
        call.key.workspace_id,
        call.path["id"],
        status=call.query(params.SESSION_STATUS),
        since=call.query(params.SINCE),
        cursor=call.query(params.CURSOR),
        limit=call.query(params.LIMIT),
        include_test=call.query(params.INCLUDE_TEST),
        sort=sort,
    )
    return page(items)


@op(
    "POST /v1/interviews/{id}/preview-sessions",
    "startPreviewSession",
    "Start a test session on the guide as it is now (drafts too)",
    Reply(201, "A new test session, ready to stream", SessionStartResponse),
    errors={
        404: "No such interview in this workspace",
        409: "The guide has no question yet, or the interview uses engine llm and "
        "no LLM is configured or answering",
    },
    body=PreviewSessionStart,
    body_required=False,
    body_description="Optional respondent details. The session is flagged is_test: "
    "it is left out of session counts and listings (unless include_test=true) and "
    "of exports. A draft's guide is frozen for it as version -guide_rev.",
    scope=keys.SESSIONS_WRITE,
)
async def preview(call: Call[PreviewSessionStart]) -> Response:
    body = (await call.body()).given()
    started = await conversation.start_preview(
        services_of(call.request), call.key.workspace_id, call.path["id"], body
    )
    payload = await session_payload(call.request, started.row["id"], started.token)
    return Json(payload, status_code=201)


@op(
    "GET /v1/sessions/{id}",
    "getSession",
    "Get a session and its live state",
    Reply(200, "The session", SessionDetail),
    errors=_404,
)
async def get(call: Call[None]) -> Response:
    services = services_of(call.request)
    db, workspace = services.db, call.key.workspace_id
    row = await sessions.for_workspace(db, workspace, call.path["id"])
    interview = await interviews.get(db, workspace, row.interview_id)
    live = await services.events.live_state(row.id, row.awaiting == "interviewer")
    usage = await session_views.usage(db, row.id)
    session = msgspec.structs.replace(
        session_views.to_view(row, interview.anonymous),
        quality_index=await session_views.quality_index(db, row.id),
    )
    return Json(SessionDetail(**msgspec.structs.asdict(session), live=live, usage=usage))


@Group("sessions", "session", keys.SESSIONS_DELETE)(
    "DELETE /v1/sessions/{id}",
    "eraseSession",
    "Erase a session everywhere (researcher or the respondent themself)",
    Reply(
        200,
        "Erased (with an API key): what went, and the exports holding it",
        erasure.ErasureReceipt,
    ),
    Reply(204, "Erased (with the session's own token)"),
    errors={
        401: "No API key or session token, or the token is not this session's (an "
        "erased session's token is no longer valid)",
        404: "No such session in this workspace, or it was erased already",
    },
    description="Erases the session for good: its row, messages and files (audio, "
    "PDFs, cached transcripts) and its live state; its open streams end with "
    "`session.deleted`; its webhook deliveries keep their log but lose their data; "
    "answers kept for an Idempotency-Key that concern it are deleted. A "
    "`session.deleted` webhook (ids only) follows. An export ZIP cannot be edited: "
    "`exports_containing` lists the exports whose ZIP holds the session, to be "
    "deleted with DELETE /v1/exports/{id}. The respondent may erase their own "
    "session with its token (CORS-enabled), in progress or finished. See "
    "docs/erasure.md for what is erased and what cannot be.",
)
async def erase(call: Call[None]) -> Response:
    """With an API key (sessions:delete): 200 and the receipt. With the session's own token
    (the respondent, CORS): 204 — the receipt names the researcher's exports."""
    request = call.request
    services = services_of(request)
    session_id = call.path["id"]
    if (bearer(request) or "").startswith(sessions.SESSION_TOKEN_PREFIX):
        # Looked up in SQL, not the token cache: an erased session's token is refused (401).
        await respondent(request, session_id)
        await erasure.erase(services, session_id, erased_by="respondent")
        return Response(status_code=204)
    principal = await call.check_key()
    receipt = await erasure.erase(
        services, session_id, erased_by="api_key", workspace_id=principal.workspace_id
    )
    return Json(receipt)


endpoints = [*op.endpoints, erase]
