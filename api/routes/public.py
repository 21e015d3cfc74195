"""Public respondent endpoints: interview info, start or resume, say something, end."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from api import ratelimit
from api.auth import respondent_check, services_of
from api.endpoints import Call, Fields, Group, Reply
from api.responses import Json
from api.routes import params
from api.validation import Str
from runtime.interviews import service as interviews
from runtime.live import conversation, ending, tickets, utterances
from runtime.platform.errors import PayloadTooLarge
from runtime.platform.views import Meta, Timestamp, View
from runtime.sessions import store as sessions
from runtime.sessions import tokens as session_tokens
from runtime.sessions import views as session_views
from runtime.vocabulary import SessionStatus


class Respondent(Fields):
    """Optional details of who is answering (all of them left out when anonymous)."""

    name: Annotated[str | UnsetType | None, Str(200, nullable=True)] = UNSET
    email: Annotated[str | UnsetType | None, Str(320, nullable=True)] = UNSET
    external_id: Annotated[str | UnsetType | None, Str(200, nullable=True)] = UNSET


class SessionStart(Respondent):
    session_token: Annotated[str | UnsetType | None, Str(100, nullable=True)] = UNSET


class MessageCreate(Fields):
    content: Annotated[str, Str(100_000, 1)]
    client_message_id: Annotated[str, Str(200, 1)]


class StreamLinks(View):
    """Fresh stream URLs for a session"""

    events_url: Annotated[
        str,
        Meta(
            description="SSE stream URL with a signed ticket in the query string",
            extra_json_schema={"format": "uri"},
        ),
    ]
    ws_url: Annotated[
        str,
        Meta(
            description="WebSocket URL with a signed ticket in the query string",
            extra_json_schema={"format": "uri"},
        ),
    ]
    ticket_expires_in: Annotated[
        int, Meta(description="Seconds until the ticket in both URLs expires", ge=1)
    ]


class SessionStartResponse(StreamLinks, kw_only=True):
    session_id: str
    session_token: Annotated[
        str,
        Meta(
            description="Bearer token for the respondent endpoints; keep it to resume",
            pattern=f"^{sessions.SESSION_TOKEN_PREFIX}",
        ),
    ]
    status: SessionStatus
    messages: Annotated[
        list[session_views.Message], Meta(description="What was said so far (empty when new)")
    ]
    created_at: Timestamp


class SessionEnded(View):
    session_id: str
    status: SessionStatus


_NOT_THIS_SESSION = {401: "The session token is missing or not this session's"}
public = Group("respondent", "public")
op = Group("respondent", "respondent")


@public(
    "GET /v1/public/interviews/{share_token}",
    "getPublicInterview",
    "What the respondent page needs",
    Reply(200, "The interview as a respondent sees it", interviews.PublicInterview),
    errors={404: "No interview at this link"},
)
async def interview_info(call: Call[None]) -> Response:
    async with services_of(call.request).db.connect() as conn:
        row = await interviews.by_share_token(conn, call.path["share_token"])
    return Json(interviews.public_view(row._mapping))


def stream_links(request: Request, session_id: str) -> StreamLinks:
    settings = services_of(request).settings
    ticket = tickets.issue(settings.secret_key, session_id, settings.ticket_ttl_seconds)
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    ws_base = base.replace("https://", "wss://").replace("http://", "ws://")
    return StreamLinks(
        events_url=f"{base}/v1/sessions/{session_id}/events?ticket={ticket}",
        ws_url=f"{ws_base}/v1/sessions/{session_id}/ws?ticket={ticket}",
        ticket_expires_in=settings.ticket_ttl_seconds,
    )


@public(
    "POST /v1/public/interviews/{share_token}/sessions",
    "startSession",
    "Start a session, or resume one with its session_token",
    Reply(201, "A new session", SessionStartResponse),
    Reply(200, "The resumed session and what was said so far", SessionStartResponse),
    errors={
        401: "session_token is not a session of this interview",
        404: "No interview at this link",
        409: "The interview is not active (draft, paused or closed)",
    },
    body=SessionStart,
    body_required=False,
    body_description="Optional respondent details. To resume, give session_token "
    "alone (the interview's status is not checked on resume).",
)
async def start(call: Call[SessionStart]) -> Response:
    request = call.request
    body = (await call.body()).given()
    services = services_of(request)
    share_token = call.path["share_token"]
    token = body.pop("session_token", None)
    if token:
        # Resume: the same session, fresh stream links, and what was said so far.
        async with services.db.connect() as conn:
            interview = await interviews.by_share_token(conn, share_token)
        row = await session_tokens.authenticate_any(services.db, token)
        if row.interview_id != interview.id:
            raise session_tokens.invalid_token()
        await ratelimit.by_session(request, services, row.id)
        return Json(await session_payload(request, row.id, token), status_code=200)
    await ratelimit.session_start(request, services)
    started = await conversation.start(services, share_token, body)
    return Json(await session_payload(request, started.row["id"], started.token), status_code=201)


async def session_payload(request: Request, session_id: str, token: str) -> SessionStartResponse:
    services = services_of(request)
    async with services.db.connect() as conn:
        row = await sessions.row(conn, session_id)
        history = await sessions.messages(conn, session_id)
    return SessionStartResponse(
        **msgspec.structs.asdict(stream_links(request, session_id)),
        session_id=session_id,
        session_token=token,
        status=row.status,
        messages=[session_views.message_view(m, with_metadata=False) for m in history],
        created_at=row.created_at,
    )


@op(
    "POST /v1/sessions/{id}/tickets",
    "issueTicket",
    "Fresh stream URLs with a new signed ticket",
    Reply(200, "Stream URLs", StreamLinks),
    errors=_NOT_THIS_SESSION,
)
async def ticket(call: Call[None]) -> Response:
    session_id = call.path["id"]
    await respondent_check(call.request, session_id)
    return Json(stream_links(call.request, session_id))


@op(
    "POST /v1/sessions/{id}/messages",
    "postMessage",
    "Say something (idempotent by client_message_id)",
    Reply(202, "Stored; the interviewer's turn follows on the stream", sessions.MessageAccepted),
    errors={
        400: "The body is not valid, or content is empty after trimming or over the "
        "deployment's message limit",
        **_NOT_THIS_SESSION,
        409: "The session has ended, or the interviewer is still responding (send "
        "after turn.completed)",
    },
    body=MessageCreate,
    message_limit=True,
    body_description="client_message_id makes the request idempotent within the "
    "session: sending the same client_message_id again (say, after a timeout) stores "
    "nothing and answers 202 with the original message_id and duplicate: true, "
    "whatever the content.",
)
async def post_message(call: Call[MessageCreate]) -> Response:
    session_id = call.path["id"]
    await respondent_check(call.request, session_id)
    body = await call.body()
    posted = await conversation.say(
        services_of(call.request), session_id, body.content, body.client_message_id
    )
    return Json(posted.receipt(), status_code=202)


class UtteranceAccepted(View):
    """A recorded answer, recognized and stored as the respondent's voice message"""

    message_id: str
    client_message_id: str
    duplicate: Annotated[
        bool, Meta(description="True when client_message_id was sent before: nothing new stored")
    ]
    text: Annotated[str, Meta(description="What was recognized: the message's content")]


