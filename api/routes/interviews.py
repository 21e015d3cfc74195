"""Researcher endpoints for interviews: CRUD, duplicate, lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Fields, Group, ListOf, Reply
from api.responses import Json, page
from api.routes import params
from api.validation import Bool, Described, Int, Language, Num, Str, StrList
from runtime.access import keys
from runtime.engines import readiness as engine_readiness
from runtime.erasure import erase as erasure
from runtime.erasure import retention
from runtime.interviews import service as interviews
from runtime.interviews import voice
from runtime.platform.views import Meta
from runtime.vocabulary import MODALITIES

_ENGINE = Str(20, enum=interviews.ENGINES)
_RETENTION = Int(retention.MIN_DAYS, retention.MAX_DAYS, nullable=True)
_MODES = Described(
    StrList(len(MODALITIES), Str(10, enum=MODALITIES), min_items=1, nullable=False, unique=True),
    'How respondents may take part: ["text"] (the default), ["voice"] or ["text", "voice"]',
)
_VOICE = Described(
    Str(
        voice.VOICE_NAME_CHARS,
        1,
        nullable=True,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._+/-]*$",
        pattern_says="a voice name: letters, digits and . _ + / -",
    ),
    "The interviewer's voice: a voice of the deployment's synthesizer (espeak-ng: en-us, fr, "
    "de, …; OpenAI-compatible: alloy, af_bella, …); null: the deployment's default",
)
_RATE = Described(
    Num(*voice.SPEAKING_RATE), "The interviewer's pace: 1.0 normal (the default), 0.5 to 2.0"
)
_EAGERNESS = Described(
    Str(20, enum=voice.EAGERNESS),
    "How soon silence ends the respondent's spoken turn: relaxed (1.2 s), normal (0.7 s, "
    "the default), brisk (0.4 s)",
)
_IDLE = Described(
    Int(*voice.IDLE_REPROMPT_SECONDS, nullable=True),
    "Seconds of silence before the interviewer prompts a quiet respondent again (default "
    "15); null: never",
)
_RECORD = Described(
    Bool(),
    "Keep a stereo recording of the whole voice session (default false); each turn's own "
    "audio is kept either way",
)

_PARTICIPANTS = Described(
    Int(1, interviews.MAX_PARTICIPANTS_NEEDED, nullable=True),
    "Close the interview by itself once this many non-test sessions have completed "
    f"(1 to {interviews.MAX_PARTICIPANTS_NEEDED}); null (the default): never",
)
_SATURATED = Described(
    Bool(),
    "Close the interview by itself when a completed session makes GET …/saturation say "
    "saturated (default false)",
)


class InterviewUpdate(Fields):
    """An interview's settings; PATCH changes only the fields given."""

    title: Annotated[str | UnsetType, Str(200, 1)] = UNSET
    goal: Annotated[str | UnsetType, Str(4000)] = UNSET
    context: Annotated[str | UnsetType, Str(20000)] = UNSET
    tone: Annotated[str | UnsetType, Str(200)] = UNSET
    language: Annotated[str | UnsetType, Language()] = UNSET
    welcome_message: Annotated[str | UnsetType, Str(4000)] = UNSET
    closing_message: Annotated[str | UnsetType, Str(4000)] = UNSET
    engine: Annotated[str | UnsetType, _ENGINE] = UNSET
    max_duration_minutes: Annotated[int | UnsetType | None, Int(1, 1440, nullable=True)] = UNSET
    max_turns: Annotated[int | UnsetType | None, Int(2, 1000, nullable=True)] = UNSET
    anonymous: Annotated[bool | UnsetType, Bool()] = UNSET
    model: Annotated[str | UnsetType | None, Str(200, 1, nullable=True)] = UNSET
    temperature: Annotated[float | UnsetType | None, Num(0, 2, nullable=True)] = UNSET
    retention_days: Annotated[int | UnsetType | None, _RETENTION] = UNSET
    participants_needed: Annotated[int | UnsetType | None, _PARTICIPANTS] = UNSET
    close_when_saturated: Annotated[bool | UnsetType, _SATURATED] = UNSET
    modes: Annotated[list[str] | UnsetType, _MODES] = UNSET
    voice: Annotated[str | UnsetType | None, _VOICE] = UNSET
    speaking_rate: Annotated[float | UnsetType, _RATE] = UNSET
    eagerness: Annotated[str | UnsetType, _EAGERNESS] = UNSET
    idle_reprompt_seconds: Annotated[int | UnsetType | None, _IDLE] = UNSET
    record_session: Annotated[bool | UnsetType, _RECORD] = UNSET


class InterviewCreate(InterviewUpdate, kw_only=True):
    """A new interview: a title, and any other settings (the rest take their defaults)."""

    # Redeclared without a default: the one required field (msgspec keeps the field's place).
    title: Annotated[str, Str(200, 1)]


# The runtime's view and the respondent link, which only the API knows how to spell.
class Interview(interviews.Interview):
    """An interview: its settings, lifecycle, session counts and respondent link"""

    share_url: Annotated[
        str,
        Meta(
            description="The respondent link (`/i/{share_token}`)",
            extra_json_schema={"format": "uri"},
        ),
    ]


