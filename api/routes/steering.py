"""Researcher endpoints acting on a live session: steer its interviewer, take over, hand back."""

from __future__ import annotations

from typing import Annotated

from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Fields, Group, ListOf, Reply
from api.responses import Json, page
from api.routes import params
from api.validation import Described, Str
from runtime.access import keys
from runtime.live import steering
from runtime.sessions import steering as instructions
from runtime.sessions.steering import MAX_INSTRUCTION_CHARS, MAX_QUEUED, Steer, SteerMode
from runtime.sessions.takeover import Takeover
from runtime.sessions.views import Message


class SteerIn(Fields):
    """An instruction to the session's interviewer."""

    instruction: Annotated[
        str,
        Described(
            Str(MAX_INSTRUCTION_CHARS, 1),
            f"1 to {MAX_INSTRUCTION_CHARS} characters: what the interviewer should do from its "
            "next turn on (private: never shown or said to the respondent)",
        ),
    ]
    mode: Annotated[
        SteerMode,
        Described(
            Str(20, enum=instructions.STEER_MODES),
            "next_turn (the default): the next turn applies it; now: a turn being written "
            "is written again from its start with it (on another node, from its next lease "
            "renewal)",
        ),
    ] = "next_turn"


class InterviewerMessageIn(Fields):
    """A turn the researcher writes in a taken-over session."""

    content: Annotated[
        str,
        Described(
            Str(steering.MAX_RESEARCHER_TURN_CHARS, 1),
            f"1 to {steering.MAX_RESEARCHER_TURN_CHARS} characters, said to the respondent "
            "as the interviewer's turn",
        ),
    ]


_404 = {404: "No such session in this workspace"}
_NOT_LIVE = "session_not_live: the session has ended"
op = Group("sessions", "researcher", keys.SESSIONS_WRITE)


@op(
    "POST /v1/sessions/{id}/steer",
    "steerSession",
    "Give the session's interviewer an instruction",
    Reply(202, "The instruction, queued for the next turn", Steer),
    body=SteerIn,
    errors={
        **_404,
        409: f"{_NOT_LIVE}; steering_unsupported: the interview's engine is scripted; "
        f"too_many_queued: {MAX_QUEUED} instructions already wait for a turn",
    },
    codes={409: ("session_not_live", "steering_unsupported", "too_many_queued")},
    description="Stored first, then `steer.queued` on the session's log (researchers' "
    "readers only). The next turn puts every queued instruction, in order, in its prompt "
    "and `steer.applied` precedes its `turn.started`; the instruction is `applied` once "
    "that turn is committed. A turn that fails before committing leaves it queued for the "
    "retry. The interviewer is told never to reveal it, and a turn that quotes it anyway "
    "is cut (docs/live-console.md, Steering).",
)
async def steer(call: Call[SteerIn]) -> Response:
    body = await call.body()
    stored = await steering.steer(
        services_of(call.request),
        call.key.workspace_id,
        call.path["id"],
        body.instruction,
        body.mode,
        call.key.key_id,
    )
    return Json(stored, status_code=202)


@op(
    "GET /v1/sessions/{id}/steer",
    "listSteering",
    "List the instructions given to the session's interviewer, newest first",
    Reply(200, "One page of instructions", ListOf(Steer)),
    errors=_404,
    query=(params.LIMIT, params.CURSOR),
    scope=keys.SESSIONS_READ,
)
async def list_(call: Call[None]) -> Response:
    found = await instructions.list_page(
        services_of(call.request).db,
        call.key.workspace_id,
        call.path["id"],
        call.query(params.CURSOR),
        call.query(params.LIMIT),
    )
    return page(found)


@op(
    "POST /v1/sessions/{id}/takeover",
    "takeOverSession",
    "Write the interviewer's turns yourself",
    Reply(200, "The session, taken over (again: unchanged)", Takeover),
    errors={**_404, 409: _NOT_LIVE},
    codes={409: ("session_not_live",)},
    description="The AI writes no turn while the session is taken over: a turn it is "
    "writing stops where it is (on another node at its next lease renewal), "
    "and the respondent's messages are stored and owe it no turn. Post turns with "
    "POST /v1/sessions/{id}/interviewer-messages; `session.takeover` is on the log "
    "(researchers' readers only).",
)
async def take_over(call: Call[None]) -> Response:
    services = services_of(call.request)
    taken = await steering.take_over(
        services, call.key.workspace_id, call.path["id"], call.key.key_id
    )
    return Json(taken)


@op(
    "POST /v1/sessions/{id}/handback",
    "handBackSession",
    "Return the session to the AI interviewer",
    Reply(200, "The session, the AI's again", Takeover),
    errors={**_404, 409: f"{_NOT_LIVE}; not_taken_over: the session is not taken over"},
    codes={409: ("session_not_live", "not_taken_over")},
    description="The AI continues from everything said, the researcher's turns included: "
    "if the respondent's last message is unanswered (turn_owed), its turn starts at "
    "once, else it answers the respondent's next message. `session.handback` is on the "
    "log (researchers' readers only).",
)
async def hand_back(call: Call[None]) -> Response:
    services = services_of(call.request)
    return Json(await steering.hand_back(services, call.key.workspace_id, call.path["id"]))


@op(
    "POST /v1/sessions/{id}/interviewer-messages",
    "postInterviewerMessage",
    "Say an interviewer turn in a taken-over session",
    Reply(201, "The stored turn (author: researcher)", Message),
    body=InterviewerMessageIn,
    errors={**_404, 409: f"{_NOT_LIVE}; not_taken_over: take the session over first"},
    codes={409: ("session_not_live", "not_taken_over")},
    description="Stored as an interviewer message with `author: researcher`, then "
    "streamed to the respondent as `turn.started`, `turn.delta`, `turn.completed` like any "
    "turn. It answers the respondent's unanswered message, or follows the last turn.",
)
async def interviewer_message(call: Call[InterviewerMessageIn]) -> Response:
    body = await call.body()
    services = services_of(call.request)
    turn = await steering.write_turn(services, call.key.workspace_id, call.path["id"], body.content)
    view = Message(
        id=turn.message_id,
        role="interviewer",
        content=turn.content,
        created_at=turn.created_at,
        item_id=turn.item_id,
        turn_id=turn.turn_id,
        move=None,
        answer=None,
        author="researcher",
    )
    return Json(view, status_code=201)


endpoints = op.endpoints
