"""The schemas no view writes: the error shape, the stream's events and WebSocket frames."""

from __future__ import annotations

from collections.abc import Iterator

from api import errors as api_errors
from api.openapi import voice_frames
from api.openapi.schemas import (
    Schema,
    boolean,
    enum,
    obj,
    ref,
    string,
)
from api.openapi.stream import RESUME_FROM, event_schemas
from runtime.platform.errors import DomainError
from runtime.platform.views import View

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
    error_body = obj(
        {
            "code": enum(tuple(_error_codes()), "Stable error code"),
            "message": string("What went wrong, for a person"),
            "field": string("The request field at fault, when there is one"),
        },
        optional=("field",),
    )
    return {
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
                *voice_frames.client_frames(),
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
                *voice_frames.server_frames(),
            ],
        },
    }
