"""Sessions and their messages in SQL: the durable side of a live conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, cast

from sqlalchemy import Connection, Row, ScalarSelect, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, NotFound
from runtime.platform.ids import hash_secret, new_id, new_secret
from runtime.platform.views import Meta, View
from runtime.sessions import steering
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.vocabulary import MODALITIES, AnswerKind, Modality, Move, Role
from runtime.voice.clips import AudioRef
from runtime.webhooks import outbox

s = schema.sessions
m = schema.messages
SESSION_TOKEN_PREFIX = "st_"
# Who speaks next: the interviewer while a turn is owed, until it is committed.
Awaiting = Role


@dataclass(frozen=True)
class StartedSession:
    row: dict[str, Any]
    token: str


class MessageAccepted(View):
    message_id: str
    client_message_id: str
    duplicate: Annotated[
        bool,
        Meta(
            description="True when this client_message_id was already stored: nothing new "
            "happened and message_id is the original message's"
        ),
    ]


@dataclass(frozen=True)
class PostedMessage:
    id: str
    content: str
    client_message_id: str
    created: bool  # False: a retry of a message already stored
    # What the session became (for a stored one): the next turn checks what it knows by it.
    turn_seq: int = 0
    state: dict[str, Any] | None = None
    interview_updated_at: datetime | None = None
    # Researchers steer it or write its turns: its next turn reads what they did from SQL.
    directed: bool = False

    def receipt(self) -> MessageAccepted:
        """What the respondent is told, over HTTP and WebSocket alike."""
        return MessageAccepted(
            message_id=self.id, client_message_id=self.client_message_id, duplicate=not self.created
        )


async def start(
    db: Database, share_token: str, respondent: dict[str, Any], is_test: bool = False
) -> StartedSession:
    async with db.begin() as conn:
        interview = await interviews.by_share_token(conn, share_token)
        if interview.status != "active":
            raise Conflict(_unavailable(interview.status))
        return await _insert(conn, interview, interview.guide_version, respondent, is_test)


async def start_preview(
    db: Database, workspace_id: str, interview_id: str, respondent: dict[str, Any]
) -> StartedSession:
    """A test session a researcher starts on the guide as it is now, draft or not."""
    async with db.begin() as conn:
        interview = await interviews.owned_row(conn, workspace_id, interview_id)
        version = await interviews.preview_version(conn, interview)
        return await _insert(conn, interview, version, respondent, is_test=True)


async def _insert(
    conn: AsyncConnection,
    interview: Row[Any],
    guide_version: int,
    respondent: dict[str, Any],
    is_test: bool,
) -> StartedSession:
    token = new_secret(SESSION_TOKEN_PREFIX, 24)
    now = utcnow()
    row = {
        "id": new_id("ses"),
        "workspace_id": interview.workspace_id,
        "interview_id": interview.id,
        "guide_version": guide_version,
        "status": "in_progress",
        "token_hash": hash_secret(token),
        "respondent_name": respondent.get("name"),
        "respondent_email": respondent.get("email"),
        "external_id": respondent.get("external_id"),
        "is_test": is_test,
        "state": {},
        # Turn 1 (the welcome) is owed at once.
        "turn_seq": 1,
        "awaiting": "interviewer",
        "ended_reason": None,
        "created_at": now,
        "last_activity_at": now,
        "completed_at": None,
    }
    await conn.execute(insert(s).values(**row))
    await announce(conn, row["id"], "session.started")
    return StartedSession(row, token)


async def announce(conn: AsyncConnection, session_id: str, event: str) -> None:
    """Queue the session's webhook event in the transaction that changed it."""
    current = await row(conn, session_id)
    await outbox.emit(conn, current.workspace_id, event, outbox.session_data(current))


def _unavailable(status: str) -> str:
    if status == "paused":
        return "this interview is paused and is not taking new conversations right now"
    if status == "closed":
        return "this interview is closed and no longer takes conversations"
    return "this interview has not been published yet"


