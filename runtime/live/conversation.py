"""The respondent's side of a session: start it, answer — durable first, then live.

Each way in makes the interviewer's next turn owed and starts it; an answer also starts
that turn early, before it is stored (see docs/live-sessions.md). Ending is runtime/live/ending.py.
"""

from __future__ import annotations

from typing import Any, Protocol

from runtime.engines import readiness as engine_readiness
from runtime.engines.upstream import UpstreamProbe
from runtime.live.early_turns import EarlyStarts
from runtime.live.ending import EndingParts
from runtime.live.events import RespondentMessage, SessionStarted
from runtime.live.turns import TurnRunner
from runtime.platform.errors import ValidationError
from runtime.sessions import store as sessions
from runtime.vocabulary import Modality
from runtime.voice.clips import AudioRef

MAX_CLIENT_MESSAGE_ID = 200


class ConversationParts(EndingParts, Protocol):
    """What a conversation needs of the process's parts (runtime.services.Services)."""

    early: EarlyStarts
    turns: TurnRunner
    llm_upstream: UpstreamProbe


async def start(
    services: ConversationParts, share_token: str, respondent: dict[str, Any], is_test: bool = False
) -> sessions.StartedSession:
    started = await sessions.start(services.db, share_token, respondent, is_test)
    await _begin(services, started)
    return started


async def start_preview(
    services: ConversationParts, workspace_id: str, interview_id: str, respondent: dict[str, Any]
) -> sessions.StartedSession:
    await engine_readiness.require_interview_engine(
        services.db, services.llm_upstream, workspace_id, interview_id
    )
    started = await sessions.start_preview(services.db, workspace_id, interview_id, respondent)
    await _begin(services, started)
    return started


async def _begin(services: ConversationParts, started: sessions.StartedSession) -> None:
    session_id = started.row["id"]
    await services.events.append(
        session_id, SessionStarted(session_id, started.row["interview_id"])
    )
    # Owed first (so the sweeper finds the turn if we die), then started here.
    await services.leases.owe(session_id)
    services.turns.start(session_id, fresh=True)


async def say(
    services: ConversationParts,
    session_id: str,
    content: str,
    client_message_id: str,
    modality: Modality = "text",
    audio: AudioRef | None = None,
) -> sessions.PostedMessage:
    content = content.strip()
    if not content:
        raise ValidationError("content must not be empty", field="content")
    if len(content) > services.settings.max_message_chars:
        raise ValidationError(
            f"content is limited to {services.settings.max_message_chars} characters",
            field="content",
        )
    if not client_message_id or len(client_message_id) > MAX_CLIENT_MESSAGE_ID:
        raise ValidationError(
            f"client_message_id must be 1 to {MAX_CLIENT_MESSAGE_ID} characters",
            field="client_message_id",
        )
    # The next turn starts now, overlapping the durable write; it publishes nothing until
    # it is handed over below, once the message is committed and logged (docs/live-sessions.md).
    early = services.early.begin(session_id, content)
    try:
        posted = await sessions.post_message(
            services.db, session_id, content, client_message_id, modality, audio
        )
        if not posted.created:
            return posted  # a retry: its turn was owed when it was first stored
        await services.events.append(
            session_id, RespondentMessage(posted.id, content, client_message_id)
        )
        token = None
        if early is not None and early.confirmed_by(posted):
            # One round trip: owed, leased, attempt counted. The turn id is new (the message
            # just moved turn_seq on) and the lease is ours: no earlier attempt can have begun it.
            token, early.attempt = await services.leases.owe_and_take(session_id, early.turn_id)
        else:
            if early is not None:
                await early.cancel()  # the turn starts over from SQL
                early = None
            await services.leases.owe(session_id)
        services.turns.start(session_id, fresh=True, early=early, token=token)
        early = None  # the turn's now
    finally:
        if early is not None:
            await early.cancel()
    return posted
