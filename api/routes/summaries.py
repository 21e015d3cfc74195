"""Researcher endpoint for a session's summary and quality metrics."""

from __future__ import annotations

from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Group, Reply
from api.responses import Json
from runtime.access import keys
from runtime.analysis.summaries import reads as summaries
from runtime.analysis.summaries.views import SessionSummary

# The scope of the sessions it is read from, like GET /v1/sessions/{id}/coverage.
op = Group("sessions", "researcher", keys.SESSIONS_READ)


@op(
    "GET /v1/sessions/{id}/summary",
    "getSessionSummary",
    "Get a session's summary and quality metrics",
    Reply(
        200, "The session's extractive summary and deterministic quality numbers", SessionSummary
    ),
    errors={404: "No such session in this workspace"},
    description="An overview and key points (the respondent's most informative sentences, "
    "verbatim, each citing its message ids and guide item), and quality metrics that are "
    "deterministic numbers: turns, words, respondent talk share, guide coverage, probes "
    "used, thin-answer rate, stacked and leading questions (with the message ids), median "
    "answer words, duration, and a quality_index used to sort sessions. Computed offline "
    "when the session ends, and again here when its messages changed since; `judged` (an "
    "LLM judge's block) is null until one is asked. The rules are in docs/synthesis.md.",
)
async def session(call: Call[None]) -> Response:
    db = services_of(call.request).db
    return Json(await summaries.for_session(db, call.key.workspace_id, call.path["id"]))


endpoints = op.endpoints
