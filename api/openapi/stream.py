"""The live event stream as the document describes it: event schemas, id patterns, SSE/WS prose."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from api.openapi.schemas import Schema, array, enum, obj, string
from runtime.live import events
from runtime.vocabulary import COVERAGE_STATUSES

STREAM_ID = "^[0-9]+-[0-9]+$"
# Where a reader may resume: an event id, or "0" (the default) for the whole log.
RESUME_FROM = "^[0-9]+(-[0-9]+)?$"
EVENT_NOTES = {
    "session.started": "the session exists; the interviewer's first turn is owed",
    "turn.started": "the interviewer started a turn (`item_id` is the guide item it is on); "
    "`restart` true: the turn is written again from its start because the server lost what "
    "it had streamed (Redis lost its data) — replace whatever was shown for this `turn_id` "
    "with what follows",
    "turn.delta": "the next piece of the turn's text; the deltas of a turn concatenate to "
    "its content",
    "turn.completed": "the turn is complete and durable (it is in the transcript); the "
    "respondent may answer now",
    "coverage.updated": "where the session stands on its guide after the turn, right after "
    "its `turn.completed`: the summary (`answered`, `total`, `share`, `required_open`) and "
    "each item's `{item_id, status, value}` (the full view: GET /v1/sessions/{id}/coverage; "
    "see docs/coverage.md); a client may ignore it",
    "respondent.message": "a respondent message was stored; the interviewer's turn is owed",
    "session.state": "the session's status changed without an interviewer turn, e.g. "
    "`abandoned` after `idle_timeout`; the stream ends after a terminal status",
    "session.completed": "the session ended (`reason`: finished, ended_by_respondent, …); "
    "the stream ends after it",
    "session.deleted": "the session was erased (DELETE /v1/sessions/{id}, or retention): "
    "its log is gone and the stream ends after it; the session now answers 404",
}

# Fields whose Python type says too little for a schema: what they hold.
FIELD_SCHEMAS: dict[tuple[str, str], Schema] = {
    ("coverage.updated", "items"): array(
        obj(
            {
                "item_id": string(),
                "status": enum(COVERAGE_STATUSES),
                "value": {
                    "type": ["string", "integer", "null"],
                    "description": "The resolved option label or number; null otherwise",
                },
            }
        ),
        "Every item of the session's guide version, in guide order",
    )
}


def _python_type(annotation: Any) -> Schema:
    """JSON Schema for the field types that event dataclasses use."""
    simple = {str: "string", int: "integer", bool: "boolean", float: "number"}
    if annotation in simple:
        return {"type": simple[annotation]}
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return {"type": "string", "enum": list(args)}
    if isinstance(annotation, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = next(a for a in args if a is not type(None))
        if inner in simple:
            return {"type": [simple[inner], "null"]}
    raise TypeError(f"no JSON Schema mapping for {annotation!r}")


def event_classes() -> list[type[events.SessionEvent]]:
    return list(events.SessionEvent.__subclasses__())


def event_schemas() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    mapping: dict[str, str] = {}
    for cls in event_classes():
        hints = typing.get_type_hints(cls)
        data = obj(
            {
                f.name: FIELD_SCHEMAS.get((cls.type, f.name)) or _python_type(hints[f.name])
                for f in dataclasses.fields(cls)
            }
        )
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


def sse_frame(description: str) -> Schema:
    """One frame of an SSE stream as a client parses it (the per-event schema OpenAPI 3.1
    tools such as schemathesis read from `schema`): `data` is the event's JSON, as text."""
    return obj(
        {
            "id": string("Resume after it (Last-Event-ID); absent on frames that are no entry"),
            "event": string("The event's type"),
            "data": string("The event's data, a JSON object", contentMediaType="application/json"),
        },
        description,
        optional=("id",),
    )