async def row(conn: AsyncConnection, session_id: str) -> Row[Any]:
    found = (await conn.execute(select(s).where(s.c.id == session_id))).first()
    if found is None:
        raise NotFound(f"no session {session_id}")
    return found


async def load(db: Database, session_id: str) -> Row[Any]:
    async with db.connect() as conn:
        return await row(conn, session_id)


async def status(db: Database, session_id: str) -> tuple[str, str | None]:
    """The session's status and ended_reason."""
    async with db.connect() as conn:
        found = (
            await conn.execute(select(s.c.status, s.c.ended_reason).where(s.c.id == session_id))
        ).first()
    if found is None:
        raise NotFound(f"no session {session_id}")
    return found.status, found.ended_reason


async def interview_of(db: Database, session_id: str) -> str | None:
    """The session's interview (None for no such session): where its live feed is."""
    async with db.connect() as conn:
        found = await conn.scalar(select(s.c.interview_id).where(s.c.id == session_id))
    return None if found is None else str(found)


async def for_workspace(db: Database, workspace_id: str, session_id: str) -> Row[Any]:
    async with db.connect() as conn:
        found = await row(conn, session_id)
    if found.workspace_id != workspace_id:
        raise NotFound(f"no session {session_id}")
    return found


async def post_message(
    db: Database,
    session_id: str,
    content: str,
    client_message_id: str,
    modality: Modality = "text",
    audio: AudioRef | None = None,
) -> PostedMessage:
    """Store a respondent message and make the next turn owed; a retried id changes nothing
    (nor references `audio`: the caller deletes a clip a duplicate did not keep)."""
    # How it was said, as its metadata records it. Inline: this is the path to the first
    # token (tests/runtime/live/test_message_path.py counts its functions).
    # A voice message without audio: it could not be kept (no ffmpeg here); the words are.
    if modality not in MODALITIES or (audio is not None and modality != "voice"):
        raise ValueError("only a voice message has audio")
    metadata: dict[str, Any] = {"modality": modality}
    if audio is not None:
        metadata["audio"] = audio.stored()
    try:
        return await db.write(
            lambda conn: _store_message(conn, session_id, content, client_message_id, metadata)
        )
    except IntegrityError:
        # A retry of a message stored earlier, whose turn has completed since: the unique
        # client id refused it and the whole transaction rolled back.
        async with db.connect() as conn:
            existing = await _by_client_id(conn, session_id, client_message_id)
        if existing is None:
            raise
        return existing


def _store_message(
    conn: Connection,
    session_id: str,
    content: str,
    client_message_id: str,
    said: dict[str, Any],
) -> PostedMessage:
    # Optimistic: the session's update comes first (no read before it). Retries are rare and
    # found after it: still waiting for their turn (the update matches nothing) or refused
    # by the unique client id.
    now = utcnow()
    # One round trip each for the update (RETURNING what the next turn checks) and the insert
    # (its seq computed in SQL): a respondent's message is on the path to the first token.
    updated = conn.execute(
        update(s)
        .where(s.c.id == session_id, s.c.status == "in_progress", s.c.awaiting == "respondent")
        .values(
            turn_seq=s.c.turn_seq + 1,
            awaiting="interviewer",
            turn_recoveries=0,
            last_activity_at=now,
        )
        .returning(
            s.c.state,
            s.c.turn_seq,
            _interview_updated_at(),
            steering.steered(session_id),
            s.c.taken_over_at,
        )
    ).first()
    if updated is None:
        # A concurrent retry of the same message may have won the update just now.
        existing = _posted(conn.execute(_client_id_query(session_id, client_message_id)).first())
        if existing is not None:
            return existing
        current = conn.execute(select(s.c.status).where(s.c.id == session_id)).first()
        if current is None:
            raise NotFound(f"no session {session_id}")
        if current.status != "in_progress":
            raise Conflict(f"this session is {current.status}; it takes no more messages")
        raise Conflict("the interviewer is still responding; send after the turn completes")
    message_id = new_id("msg")
    state = updated.state or {}
    conn.execute(
        insert(m).values(
            id=message_id,
            session_id=session_id,
            seq=_next_seq(session_id),
            role="respondent",
            content=content,
            item_id=state.get("item_id"),
            turn_id=None,
            client_message_id=client_message_id,
            metadata={"answer": {"kind": ANSWER_KIND.get(state.get("move"), "question")}, **said},
            created_at=now,
        )
    )
    return PostedMessage(
        message_id,
        content,
        client_message_id,
        True,
        updated.turn_seq,
        updated.state or {},
        updated.interview_updated_at,
        bool(updated.steered) or updated.taken_over_at is not None,
    )


