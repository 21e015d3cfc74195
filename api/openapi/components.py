"""The response and component schemas, declared from the runtime's views, constants and events."""

from __future__ import annotations

from collections.abc import Iterator

from api import errors as api_errors
from api.openapi.schemas import (
    Schema,
    array,
    boolean,
    enum,
    integer,
    number,
    obj,
    page_of,
    ref,
    string,
    timestamp,
)
from api.openapi.stream import RESUME_FROM, event_schemas
from api.openapi.webhooks import webhook_schemas
from runtime.erasure import retention
from runtime.exports import records as exports
from runtime.interviews import guide as guides
from runtime.interviews import service as interviews
from runtime.platform.errors import DomainError
from runtime.platform.views import View
from runtime.sessions.vocabulary import SESSION_STATUSES

# Views the document publishes though no reply names them (webhook payloads, events).
PUBLISHED_VIEWS: tuple[type[View], ...] = ()


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
            **{s: integer(f"Sessions that are {s}", minimum=0) for s in SESSION_STATUSES},
        },
        "Session counts by status (test sessions are not counted)",
    )
    interview_settings = {
        "max_duration_minutes": integer(nullable=True, minimum=1),
        "max_turns": integer(nullable=True, minimum=2),
        "anonymous": boolean("Respondent identity is not kept or shown"),
        "model": string(
            "LLM engine: the model for this interview (null: the deployment's RAPPORT_LLM_MODEL)",
            nullable=True,
        ),
        "temperature": number(
            "LLM engine: sampling temperature (null: RAPPORT_LLM_TEMPERATURE)",
            nullable=True,
            minimum=0,
            maximum=2,
        ),
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
    error_body = obj(
        {
            "code": enum(tuple(_error_codes()), "Stable error code"),
            "message": string("What went wrong, for a person"),
            "field": string("The request field at fault, when there is one"),
        },
        optional=("field",),
    )
    return {
        **webhook_schemas(),
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
                "retention_days": integer(
                    "Finished sessions are erased this many days after they ended (null: "
                    "kept for ever); in-progress ones never",
                    nullable=True,
                    minimum=retention.MIN_DAYS,
                    maximum=retention.MAX_DAYS,
                ),
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
        "Audio": obj(
            {
                "content_type": string("Detected from the bytes"),
                "size_bytes": integer(),
                "duration_ms": integer("The recording's length"),
                "uploaded_at": timestamp(),
            }
        ),
        "Export": obj(
            {
                "id": string(),
                "interview_id": string("null: the whole workspace", nullable=True),
                "status": enum(exports.STATUSES),
                "progress": {"type": "number", "minimum": 0, "maximum": 1},
                "counts": obj(
                    {
                        "sessions_total": integer("Known once the job starts", nullable=True),
                        "sessions_done": integer(),
                        "audio_files": integer(),
                        "audio_missing": integer(),
                    }
                ),
                "options": {"type": "object", "description": "What was asked for"},
                "size_bytes": integer("The ZIP's size once written", nullable=True),
                "error": string("Why it failed, after its retries", nullable=True),
                "created_at": timestamp(),
                "completed_at": timestamp(nullable=True),
                "url": string("Signed link to the ZIP once succeeded", nullable=True),
                "url_expires_in": integer("Seconds the link stays valid", nullable=True),
            }
        ),
        "ExportList": page_of("Export"),
        "Files": obj(
            {
                "items": array(
                    obj(
                        {
                            "kind": enum(("transcript", "pdf", "audio")),
                            "name": string("A suggested file name"),
                            "content_type": string(),
                            "size_bytes": integer(),
                            "duration_ms": integer("Audio only", nullable=True),
                            "url": string("Signed download link; expires after expires_in s"),
                        },
                        optional=("duration_ms",),
                    )
                ),
                "expires_in": integer("Seconds the links stay valid"),
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
        "Error": obj({"error": error_body}),
        "Ready": obj(
            {
                "status": enum(("ready", "unavailable")),
                "checks": obj(
                    {
                        "sql": string("ok, or error: <type>"),
                        "redis": string("ok, or error: <type>"),
                    }
                ),
                "detail": obj(
                    {
                        "llm": string(
                            "The LLM interviewer's upstream: ok, not configured: <fix>, "
                            "unreachable: <base URL> (<why>), or not checked yet. Not a "
                            "check: it never makes the node unavailable"
                        ),
                    }
                ),
            }
        ),
        **event_schemas(),
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