def sse_description() -> str:
    lines = [
        "Server-sent events: every event of the session's log after `Last-Event-ID` (header, "
        "or `last_event_id` in the query for clients that cannot set headers), then live ones, "
        "with no gap and no duplicate across reconnects; the stream ends after the session "
        "ends (or is erased: `session.deleted`). Each frame has `id` (give it back as "
        "Last-Event-ID to resume), `event` (the type) and `data` (a JSON object; see the "
        "StreamEvent schema). Comment lines are heartbeats. While Redis is unreachable a "
        "live stream stays open (heartbeats go on) and delivers what follows once it is back; "
        "a replay of an ended session that cannot be read ends early, and the client resumes "
        "with Last-Event-ID.",
        "",
        "Authenticate with `?ticket=` (from events_url or POST /v1/sessions/{id}/tickets; "
        "what a browser EventSource uses), the session token, or an API key of the session's "
        "workspace.",
        "",
        "Event types:",
    ]
    for cls in event_classes():
        fields = ", ".join(f.name for f in dataclasses.fields(cls))
        lines.append(f"- `{cls.type}` {{{fields}}}: {EVENT_NOTES.get(cls.type, '')}")
    lines += [
        "",
        "A stream opened with an API key ends when the key is revoked (at once, at the latest "
        "one heartbeat later), after a last `error` event without an id: `{code: "
        '"unauthorized", message}`. An empty `ticket` is an invalid ticket (401).',
    ]
    return "\n".join(lines)


def ws_description() -> str:
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
        "After session.completed (or session.deleted: the session was erased) the server "
        "closes with 1000; with 1013 (try again later) when the live store cannot serve the "
        "feed, and the client resumes with last_event_id. Refused handshake credentials or "
        "last_event_id close the socket at once with 4000 + the HTTP status (4400, 4401, "
        "4404; 4429 over the rate limit) and the error message as the reason; a socket opened "
        "with an API key closes with 4401 when the key is revoked, and a resume checks the "
        "key first. resume, message and end frames count against the rate limit of the "
        "credential that opened the socket, like requests (over it: a rate_limited error "
        "frame). The 101 response carries X-Request-Id, the security headers and the "
        "X-RateLimit-* headers of the limit the handshake counted against. "
        "Voice mode (docs/voice.md): a respondent connection sends "
        '`{"type": "voice.start"}`, then binary frames of microphone PCM (640 bytes: 20 ms, '
        "16-bit, 16 kHz mono); the server answers with voice.* / speech.* / transcript.* / "
        "audio.* / playback.stop JSON frames and the interviewer's speech as binary frames "
        "at the rate voice.ready announces (WsClientFrame and WsServerFrame list each). The "
        "turn's text still streams as turn.delta events: the captions. A bad audio frame (any "
        "size but 640 bytes, before voice.start, faster than real time) gets an error frame "
        "(field `frame`) and is not counted."
    )


def feed_description() -> str:
    return (
        "Server-sent events: every event of every session of the interview, in the order "
        "they were appended, from the moment each is appended (turns as they stream: "
        "`turn.delta`), including the researchers' events (steer.*, note.added) that a "
        "respondent's stream never carries. Each frame has `id` (the feed's own entry id: "
        "give it back as Last-Event-ID, or `last_event_id`, to resume with no gap and no "
        "duplicate), `event` (the type, as on the session stream: see StreamEvent) and "
        "`data`: the event's JSON object plus `session_id`. A session's end "
        "(session.completed, a terminal session.state, session.deleted) is one more frame: "
        "the feed stays open until the client leaves. Without Last-Event-ID it starts with "
        "the oldest entry the feed holds. The feed keeps the newest 10,000 entries or so "
        "and expires like a session's log (docs/limits.md): resuming from an id older than "
        "its oldest entry first sends a `feed.reset` frame without an id, data "
        "`{last_event_id, oldest_event_id}`, then the feed from its oldest entry; the client "
        "re-reads state it cannot rebuild (GET /v1/interviews/{id}/sessions). Comment lines "
        "are heartbeats. Authenticate with an API key of the interview's workspace (or a "
        "console ticket of one) as `Authorization: Bearer`; the feed ends after a last "
        "`error` event when the key is revoked, as the session stream does. Any API process "
        "serves it; opening it costs one subscription per interview and process, however "
        "many sessions run."
    )


def feed_ws_description() -> str:
    return (
        "The interview's live feed (GET /v1/interviews/{id}/live) over a WebSocket, with the "
        "API key as `Authorization: Bearer`. Server frames: each entry as `{id, event, data}` "
        '(data with `session_id`), after `last_event_id`; `{event: "feed.reset", data}` '
        "without an id when resuming from before the oldest entry held. Client frames: "
        '`{"type": "resume", "last_event_id": …}` restarts after that id (the key is checked '
        'again, and the frame counts against its rate limit); `{"type": "ping"}` gets '
        '`{"type": "pong"}`; anything else an error frame. Refused handshakes close with '
        "4000 + the HTTP status (4401, 4403, 4404, 4400); a revoked key closes with 4401; "
        "1013 when the live store cannot serve the feed (resume with last_event_id)."
    )