def with_links(request: Request, view: interviews.Interview) -> Interview:
    base = services_of(request).settings.public_base_url or str(request.base_url).rstrip("/")
    return Interview(**msgspec.structs.asdict(view), share_url=f"{base}/i/{view.share_token}")


def _check_retention(principal: keys.Principal, fields: dict[str, Any]) -> None:
    # Retention erases sessions for good: setting it takes the scope erasing them takes.
    if "retention_days" in fields:
        principal.require(keys.SESSIONS_DELETE)


_404 = {404: "No such interview in this workspace"}
op = Group("interviews", "researcher", keys.INTERVIEWS_WRITE)


@op(
    "POST /v1/interviews",
    "createInterview",
    "Create an interview (a draft)",
    Reply(201, "The new interview", Interview),
    body=InterviewCreate,
)
async def create(call: Call[InterviewCreate]) -> Response:
    fields = (await call.body()).given()
    _check_retention(call.key, fields)
    view = await interviews.create(services_of(call.request).db, call.key.workspace_id, fields)
    return Json(with_links(call.request, view), status_code=201)


@op(
    "GET /v1/interviews",
    "listInterviews",
    "List interviews, newest first",
    Reply(200, "One page of interviews", ListOf(Interview)),
    query=(params.LIMIT, params.CURSOR, params.INTERVIEW_STATUS),
    scope=keys.INTERVIEWS_READ,
)
async def list_(call: Call[None]) -> Response:
    request = call.request
    items = await interviews.list_page(
        services_of(request).db,
        call.key.workspace_id,
        status=call.query(params.INTERVIEW_STATUS),
        cursor=call.query(params.CURSOR),
        limit=call.query(params.LIMIT),
    )
    return page(items.map(lambda v: with_links(request, v)))


@op(
    "GET /v1/interviews/{id}",
    "getInterview",
    "Get an interview",
    Reply(200, "The interview", Interview),
    errors=_404,
    scope=keys.INTERVIEWS_READ,
)
async def get(call: Call[None]) -> Response:
    view = await interviews.get(
        services_of(call.request).db, call.key.workspace_id, call.path["id"]
    )
    return Json(with_links(call.request, view))


@op(
    "PATCH /v1/interviews/{id}",
    "updateInterview",
    "Update an interview's settings (only the fields given)",
    Reply(200, "The updated interview", Interview),
    errors={
        **_404,
        409: "The interview is closed, or an active or paused interview is switched "
        "to engine llm while no LLM is configured or answering",
    },
    body=InterviewUpdate,
)
async def update(call: Call[InterviewUpdate]) -> Response:
    fields = (await call.body()).given()
    principal = call.key
    _check_retention(principal, fields)
    services = services_of(call.request)
    await engine_readiness.require_for_update(
        services.db, services.llm_upstream, principal.workspace_id, call.path["id"], fields
    )
    view = await interviews.update_fields(
        services.db, principal.workspace_id, call.path["id"], fields
    )
    return Json(with_links(call.request, view))


@op(
    "DELETE /v1/interviews/{id}",
    "deleteInterview",
    "Delete a draft interview",
    Reply(204, "Deleted"),
    errors={**_404, 409: "Only a draft can be deleted"},
)
async def delete(call: Call[None]) -> Response:
    await erasure.delete_draft(services_of(call.request), call.key.workspace_id, call.path["id"])
    return Response(status_code=204)


@op(
    "POST /v1/interviews/{id}/duplicate",
    "duplicateInterview",
    "Copy an interview and its current guide into a new draft",
    Reply(201, "The copy (a draft)", Interview),
    errors=_404,
)
async def duplicate(call: Call[None]) -> Response:
    view = await interviews.duplicate(
        services_of(call.request).db, call.key.workspace_id, call.path["id"]
    )
    return Json(with_links(call.request, view), status_code=201)


def _transition(action: str, sources: tuple[str, ...], target: str) -> None:
    conflict = f"The interview is not {' or '.join(sources)}"
    description = ""
    if action == "publish":
        conflict += (
            ", or its guide has no questions, or it uses engine llm and no LLM is "
            "configured or answering (field engine)"
        )
        description = (
            "Publishing freezes the guide as a new version; sessions keep the version "
            "they started on."
        )

    async def endpoint(call: Call[None]) -> Response:
        services = services_of(call.request)
        workspace, interview_id = call.key.workspace_id, call.path["id"]
        if action == "publish":
            await engine_readiness.require_interview_engine(
                services.db, services.llm_upstream, workspace, interview_id
            )
        view = await interviews.transition(services.db, workspace, interview_id, action)
        return Json(with_links(call.request, view))

    endpoint.__name__ = action
    op(
        f"POST /v1/interviews/{{id}}/{action}",
        f"{action}Interview",
        f"{action.capitalize()} an interview ({' or '.join(sources)} → {target})",
        Reply(200, f"The interview, now {target}", Interview),
        errors={**_404, 409: conflict},
        description=description,
    )(endpoint)


for _action, (_sources, _target) in interviews.TRANSITIONS.items():
    _transition(_action, _sources, _target)

endpoints = op.endpoints