def _interview_updated_at() -> Any:
    i = schema.interviews
    latest = select(i.c.updated_at).where(i.c.id == s.c.interview_id).scalar_subquery()
    return latest.label("interview_updated_at")


# What an answer answers, from the move of the turn before it: a probe, a re-ask, or else
# (open, ask, and sessions stored before moves were kept) the question.
ANSWER_KIND: dict[str | None, AnswerKind] = {"probe": "probe", "reask": "reask"}


async def _by_client_id(
    conn: AsyncConnection, session_id: str, client_message_id: str
) -> PostedMessage | None:
    return _posted((await conn.execute(_client_id_query(session_id, client_message_id))).first())


def _client_id_query(session_id: str, client_message_id: str) -> Select[Any]:
    return select(m).where(m.c.session_id == session_id, m.c.client_message_id == client_message_id)


def _posted(found: Row[Any] | None) -> PostedMessage | None:
    if found is None:
        return None
    return PostedMessage(found.id, found.content, found.client_message_id, False)


def _next_seq(session_id: str) -> ScalarSelect[int]:
    """The session's next message seq, computed by the INSERT itself. Writers of a session
    first update its row, which serializes them, so max + 1 is never taken twice."""
    latest = select(func.coalesce(func.max(m.c.seq), 0) + 1).where(m.c.session_id == session_id)
    return latest.scalar_subquery()


async def committed_turn(
    conn: AsyncConnection, session_id: str, turn_id: str, for_update: bool = False
) -> Row[Any] | None:
    query = select(m).where(m.c.session_id == session_id, m.c.turn_id == turn_id)
    return (await conn.execute(query.with_for_update() if for_update else query)).first()


async def commit_turn(
    db: Database,
    session_id: str,
    seq: int,
    turn: CommittedTurn,
) -> str | None:
    """Make turn `seq` durable, with what it read from the answer that owed it; returns the
    session's status after, or None if already done."""
    now = utcnow()
    values: dict[str, Any] = {
        "awaiting": "respondent",
        "state": stored_state(turn.state, turn.item_id, turn.move),
        "last_activity_at": now,
    }
    metadata = {**turn.metadata, "move": turn.move}
    if turn.revisit:
        metadata["revisit"] = True
    async with db.begin() as conn:
        current = await row(conn, session_id)
        if turn.completes and current.status == "in_progress":
            reason = turn.metadata.get("ended_reason", "finished")
            values.update(status="completed", ended_reason=reason, completed_at=now)
        result = await conn.execute(
            update(s)
            .where(s.c.id == session_id, s.c.awaiting == "interviewer", s.c.turn_seq == seq)
            .values(**values)
        )
        if result.rowcount != 1:
            return None
        if values.get("status") == "completed":
            await announce(conn, session_id, "session.completed")
        if seq > 1:
            await _record_answer(conn, session_id, turn.answer or _NO_VALUE)
        await steering.mark_applied(conn, turn.steered, f"t{seq}")
        await conn.execute(
            insert(m).values(
                id=new_id("msg"),
                session_id=session_id,
                seq=_next_seq(session_id),
                role="interviewer",
                content=turn.content,
                item_id=turn.item_id,
                turn_id=f"t{seq}",
                client_message_id=None,
                metadata=metadata,
                created_at=now,
                author="ai",
            )
        )
        return str(values.get("status", current.status))


