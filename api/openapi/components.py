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
from api.openapi.stream import RESUME_FROM, event_classes, event_schemas
from runtime.platform.errors import DomainError
from runtime.platform.views import View
from runtime.sessions import store as sessions
from runtime.vocabulary import SESSION_STATUSES

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
    session_status = enum(SESSION_STATUSES)
    session: dict[str, Schema] = {
        "id": string(),
        "interview_id": string(),
        "status": session_status,
        "guide_version": integer(
            "The guide version the session runs on (negative: a draft frozen for a preview)"
        ),
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
    usage = obj(
        {
            "interviewer_turns": integer(minimum=0),
            "llm_turns": integer("Turns the LLM engine wrote", minimum=0),
            "fallback_turns": integer("Turns the scripted fallback wrote", minimum=0),
            "prompt_tokens": integer(minimum=0),
            "completion_tokens": integer(minimum=0),
            "generation_ms": number("Time spent generating turns, summed", minimum=0),
            "mean_ttft_ms": number("Mean time to the model's first token", nullable=True),
            "models": array(string(), "Models that wrote turns"),
        },
        "Per-session totals of the per-turn accounting (see Message.metadata)",
    )
    event_types = tuple(cls.type for cls in event_classes())
    error_body = obj(
        {
            "code": enum(tuple(_error_codes()), "Stable error code"),
            "message": string("What went wrong, for a person"),
            "field": string("The request field at fault, when there is one"),
        },
        optional=("field",),
    )
    return {
        "Session": obj(session),
        "SessionDetail": obj(
            {
                **session,
                "live": obj(
                    {
                        "last_event_id": string(nullable=True),
                        "last_event": enum(event_types, nullable=True),
                        "turn_in_progress": boolean(
                            "The interviewer owes or is writing a turn right now (from SQL: "
                            "true even while Redis is unreachable or has lost the log)"
                        ),
                        "log_available": boolean(
                            "False when the event log could not be read (Redis unreachable): "
                            "last_event_id and last_event are then null"
                        ),
                    },
                    "The live stream at a glance (null fields once the event log has expired)",
                ),
                "usage": usage,
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
                "metadata": {
                    "type": "object",
                    "description": "Interviewer turns: engine, model, prompt_tokens, "
                    "completion_tokens, ttft_ms, total_ms, attempts, move, fallback, "
                    "fallback_reason, overruled (see docs/llm.md); empty for respondent messages",
                },
            },
            optional=("metadata",),
        ),
        "Transcript": obj(
            {
                "session_id": string(),
                "interview_id": string(),
                "status": session_status,
                "messages": array(ref("Message"), "Every committed message, in order"),
                "metadata": usage,
                "turns": array(ref("Turn"), "The conversation as question → answer pairs"),
            }
        ),
        "Turn": obj(
            {
                "item_id": string("The guide item asked about", nullable=True),
                "question": string("What the interviewer said", nullable=True),
                "asked_at": timestamp(nullable=True),
                "answer": string("The respondent's reply (null if unanswered)", nullable=True),
                "answered_at": timestamp(nullable=True),
            }
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
        "ErasureReceipt": obj(
            {
                "session_id": string(),
                "interview_id": string(),
                "erased_at": timestamp(),
                "erased": obj(
                    {
                        "messages": integer(minimum=0),
                        "files": integer(
                            "Audio, PDFs and cached transcript files deleted", minimum=0
                        ),
                        "webhook_deliveries": integer(
                            "Deliveries whose data was redacted (unsent ones are not sent)",
                            minimum=0,
                        ),
                        "idempotency_records": integer(
                            "Kept Idempotency-Key answers about the session", minimum=0
                        ),
                        "live_keys": integer(
                            "Redis keys of its live state (event log, lease, …)", minimum=0
                        ),
                    }
                ),
                "exports_containing": array(
                    string(),
                    "Exports whose ZIP holds the session (or will: still being written). A "
                    "ZIP cannot be edited: delete these exports to finish the erasure",
                ),
            },
            "What an erasure removed",
        ),
        "Error": obj({"error": error_body}),
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
