"""Researcher endpoint for a session's summary and quality metrics."""

from __future__ import annotations

from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Group, Reply
from api.responses import Json
from api.routes import params
from runtime.access import keys
from runtime.analysis.summaries import reads as summaries
from runtime.analysis.summaries.views import SessionSummary
from runtime.engines import upstream
from runtime.platform.errors import ValidationError

# The scope of the sessions it is read from, like GET /v1/sessions/{id}/coverage.
op = Group("sessions", "researcher", keys.SESSIONS_READ)


@op(
    "GET /v1/sessions/{id}/summary",
    "getSessionSummary",
    "Get a session's summary and quality metrics",
    Reply(
        200, "The session's extractive summary and deterministic quality numbers", SessionSummary
    ),
    errors={
        404: "No such session in this workspace",
        400: "judge=true without an LLM configured",
        502: "judge=true and the LLM failed, or answered no well-formed card",
    },
    query=(params.JUDGE,),
    description="An overview and key points (the respondent's most informative sentences, "
    "verbatim, each citing its message ids and guide item), and quality metrics that are "
    "deterministic numbers: turns, words, respondent talk share, guide coverage, probes "
    "used, thin-answer rate, stacked and leading questions (with the message ids), median "
    "answer words, duration, and a quality_index used to sort sessions. Computed offline "
    "when the session ends, and again here when its messages changed since; `judged` (an "
    "LLM judge's card) is null until asked for with judge=true: the configured LLM scores "
    "coherence, adaptiveness and comfort (1 to 4) and counts leading and unclear questions, "
    "once per version of the transcript. The rules are in docs/synthesis.md.",
)
async def session(call: Call[None]) -> Response:
    services = services_of(call.request)
    workspace_id, session_id = call.key.workspace_id, call.path["id"]
    if not call.query(params.JUDGE):
        return Json(await summaries.for_session(services.db, workspace_id, session_id))
    if not upstream.configured(services.settings):
        # A card asked for earlier is still shown; a new one needs the model.
        summary = await summaries.for_session(services.db, workspace_id, session_id)
        if summary.judged is None:
            raise ValidationError(f"judge=true needs an LLM: {upstream.SETUP}", field="judge")
        return Json(summary)
    model = services.settings.llm_model
    return Json(
        await summaries.judged(services.db, workspace_id, session_id, services.llm_client, model)
    )


endpoints = op.endpoints