@op(
    "POST /v1/sessions/{id}/utterances",
    "postUtterance",
    "Answer with one recorded utterance (voice without streaming)",
    Reply(
        201,
        "Recognized and stored; the interviewer's turn follows on the stream",
        UtteranceAccepted,
    ),
    errors={
        400: "The Content-Type is not one of the audio types, the body is empty or not audio "
        "(not_audio), no speech was heard in it (no_speech), or the interview does not take "
        "voice (mode_not_enabled)",
        **_NOT_THIS_SESSION,
        409: "The session has ended, or the interviewer is still responding",
        413: "The body is over RAPPORT_MAX_UTTERANCE_BYTES, or the utterance is longer than "
        f"{utterances.MAX_UTTERANCE_MS // 1000} s (payload_too_large)",
        502: "The speech recognizer failed or timed out (speech_failed): nothing was stored; "
        "send it again or type",
        503: "No speech recognizer is available (speech_unavailable)",
    },
    upload=utterances.CONTENT_TYPES,
    codes={
        400: ("not_audio", "no_speech", "mode_not_enabled"),
        502: ("speech_failed",),
        503: ("speech_unavailable",),
    },
    query=(params.CLIENT_MESSAGE_ID,),
    description="The body is the recording's bytes (WebM/Opus as browsers record it, Ogg, "
    "WAV, MP3), with its Content-Type. The recognized text becomes the respondent's "
    "message (modality voice, the audio kept as Opus), exactly as a streamed voice turn; "
    "the interviewer's next turn streams on the session's stream as usual, spoken on a "
    "WebSocket that has started voice. `client_message_id` makes it idempotent.",
)
async def post_utterance(call: Call[None]) -> Response:
    session_id = call.path["id"]
    request = call.request
    await respondent_check(request, session_id)
    services = services_of(request)
    limit = services.settings.max_utterance_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"an utterance is limited to {limit} bytes")
    audio = bytearray()
    async for chunk in request.stream():
        audio += chunk
        if len(audio) > limit:
            raise PayloadTooLarge(f"an utterance is limited to {limit} bytes")
    posted, text = await utterances.say_recorded(
        services,
        session_id,
        bytes(audio),
        request.headers.get("content-type", ""),
        call.query(params.CLIENT_MESSAGE_ID) or "",
    )
    receipt = posted.receipt()
    accepted = UtteranceAccepted(
        message_id=receipt.message_id,
        client_message_id=receipt.client_message_id,
        duplicate=receipt.duplicate,
        text=text if posted.created else posted.content,
    )
    return Json(accepted, status_code=201)


@op(
    "POST /v1/sessions/{id}/end",
    "endSession",
    "End the session early",
    Reply(200, "The session's status now", SessionEnded),
    errors=_NOT_THIS_SESSION,
    description="Idempotent: ending a session that has already ended changes nothing.",
)
async def end(call: Call[None]) -> Response:
    session_id = call.path["id"]
    services = services_of(call.request)
    await respondent_check(call.request, session_id)
    await ending.end(services, session_id)
    row = await sessions.load(services.db, session_id)
    return Json(SessionEnded(session_id=session_id, status=row.status))


endpoints = [*public.endpoints, *op.endpoints]