def stored_state(state: dict[str, Any], item_id: str | None, move: Move) -> dict[str, Any]:
    """The session's state as a committed turn leaves it: the engine's, and what it asked."""
    return {**state, "item_id": item_id, "move": move}


@dataclass(frozen=True)
class CommittedTurn:
    """An interviewer turn as it is stored (runtime.engines.base.Decision, with its text)."""

    content: str
    item_id: str | None
    move: Move
    state: dict[str, Any]
    completes: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    # The value read from the answer that owed the turn (answers.Resolution.stored()).
    answer: dict[str, Any] | None = None
    revisit: bool = False
    # The researchers' instructions its prompt held: applied with it (runtime/sessions/steering.py).
    steered: tuple[str, ...] = ()


# What an answer to an open-ended item (or a turn that read no value) records.
_NO_VALUE = {"value": None, "value_status": None, "confidence": None, "resolved_by": None}


async def _record_answer(conn: AsyncConnection, session_id: str, answer: dict[str, Any]) -> None:
    """The value beside the answer's raw text: on the session's last message, if it is the
    respondent's (the one that owed this turn)."""
    last = (
        await conn.execute(
            select(m.c.id, m.c.role, m.c.metadata)
            .where(m.c.session_id == session_id)
            .order_by(m.c.seq.desc())
            .limit(1)
        )
    ).first()
    if last is None or last.role != "respondent":
        return
    stored = dict(last.metadata or {})
    stored["answer"] = {**(stored.get("answer") or {"kind": "question"}), **answer}
    await conn.execute(update(m).where(m.c.id == last.id).values(metadata=stored))


async def attach_turn_audio(
    db: Database,
    session_id: str,
    turn_id: str,
    audio: AudioRef,
    heard: str | None = None,
    heard_ms: int | None = None,
) -> None:
    """The interviewer turn's audio, once it has played: the message becomes a voice one.
    Cut by a barge-in (`heard` differs from what was written), the stored turn becomes what
    the respondent heard, with the full text kept as `written`. NotFound when the turn is
    not stored (or the session was erased): the caller deletes the clip."""
    async with db.begin() as conn:
        found = await committed_turn(conn, session_id, turn_id, for_update=True)
        if found is None or found.role != "interviewer":
            raise NotFound(f"no interviewer turn {turn_id} in session {session_id}")
        metadata = {**(found.metadata or {}), "modality": "voice", "audio": audio.stored()}
        content = found.content
        if heard is not None and heard.strip() != found.content.strip():
            metadata.update(interrupted=True, written=metadata.get("written", found.content))
            metadata["heard_ms"] = heard_ms
            content = heard.strip()
        await conn.execute(
            update(m).where(m.c.id == found.id).values(content=content, metadata=metadata)
        )


async def end(db: Database, session_id: str, reason: str) -> Awaiting | None:
    """End a live session; returns who it was awaiting then (a turn still owed if the
    interviewer), or None if it had already ended."""
    now = utcnow()
    async with db.begin() as conn:
        ended = (
            await conn.execute(
                update(s)
                .where(s.c.id == session_id, s.c.status == "in_progress")
                .values(
                    status="completed", ended_reason=reason, completed_at=now, last_activity_at=now
                )
                .returning(s.c.awaiting)
            )
        ).first()
        if ended is None:
            return None
        await announce(conn, session_id, "session.completed")
        return cast(Awaiting, ended.awaiting)


async def messages(conn: AsyncConnection, session_id: str) -> list[Row[Any]]:
    rows = await conn.execute(select(m).where(m.c.session_id == session_id).order_by(m.c.seq))
    return list(rows)
