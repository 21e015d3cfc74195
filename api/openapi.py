"""The OpenAPI 3.1 document, assembled from what the API declares rather than kept by hand.

Request bodies are the `Body` declarations that the route modules validate with, published
under components/schemas by `Body.name`. Response schemas are declared once here from the
runtime's view functions, with enums taken from the runtime's own constants; the live events
are read from the event dataclasses. Each operation is one `Operation` row below; the tests
check that these rows and the application's routes are the same set, and that real
responses match the schemas.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from api import errors as api_errors
from api.middleware import PUBLIC_PATHS, REQUEST_ID
from api.routes import guide as guide_routes
from api.routes import interviews as interview_routes
from api.routes import public as public_routes
from api.validation import Body
from runtime import events, interviews, keys, sessions
from runtime import guide as guides
from runtime.errors import (
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationError,
)
from runtime.settings import Settings

OPENAPI_VERSION = "3.1.0"
API_VERSION = "0.1.0"

Schema = dict[str, Any]


# --- schema building blocks ------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def string(description: str = "", nullable: bool = False, **extra: Any) -> Schema:
    out: Schema = {"type": ["string", "null"] if nullable else "string", **extra}
    if description:
        out["description"] = description
    return out


def integer(description: str = "", nullable: bool = False, **extra: Any) -> Schema:
    out: Schema = {"type": ["integer", "null"] if nullable else "integer", **extra}
    if description:
        out["description"] = description
    return out


def boolean(description: str = "") -> Schema:
    return {"type": "boolean", "description": description} if description else {"type": "boolean"}


def enum(values: tuple[str, ...], description: str = "", nullable: bool = False) -> Schema:
    out = string(description, nullable)
    out["enum"] = [*values, None] if nullable else list(values)
    return out


def timestamp(description: str = "", nullable: bool = False) -> Schema:
    """A UTC timestamp as the API writes it: RFC 3339 with a trailing Z (runtime.clock.iso)."""
    text = description or "UTC timestamp (RFC 3339, always ending in Z)"
    return string(text, nullable, format="date-time", pattern="Z$")


def array(items: Schema, description: str = "", nullable: bool = False) -> Schema:
    out: Schema = {"type": ["array", "null"] if nullable else "array", "items": items}
    if description:
        out["description"] = description
    return out


def obj(
    properties: Mapping[str, Schema],
    description: str = "",
    *,
    optional: tuple[str, ...] = (),
    nullable: bool = False,
) -> Schema:
    """An object the API writes: every property present unless listed in `optional`."""
    out: Schema = {
        "type": ["object", "null"] if nullable else "object",
        "additionalProperties": False,
        "properties": dict(properties),
        "required": [name for name in properties if name not in optional],
    }
    if description:
        out["description"] = description
    return out


def page_of(item: str) -> Schema:
    return obj(
        {
            "items": array(ref(item)),
            "next_cursor": string(
                "Pass as `cursor` to get the next page; null on the last page", nullable=True
            ),
            "has_more": boolean("True exactly when next_cursor is not null"),
        },
        f"One page of {item} objects, newest first",
    )


def _python_type(annotation: Any) -> Schema:
    """JSON Schema for the field types that event dataclasses use."""
    simple = {str: "string", int: "integer", bool: "boolean", float: "number"}
    if annotation in simple:
        return {"type": simple[annotation]}
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = next(a for a in args if a is not type(None))
        if inner in simple:
            return {"type": [simple[inner], "null"]}
    raise TypeError(f"no JSON Schema mapping for {annotation!r}")


def _event_classes() -> list[type[events.SessionEvent]]:
    return list(events.SessionEvent.__subclasses__())


# --- response schemas ------------------------------------------------------------------

STREAM_ID = "^[0-9]+-[0-9]+$"
# Where a reader may resume: an event id, or "0" (the default) for the whole log.
RESUME_FROM = "^[0-9]+(-[0-9]+)?$"
EVENT_NOTES = {
    "session.started": "the session exists; the interviewer's first turn is owed",
    "turn.started": "the interviewer started a turn (`item_id` is the guide item it is on)",
    "turn.delta": "the next piece of the turn's text; the deltas of a turn concatenate to "
    "its content",
    "turn.completed": "the turn is complete and durable (it is in the transcript); the "
    "respondent may answer now",
    "respondent.message": "a respondent message was stored; the interviewer's turn is owed",
    "session.state": "the session's status changed without an interviewer turn, e.g. "
    "`abandoned` after `idle_timeout`; the stream ends after a terminal status",
    "session.completed": "the session ended (`reason`: finished, ended_by_respondent, …); "
    "the stream ends after it",
}


def _event_schemas() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    mapping: dict[str, str] = {}
    for cls in _event_classes():
        hints = typing.get_type_hints(cls)
        data = obj({f.name: _python_type(hints[f.name]) for f in dataclasses.fields(cls)})
        name = f"{cls.__name__}Event"
        out[name] = obj(
            {
                "id": string("Event id (the Redis Stream id): resume after it", pattern=STREAM_ID),
                "event": {"const": cls.type},
                "data": data,
            },
            f"`{cls.type}`: {EVENT_NOTES.get(cls.type, 'a live session event')}",
        )
        mapping[cls.type] = f"#/components/schemas/{name}"
    out["StreamEvent"] = {
        "description": "One event of a session's ordered log, as sent over SSE (`id`, `event` "
        "and JSON `data` fields) and as a WebSocket text frame (this JSON object)",
        "oneOf": [{"$ref": target} for target in mapping.values()],
        "discriminator": {"propertyName": "event", "mapping": mapping},
    }
    return out


def _error_codes() -> list[str]:
    def walk(cls: type[DomainError]) -> Iterator[type[DomainError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    codes = {DomainError.code, *(c.code for c in walk(DomainError))}
    codes.update(api_errors.HTTP_CODES.values())
    return sorted(codes)


def response_schemas() -> dict[str, Schema]:
    session_counts = obj(
        {
            "total": integer("All non-test sessions", minimum=0),
            **{
                s: integer(f"Sessions that are {s}", minimum=0) for s in interviews.SESSION_STATUSES
            },
        },
        "Session counts by status (test sessions are not counted)",
    )
    interview_settings = {
        "max_duration_minutes": integer(nullable=True, minimum=1),
        "max_turns": integer(nullable=True, minimum=2),
        "anonymous": boolean("Respondent identity is not kept or shown"),
    }
    scale = obj(
        {
            "min": integer(minimum=0, maximum=100),
            "max": integer(minimum=0, maximum=100),
            "min_label": string(nullable=True),
            "max_label": string(nullable=True),
        },
        "The rating scale (rating questions only; defaults 1 to 5)",
        nullable=True,
    )
    respondent = obj(
        {
            "name": string(nullable=True),
            "email": string(nullable=True),
            "external_id": string(nullable=True),
        },
        "Who answered; null when the interview is anonymous",
        nullable=True,
    )
    stream_links = {
        "events_url": string(
            "SSE stream URL with a signed ticket in the query string", format="uri"
        ),
        "ws_url": string("WebSocket URL with a signed ticket in the query string", format="uri"),
        "ticket_expires_in": integer("Seconds until the ticket in both URLs expires", minimum=1),
    }
    session_status = enum(interviews.SESSION_STATUSES)
    session: dict[str, Schema] = {
        "id": string(),
        "interview_id": string(),
        "status": session_status,
        "guide_version": integer("The guide version the session runs on", minimum=0),
        "respondent": respondent,
        "is_test": boolean(),
        "ended_reason": string(
            "Why it ended: finished, ended_by_respondent, idle_timeout; null while live",
            nullable=True,
        ),
        "current_item_id": string("The guide item the interviewer is on", nullable=True),
        "created_at": timestamp(),
        "last_activity_at": timestamp(),
        "completed_at": timestamp(nullable=True),
    }
    event_types = tuple(cls.type for cls in _event_classes())
    error_body = obj(
        {
            "code": enum(tuple(_error_codes()), "Stable error code"),
            "message": string("What went wrong, for a person"),
            "field": string("The request field at fault, when there is one"),
        },
        optional=("field",),
    )
    return {
        "Interview": obj(
            {
                "id": string(),
                "title": string(),
                "goal": string(),
                "context": string(),
                "tone": string(),
                "language": string("BCP 47 language tag"),
                "welcome_message": string(),
                "closing_message": string(),
                "engine": enum(interviews.ENGINES),
                **interview_settings,
                "status": enum(interviews.STATUSES),
                "share_token": string("The token in the respondent link"),
                "guide_version": integer(
                    "The latest published guide version (0 before publishing)", minimum=0
                ),
                "created_at": timestamp(),
                "updated_at": timestamp(),
                "session_counts": session_counts,
                "share_url": string("The respondent link (`/i/{share_token}`)", format="uri"),
            }
        ),
        "InterviewList": page_of("Interview"),
        "Item": obj(
            {
                "id": string("Q1… for questions, T1… for tasks", pattern="^[QT][0-9]+$"),
                "kind": enum(("question", "task")),
                "text": string(),
                "question_type": enum(guides.QUESTION_TYPES),
                "options": array(
                    string(), "The choices (multiple_choice questions only)", nullable=True
                ),
                "scale": scale,
                "follow_up": string("The probe used when an answer is thin", nullable=True),
                "instructions": string(nullable=True),
                "probe_budget": integer(minimum=0, maximum=guides.MAX_PROBE_BUDGET),
                "required": boolean(),
            }
        ),
        "Section": obj(
            {
                "id": string("S1, S2, …", pattern="^S[0-9]+$"),
                "title": string(),
                "items": array(ref("Item")),
            }
        ),
        "Guide": obj(
            {
                "interview_id": string(),
                "version": integer(
                    "The published version; edits to a published interview publish a new one",
                    minimum=0,
                ),
                "sections": array(ref("Section")),
            },
            "The study guide; every guide edit answers with the whole guide",
        ),
        "Session": obj(session),
        "SessionDetail": obj(
            {
                **session,
                "live": obj(
                    {
                        "last_event_id": string(nullable=True),
                        "last_event": enum(event_types, nullable=True),
                        "turn_in_progress": boolean(
                            "The interviewer owes or is writing a turn right now"
                        ),
                    },
                    "The live stream at a glance (null fields once the event log has expired)",
                ),
            }
        ),
        "SessionList": page_of("Session"),
        "Message": obj(
            {
                "id": string(),
                "role": enum(("interviewer", "respondent")),
                "content": string(),
                "created_at": timestamp(),
                "item_id": string("The guide item the message belongs to", nullable=True),
                "turn_id": string("The interviewer turn (t1, t2, …)", nullable=True),
            }
        ),
        "Transcript": obj(
            {
                "session_id": string(),
                "interview_id": string(),
                "status": session_status,
                "messages": array(ref("Message"), "Every committed message, in order"),
            }
        ),
        "PublicInterview": obj(
            {
                "title": string(),
                "language": string(),
                "status": enum(interviews.STATUSES),
                "accepting_sessions": boolean("True when the interview is active"),
                "anonymous": boolean(),
            },
            "What the respondent page needs before starting",
        ),
        "StreamLinks": obj(stream_links, "Fresh stream URLs for a session"),
        "SessionStartResponse": obj(
            {
                "session_id": string(),
                "session_token": string(
                    "Bearer token for the respondent endpoints; keep it to resume",
                    pattern=f"^{sessions.SESSION_TOKEN_PREFIX}",
                ),
                "status": session_status,
                "messages": array(ref("Message"), "What was said so far (empty when new)"),
                "created_at": timestamp(),
                **stream_links,
            }
        ),
        "MessageAccepted": obj(
            {
                "message_id": string(),
                "client_message_id": string(),
                "duplicate": boolean(
                    "True when this client_message_id was already stored: nothing new "
                    "happened and message_id is the original message's"
                ),
            }
        ),
        "SessionEnded": obj({"session_id": string(), "status": session_status}),
        "Error": obj({"error": error_body}),
        "Health": obj({"status": {"const": "ok"}}),
        "Ready": obj(
            {
                "status": enum(("ready", "unavailable")),
                "checks": obj(
                    {
                        "sql": string("ok, or error: <type>"),
                        "redis": string("ok, or error: <type>"),
                    }
                ),
            }
        ),
        **_event_schemas(),
        "WsClientFrame": {
            "description": "What a WebSocket client may send (JSON text frames)",
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": "resume"},
                        "last_event_id": string(pattern=RESUME_FROM),
                    },
                    "required": ["type"],
                    "description": "Replay from after this event id (from the start if absent)",
                },
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": "message"},
                        "content": string(minLength=1),
                        "client_message_id": string(minLength=1, maxLength=200),
                    },
                    "required": ["type", "content", "client_message_id"],
                    "description": "Respondent message, idempotent by client_message_id "
                    "(respondent connections only)",
                },
                {
                    "type": "object",
                    "properties": {"type": {"const": "end"}},
                    "required": ["type"],
                    "description": "End the session (respondent connections only)",
                },
                {
                    "type": "object",
                    "properties": {"type": {"const": "ping"}},
                    "required": ["type"],
                },
            ],
        },
        "WsServerFrame": {
            "description": "What the server sends over the WebSocket (JSON text frames)",
            "oneOf": [
                ref("StreamEvent"),
                obj(
                    {
                        "type": {"const": "ack"},
                        "client_message_id": string(),
                        "message_id": string(),
                        "duplicate": boolean(),
                    },
                    "A message frame was accepted",
                ),
                obj({"type": {"const": "ack"}, "ended": {"const": True}}, "The session ended"),
                obj({"type": {"const": "pong"}}),
                obj({"type": {"const": "error"}, "error": error_body}, "A frame was refused"),
            ],
        },
    }


# --- operations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    description: str
    schema: str | Schema | None = None  # a component name, an inline schema, or no body
    media: str = "application/json"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    auth: str  # researcher | respondent | stream | public
    replies: tuple[Reply, ...]
    # Error statuses beyond the automatic ones (400 with a body or query, 401 when
    # authenticated, 413 when a body may be sent, 500 always), or a specific description.
    errors: Mapping[int, str] = field(default_factory=dict)
    body: Body | None = None
    body_required: bool = True
    body_description: str = ""
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    description: str = ""
    websocket: bool = False


SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "researcher": [{"apiKey": []}],
    "respondent": [{"sessionToken": []}],
    "stream": [{"ticket": []}, {"sessionToken": []}, {"apiKey": []}],
    "public": [],
}
ERROR_RESPONSES: dict[int, tuple[str, type[DomainError] | None, str]] = {
    400: ("BadRequest", ValidationError, "The request is not valid (validation_error)"),
    401: ("Unauthorized", Unauthorized, "Missing or invalid credentials (unauthorized)"),
    404: ("NotFound", NotFound, "No such resource in this workspace (not_found)"),
    409: ("Conflict", Conflict, "Not allowed in the resource's current state (conflict)"),
    413: ("PayloadTooLarge", PayloadTooLarge, "The body is over the size limit"),
    500: ("InternalError", None, "Unexpected server error, logged with the request id"),
}
PATH_PARAMS = {
    "share_token": "The interview's share token (from `share_url`)",
    "section_id": "Section id, e.g. S1",
    "item_id": "Guide item id: Q1… for questions, T1… for tasks",
}


def _id_description(path: str) -> str:
    return "Session id" if path.startswith("/v1/sessions/") else "Interview id"


class _Group:
    """Declares the operations of one tag that share an authentication."""

    def __init__(self, tag: str, auth: str) -> None:
        self.tag = tag
        self.auth = auth

    def __call__(
        self, route: str, operation_id: str, summary: str, *replies: Reply, **more: Any
    ) -> Operation:
        method, path = route.split(" ", 1)
        return Operation(
            method.lower(), path, operation_id, summary, self.tag, self.auth, replies, **more
        )


def operations() -> list[Operation]:
    ops = (
        *_operations_interviews(),
        *_operations_guide(),
        *_operations_sessions(),
        *_operations_respondent(),
        *_operations_streams(),
    )
    return [*ops, *_operations_other()]


def _operations_other() -> list[Operation]:
    ops = _Group("operations", "public")
    page = _Group("pages", "public")
    return [
        ops("GET /healthz", "healthz", "Liveness", Reply(200, "The process is up", "Health")),
        ops(
            "GET /readyz",
            "readyz",
            "Readiness of SQL and Redis",
            Reply(200, "SQL and Redis answer", "Ready"),
            Reply(503, "SQL or Redis does not answer", "Ready"),
        ),
        ops(
            "GET /v1/openapi.json",
            "openapi",
            "This OpenAPI document",
            Reply(200, "The OpenAPI 3.1 document", {"type": "object"}),
        ),
        page(
            "GET /i/{share_token}",
            "respondentPage",
            "The respondent page (HTML)",
            Reply(200, "The page; it loads the interview itself", {"type": "string"}, "text/html"),
            description="Served for any token: the page reports an unknown link itself.",
        ),
    ]


_INTERVIEW_404 = {404: "No such interview in this workspace"}
_SESSION_404 = {404: "No such session in this workspace"}
_GUIDE_ERRORS = {
    404: "No such interview in this workspace, or no such section/item in its guide",
    409: "The interview is closed, or the guide is being edited concurrently",
}
_NOT_THIS_SESSION = {401: "The session token is missing or not this session's"}


def _operations_interviews() -> list[Operation]:
    op = _Group("interviews", "researcher")
    ops = [
        op(
            "POST /v1/interviews",
            "createInterview",
            "Create an interview (a draft)",
            Reply(201, "The new interview", "Interview"),
            body=interview_routes.INTERVIEW_CREATE,
        ),
        op(
            "GET /v1/interviews",
            "listInterviews",
            "List interviews, newest first",
            Reply(200, "One page of interviews", "InterviewList"),
            query=("Limit", "Cursor", "InterviewStatus"),
        ),
        op(
            "GET /v1/interviews/{id}",
            "getInterview",
            "Get an interview",
            Reply(200, "The interview", "Interview"),
            errors=_INTERVIEW_404,
        ),
        op(
            "PATCH /v1/interviews/{id}",
            "updateInterview",
            "Update an interview's settings (only the fields given)",
            Reply(200, "The updated interview", "Interview"),
            errors={**_INTERVIEW_404, 409: "The interview is closed"},
            body=interview_routes.INTERVIEW_UPDATE,
        ),
        op(
            "DELETE /v1/interviews/{id}",
            "deleteInterview",
            "Delete a draft interview",
            Reply(204, "Deleted"),
            errors={**_INTERVIEW_404, 409: "Only a draft can be deleted"},
        ),
        op(
            "POST /v1/interviews/{id}/duplicate",
            "duplicateInterview",
            "Copy an interview and its current guide into a new draft",
            Reply(201, "The copy (a draft)", "Interview"),
            errors=_INTERVIEW_404,
        ),
    ]
    for action, (sources, target) in interviews.TRANSITIONS.items():
        conflict = f"The interview is not {' or '.join(sources)}"
        description = ""
        if action == "publish":
            conflict += ", or its guide has no questions"
            description = (
                "Publishing freezes the guide as a new version; sessions keep the version "
                "they started on."
            )
        ops.append(
            op(
                f"POST /v1/interviews/{{id}}/{action}",
                f"{action}Interview",
                f"{action.capitalize()} an interview ({' or '.join(sources)} → {target})",
                Reply(200, f"The interview, now {target}", "Interview"),
                errors={**_INTERVIEW_404, 409: conflict},
                description=description,
            )
        )
    return ops


def _operations_guide() -> list[Operation]:
    op = _Group("guide", "researcher")
    ops = [
        op(
            "GET /v1/interviews/{id}/guide",
            "getGuide",
            "Get the study guide",
            Reply(200, "The guide", "Guide"),
            errors=_INTERVIEW_404,
        ),
        op(
            "POST /v1/interviews/{id}/guide/reorder",
            "reorderGuide",
            "Move an item (item_id) or a section (section_id)",
            Reply(200, "The reordered guide", "Guide"),
            errors={
                400: "Neither item_id nor section_id, or `after` or section_id is not in "
                "this guide",
                **_GUIDE_ERRORS,
            },
            body=guide_routes.REORDER,
            description="With item_id: place the item after the item `after`, or first in "
            "section_id (or in its own section) when `after` is null. With section_id only: "
            "place the section after the section `after`, or first when it is null.",
        ),
        op(
            "POST /v1/interviews/{id}/sections",
            "addSection",
            "Add a section at the end",
            Reply(201, "The guide with the new section", "Guide"),
            errors={**_GUIDE_ERRORS, **_INTERVIEW_404},
            body=guide_routes.SECTION,
        ),
        op(
            "PATCH /v1/interviews/{id}/sections/{section_id}",
            "updateSection",
            "Rename a section",
            Reply(200, "The guide", "Guide"),
            errors=_GUIDE_ERRORS,
            body=guide_routes.SECTION_UPDATE,
        ),
        op(
            "DELETE /v1/interviews/{id}/sections/{section_id}",
            "deleteSection",
            "Delete a section and its items",
            Reply(200, "The guide without the section", "Guide"),
            errors=_GUIDE_ERRORS,
        ),
    ]
    for kind, plural in (("question", "questions"), ("task", "tasks")):
        name = kind.capitalize()
        ops += [
            op(
                f"POST /v1/interviews/{{id}}/sections/{{section_id}}/{plural}",
                f"add{name}",
                f"Add a {kind} at the end of a section",
                Reply(201, f"The guide with the new {kind}", "Guide"),
                errors=_GUIDE_ERRORS,
                body=guide_routes.ITEM_CREATE,
                description="Fields are checked against each other: options (2 or more) "
                "only for multiple_choice, scale only for rating.",
            ),
            op(
                f"PATCH /v1/interviews/{{id}}/{plural}/{{item_id}}",
                f"update{name}",
                f"Update a {kind} (only the fields given)",
                Reply(200, "The guide", "Guide"),
                errors=_GUIDE_ERRORS,
                body=guide_routes.ITEM_UPDATE,
            ),
            op(
                f"DELETE /v1/interviews/{{id}}/{plural}/{{item_id}}",
                f"delete{name}",
                f"Delete a {kind}",
                Reply(200, f"The guide without the {kind}", "Guide"),
                errors=_GUIDE_ERRORS,
            ),
        ]
    return ops


def _operations_sessions() -> list[Operation]:
    op = _Group("sessions", "researcher")
    return [
        op(
            "GET /v1/interviews/{id}/sessions",
            "listSessions",
            "List an interview's sessions, newest first",
            Reply(200, "One page of sessions", "SessionList"),
            errors=_INTERVIEW_404,
            query=("Limit", "Cursor", "SessionStatus", "Since"),
        ),
        op(
            "GET /v1/sessions/{id}",
            "getSession",
            "Get a session and its live state",
            Reply(200, "The session", "SessionDetail"),
            errors=_SESSION_404,
        ),
        op(
            "GET /v1/sessions/{id}/transcript",
            "getTranscript",
            "Get a session's transcript",
            Reply(200, "The transcript", "Transcript"),
            errors=_SESSION_404,
        ),
    ]


def _operations_respondent() -> list[Operation]:
    public = _Group("respondent", "public")
    op = _Group("respondent", "respondent")
    return [
        public(
            "GET /v1/public/interviews/{share_token}",
            "getPublicInterview",
            "What the respondent page needs",
            Reply(200, "The interview as a respondent sees it", "PublicInterview"),
            errors={404: "No interview at this link"},
        ),
        public(
            "POST /v1/public/interviews/{share_token}/sessions",
            "startSession",
            "Start a session, or resume one with its session_token",
            Reply(201, "A new session", "SessionStartResponse"),
            Reply(200, "The resumed session and what was said so far", "SessionStartResponse"),
            errors={
                401: "session_token is not a session of this interview",
                404: "No interview at this link",
                409: "The interview is not active (draft, paused or closed)",
            },
            body=public_routes.SESSION_START,
            body_required=False,
            body_description="Optional respondent details. To resume, give session_token "
            "alone (the interview's status is not checked on resume).",
        ),
        op(
            "POST /v1/sessions/{id}/tickets",
            "issueTicket",
            "Fresh stream URLs with a new signed ticket",
            Reply(200, "Stream URLs", "StreamLinks"),
            errors=_NOT_THIS_SESSION,
        ),
        op(
            "POST /v1/sessions/{id}/messages",
            "postMessage",
            "Say something (idempotent by client_message_id)",
            Reply(202, "Stored; the interviewer's turn follows on the stream", "MessageAccepted"),
            errors={
                400: "The body is not valid, or content is empty after trimming or over the "
                "deployment's message limit",
                **_NOT_THIS_SESSION,
                409: "The session has ended, or the interviewer is still responding (send "
                "after turn.completed)",
            },
            body=public_routes.MESSAGE,
            body_description="client_message_id makes the request idempotent within the "
            "session: sending the same client_message_id again (say, after a timeout) stores "
            "nothing and answers 202 with the original message_id and duplicate: true, "
            "whatever the content.",
        ),
        op(
            "POST /v1/sessions/{id}/end",
            "endSession",
            "End the session early",
            Reply(200, "The session's status now", "SessionEnded"),
            errors=_NOT_THIS_SESSION,
            description="Idempotent: ending a session that has already ended changes nothing.",
        ),
    ]


def _operations_streams() -> list[Operation]:
    op = _Group("streams", "stream")
    return [
        op(
            "GET /v1/sessions/{id}/events",
            "streamEvents",
            "The session's live events (SSE)",
            Reply(200, "Events until the session ends", {"type": "string"}, "text/event-stream"),
            errors={
                400: "Last-Event-ID (or last_event_id) is not an event id",
                401: "The ticket is malformed, expired or another session's, or the token is "
                "not valid",
                404: "No such session (or not in the API key's workspace)",
            },
            query=("Ticket", "LastEventIdQuery"),
            headers=("LastEventIdHeader",),
            description=_sse_description(),
        ),
        op(
            "GET /v1/sessions/{id}/ws",
            "streamWebSocket",
            "The session's live events (WebSocket)",
            Reply(101, "Switching Protocols: the WebSocket is open"),
            query=("Ticket", "LastEventIdQuery"),
            description=_ws_description(),
            websocket=True,
        ),
    ]


def _sse_description() -> str:
    lines = [
        "Server-sent events: every event of the session's log after `Last-Event-ID` (header, "
        "or `last_event_id` in the query for clients that cannot set headers), then live ones, "
        "with no gap and no duplicate across reconnects; the stream ends after the session "
        "ends. Each frame has `id` (give it back as Last-Event-ID to resume), `event` (the "
        "type) and `data` (a JSON object; see the StreamEvent schema). Comment lines are "
        "heartbeats.",
        "",
        "Authenticate with `?ticket=` (from events_url or POST /v1/sessions/{id}/tickets; "
        "what a browser EventSource uses), the session token, or an API key of the session's "
        "workspace.",
        "",
        "Event types:",
    ]
    for cls in _event_classes():
        fields = ", ".join(f.name for f in dataclasses.fields(cls))
        lines.append(f"- `{cls.type}` {{{fields}}}: {EVENT_NOTES.get(cls.type, '')}")
    return "\n".join(lines)


def _ws_description() -> str:
    return (
        "WebSocket upgrade (`ws://` / `wss://`, use ws_url). Authenticate like the SSE stream: "
        "`?ticket=`, the session token or an API key. Server frames are JSON text frames: every "
        "event as `{id, event, data}` (StreamEvent), starting after `last_event_id`, then "
        "replies to the client's frames (WsServerFrame). Client frames (WsClientFrame): "
        '`{"type": "resume", "last_event_id": …}` replays from that id; '
        '`{"type": "message", "content": …, "client_message_id": …}` posts a respondent '
        'message, acknowledged by `{"type": "ack", "message_id", "client_message_id", '
        '"duplicate"}` (idempotent like POST /messages); `{"type": "end"}` ends the session '
        '(`{"type": "ack", "ended": true}`); `{"type": "ping"}` gets `{"type": "pong"}`. '
        "message and end need a ticket or session token, not an API key. A refused frame gets "
        '`{"type": "error", "error": {code, message, field?}}` and the socket stays open. '
        "After session.completed the server closes with 1000. Refused handshake "
        "credentials or last_event_id close the socket at once with 4000 + the HTTP status "
        "(4400, 4401, 4404) and the error message as the reason. The 101 response carries no "
        "X-Request-Id."
    )


# --- assembly --------------------------------------------------------------------------


def _parameters(page_limit_default: int, page_limit_max: int) -> dict[str, Any]:
    def query(name: str, schema: Schema, description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": description,
        }

    request_id = re.sub(r"[\^$]", "", REQUEST_ID.pattern)
    return {
        "Limit": query(
            "limit",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": page_limit_max,
                "default": page_limit_default,
            },
            f"Page size, 1 to {page_limit_max}",
        ),
        "Cursor": query("cursor", {"type": "string"}, "next_cursor from the previous page"),
        "InterviewStatus": query(
            "status", enum(interviews.STATUSES), "Only interviews with this status"
        ),
        "SessionStatus": query(
            "status", enum(interviews.SESSION_STATUSES), "Only sessions with this status"
        ),
        "Since": query(
            "since",
            {"type": "string", "format": "date-time"},
            "Only sessions created at or after this time (UTC when no offset is given)",
        ),
        "Ticket": query(
            "ticket",
            {"type": "string"},
            "Signed stream ticket (from events_url / ws_url or POST /v1/sessions/{id}/tickets)",
        ),
        "LastEventIdQuery": query(
            "last_event_id",
            {"type": "string", "pattern": RESUME_FROM},
            "Resume after this event id (default: from the start)",
        ),
        "LastEventIdHeader": {
            "name": "Last-Event-ID",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "pattern": RESUME_FROM},
            "description": "Resume after this event id (sent by EventSource on reconnect; "
            "takes precedence over last_event_id)",
        },
        "RequestId": {
            "name": "X-Request-Id",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": f"Your request id, echoed in the response if it matches "
            f"`{request_id}`; otherwise the server makes one",
        },
    }


def _error_schema(cls: type[DomainError] | None) -> Schema:
    code = cls.code if cls is not None else "internal_error"
    return {
        "allOf": [
            ref("Error"),
            {"properties": {"error": {"properties": {"code": {"const": code}}}}},
        ]
    }


def _response_headers(status: int) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}
    if status == 401:
        headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWWAuthenticate"}
    return headers


def _error_response(status: int, description: str) -> dict[str, Any]:
    _, cls, _ = ERROR_RESPONSES[status]
    return {
        "description": description,
        "headers": _response_headers(status),
        "content": {"application/json": {"schema": _error_schema(cls)}},
    }


def _operation(op: Operation, max_body_bytes: int, max_message_chars: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": SECURITY[op.auth],
    }
    description = op.description
    if op.body is public_routes.MESSAGE:
        description = (
            f"{description} This deployment limits content to {max_message_chars} characters "
            "after trimming, tighter than the schema's maxLength."
        ).strip()
    if description:
        out["description"] = description
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": PATH_PARAMS.get(name) or _id_description(op.path),
        }
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    params += [{"$ref": f"#/components/parameters/{p}"} for p in (*op.query, *op.headers)]
    params.append({"$ref": "#/components/parameters/RequestId"})
    out["parameters"] = params
    if op.body is not None:
        media: dict[str, Any] = {"schema": ref(op.body.name)}
        if op.body.examples:
            media["examples"] = {k: {"value": v} for k, v in op.body.examples.items()}
        request_body: dict[str, Any] = {
            "required": op.body_required,
            "content": {"application/json": media},
        }
        if op.body_description:
            request_body["description"] = op.body_description
        out["requestBody"] = request_body
    responses: dict[str, Any] = {}
    for reply in op.replies:
        response: dict[str, Any] = {"description": reply.description}
        if not op.websocket:
            response["headers"] = _response_headers(reply.status)
        if reply.schema is not None:
            schema = ref(reply.schema) if isinstance(reply.schema, str) else reply.schema
            response["content"] = {reply.media: {"schema": schema}}
        responses[str(reply.status)] = response
    automatic: set[int] = {500}
    if op.body is not None or op.query or op.headers:
        automatic.add(400)
    if op.auth != "public":
        automatic.add(401)
    if op.method != "get" and not op.websocket:
        automatic.add(413)
    if op.websocket:
        automatic = set()  # refusals happen in the handshake; see the description
    for status in sorted(automatic | set(op.errors)):
        specific = op.errors.get(status)
        if status == 413:
            specific = f"The body is over {max_body_bytes} bytes (payload_too_large)"
        if specific:
            responses[str(status)] = _error_response(status, specific)
        else:
            responses[str(status)] = {
                "$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"
            }
    out["responses"] = responses
    return out


def _info_description(max_body_bytes: int, page_limit_max: int) -> str:
    return (
        "Rapport: a self-hostable, real-time conversational interview runtime.\n\n"
        "Researcher endpoints take an API key (`Authorization: Bearer rk_live_…`); respondent "
        "endpoints take the session token from starting a session (`Bearer st_…`); live "
        "streams also take a short-lived signed `ticket` in the query string.\n\n"
        'Errors always have the shape `{"error": {"code", "message", "field"?}}` with stable '
        "codes (validation_error 400, unauthorized 401, not_found 404, method_not_allowed 405, "
        "conflict 409, payload_too_large 413, internal_error 500). An unknown path is 404 and "
        "a known path with another method is 405, on any route. Any request body over "
        f"{max_body_bytes} bytes is refused with 413.\n\n"
        'Lists answer `{"items", "next_cursor", "has_more"}`, newest first; pass next_cursor '
        f"as `cursor` for the next page; `limit` is 1 to {page_limit_max}.\n\n"
        "Every HTTP response carries `X-Request-Id` (yours if you sent a sane one). CORS is "
        f"enabled only for the public respondent paths (`{PUBLIC_PATHS.pattern}`)."
    )


@lru_cache(maxsize=8)
def _document(
    page_limit_default: int, page_limit_max: int, max_body_bytes: int, max_message_chars: int
) -> dict[str, Any]:
    ops = operations()
    bodies: dict[str, Body] = {}
    for op in ops:
        if op.body is not None and bodies.setdefault(op.body.name, op.body) is not op.body:
            raise ValueError(f"two request bodies are named {op.body.name}")
    schemas: dict[str, Schema] = {name: body.shape.schema() for name, body in bodies.items()}
    for name, schema in response_schemas().items():
        if name in schemas:
            raise ValueError(f"{name} is both a request body and a response schema")
        schemas[name] = schema
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        methods = paths.setdefault(op.path, {})
        if op.method in methods:
            raise ValueError(f"{op.method.upper()} {op.path} is declared twice")
        methods[op.method] = _operation(op, max_body_bytes, max_message_chars)
    responses = {
        name: {
            "description": description,
            "headers": _response_headers(status),
            "content": {"application/json": {"schema": _error_schema(cls)}},
        }
        for status, (name, cls, description) in ERROR_RESPONSES.items()
    }
    tags = {
        "interviews": "Interviews: settings and lifecycle (draft → active ⇄ paused → closed)",
        "guide": "The study guide: sections holding questions and tasks",
        "sessions": "Sessions and transcripts, for researchers",
        "respondent": "The public respondent API (CORS-enabled)",
        "streams": "Live session events over SSE and WebSocket, resumable from any event id",
        "pages": "The respondent page",
        "operations": "Health, readiness and this document",
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Rapport API",
            "version": API_VERSION,
            "description": _info_description(max_body_bytes, page_limit_max),
        },
        "tags": [{"name": k, "description": v} for k, v in tags.items()],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": _parameters(page_limit_default, page_limit_max),
            "headers": {
                "RequestId": {
                    "description": "The request's id (yours if you sent a sane X-Request-Id); "
                    "quote it when reporting a problem",
                    "schema": {"type": "string"},
                },
                "WWWAuthenticate": {
                    "description": "Bearer (on API key and session token failures)",
                    "schema": {"type": "string"},
                },
            },
            "responses": responses,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": f"{keys.KEY_PREFIX}…",
                    "description": "A workspace API key for the researcher endpoints",
                },
                "sessionToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": f"{sessions.SESSION_TOKEN_PREFIX}…",
                    "description": "A respondent's session token, returned when the session starts",
                },
                "ticket": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "ticket",
                    "description": "A short-lived signed stream ticket for one session (what "
                    "an EventSource can carry instead of a token)",
                },
            },
        },
    }


def document(settings: Settings, base_url: str) -> dict[str, Any]:
    """The document for this deployment's limits, served from `base_url`."""
    built = _document(
        settings.page_limit_default,
        settings.page_limit_max,
        settings.max_body_bytes,
        settings.max_message_chars,
    )
    return {**built, "servers": [{"url": base_url}]}
