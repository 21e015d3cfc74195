"""Sessions and their messages in SQL: the durable side of a live conversation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, ScalarSelect, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, NotFound, Unauthorized
from runtime.platform.ids import hash_secret, new_id, new_secret
from runtime.sessions.vocabulary import Role, SessionStatus
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.stores.pagination import Page, fetch_page
from runtime.stores.schema import real_sessions
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

    def receipt(self) -> dict[str, Any]:
        """What the respondent is told, over HTTP and WebSocket alike."""
        return {
            "message_id": self.id,
            "client_message_id": self.client_message_id,
            "duplicate": not self.created,
        }


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
    await _announce(conn, row["id"], "session.started")
    return StartedSession(row, token)


async def _announce(conn: AsyncConnection, session_id: str, event: str) -> None:
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


async def authenticate(db: Database, session_id: str, token: str) -> Row[Any]:
    """The session, if `token` is its own."""
    found = await authenticate_any(db, token)
    if found.id != session_id:
        raise invalid_token()
    return found


# token hash -> session id: a fact that never changes, so a respondent's every message need
# not look it up again (bounded; the oldest entry goes first).
_TOKEN_OWNERS: dict[str, str] = {}
_TOKEN_OWNERS_MAX = 50_000


async def check_token(db: Database, session_id: str, token: str) -> None:
    """Raise unless `token` is this session's (cached after the first success)."""
    token_hash = hash_secret(token)
    owner = _TOKEN_OWNERS.get(token_hash)
    if owner is None:
        owner = (await authenticate_any(db, token)).id
        if len(_TOKEN_OWNERS) >= _TOKEN_OWNERS_MAX:
            _TOKEN_OWNERS.pop(next(iter(_TOKEN_OWNERS)))
        _TOKEN_OWNERS[token_hash] = owner
    if owner != session_id:
        raise invalid_token()


def forget_token(token_hash: str) -> None:
    """Drop an erased session's token from this process's cache (others find it gone in SQL)."""
    _TOKEN_OWNERS.pop(token_hash, None)


def invalid_token() -> Unauthorized:
    return Unauthorized("this session token is not valid for this session")


async def authenticate_any(db: Database, token: str) -> Row[Any]:
    """The session a token belongs to (resume by token alone)."""
    async with db.connect() as conn:
        found = (await conn.execute(select(s).where(s.c.token_hash == hash_secret(token)))).first()
    if found is None:
        raise invalid_token()
    return found


async def for_workspace(db: Database, workspace_id: str, session_id: str) -> Row[Any]:
    async with db.connect() as conn:
        found = await row(conn, session_id)
    if found.workspace_id != workspace_id:
        raise NotFound(f"no session {session_id}")
    return found


async def post_message(
    db: Database, session_id: str, content: str, client_message_id: str
) -> PostedMessage:
    """Store a respondent message and make the next turn owed; a retried id changes nothing."""
    try:
        return await db.write(
            lambda conn: _store_message(conn, session_id, content, client_message_id)
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
    conn: Connection, session_id: str, content: str, client_message_id: str
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
        .returning(s.c.state, s.c.turn_seq, _interview_updated_at())
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
    conn.execute(
        insert(m).values(
            id=message_id,
            session_id=session_id,
            seq=_next_seq(session_id),
            role="respondent",
            content=content,
            item_id=(updated.state or {}).get("item_id"),
            turn_id=None,
            client_message_id=client_message_id,
            metadata={},
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
    )


def _interview_updated_at() -> Any:
    i = schema.interviews
    latest = select(i.c.updated_at).where(i.c.id == s.c.interview_id).scalar_subquery()
    return latest.label("interview_updated_at")


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


async def committed_turn(conn: AsyncConnection, session_id: str, turn_id: str) -> Row[Any] | None:
    return (
        await conn.execute(select(m).where(m.c.session_id == session_id, m.c.turn_id == turn_id))
    ).first()


async def commit_turn(
    db: Database,
    session_id: str,
    seq: int,
    content: str,
    item_id: str | None,
    state: dict[str, Any],
    completes: bool,
    metadata: dict[str, Any] | None = None,
) -> str | None:
    """Make turn `seq` durable; returns the session's status after, or None if already done."""
    now = utcnow()
    values: dict[str, Any] = {
        "awaiting": "respondent",
        "state": {**state, "item_id": item_id},
        "last_activity_at": now,
    }
    async with db.begin() as conn:
        current = await row(conn, session_id)
        if completes and current.status == "in_progress":
            reason = (metadata or {}).get("ended_reason", "finished")
            values.update(status="completed", ended_reason=reason, completed_at=now)
        result = await conn.execute(
            update(s)
            .where(s.c.id == session_id, s.c.awaiting == "interviewer", s.c.turn_seq == seq)
            .values(**values)
        )
        if result.rowcount != 1:
            return None
        if values.get("status") == "completed":
            await _announce(conn, session_id, "session.completed")
        await conn.execute(
            insert(m).values(
                id=new_id("msg"),
                session_id=session_id,
                seq=_next_seq(session_id),
                role="interviewer",
                content=content,
                item_id=item_id,
                turn_id=f"t{seq}",
                client_message_id=None,
                metadata=metadata or {},
                created_at=now,
            )
        )
        return str(values.get("status", current.status))


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
        await _announce(conn, session_id, "session.completed")
        return cast(Awaiting, ended.awaiting)


@dataclass(frozen=True)
class OwedTurn:
    session_id: str
    turn_seq: int


async def owed_turns(db: Database, before: datetime, limit: int = 500) -> list[OwedTurn]:
    """Sessions whose interviewer has owed a turn since before `before`, oldest first: live
    ones, and ones ended while the turn was under way (it finishes, then the end is told).
    SQL alone says so; whether a process is writing the turn is for Redis to tell."""
    async with db.connect() as conn:
        rows = await conn.execute(owed_query(before, limit))
        return [OwedTurn(r.id, r.turn_seq) for r in rows]


def owed_query(before: datetime, limit: int = 500) -> Select[Any]:
    # Served by ix_sessions_status_awaiting_activity, like idle_query.
    return (
        select(s.c.id, s.c.turn_seq)
        .where(
            s.c.status.in_(("in_progress", "completed")),
            s.c.awaiting == "interviewer",
            s.c.last_activity_at < before,
        )
        .order_by(s.c.last_activity_at)
        .limit(limit)
    )


async def count_recovery(db: Database, session_id: str, turn_seq: int) -> int | None:
    """Count one recovery of turn `turn_seq` from SQL; how many there have been, or None if
    the turn is no longer owed."""
    async with db.begin() as conn:
        counted = (
            await conn.execute(
                update(s)
                .where(
                    s.c.id == session_id,
                    s.c.awaiting == "interviewer",
                    s.c.turn_seq == turn_seq,
                )
                .values(turn_recoveries=s.c.turn_recoveries + 1)
                .returning(s.c.turn_recoveries)
            )
        ).first()
    return None if counted is None else int(counted.turn_recoveries)


async def idle_sessions(db: Database, before: datetime, limit: int = 500) -> list[str]:
    async with db.connect() as conn:
        return [r.id for r in await conn.execute(idle_query(before, limit))]


def idle_query(before: datetime, limit: int = 500) -> Select[Any]:
    return (
        select(s.c.id)
        .where(
            s.c.status == "in_progress",
            s.c.awaiting == "respondent",
            s.c.last_activity_at < before,
        )
        .limit(limit)
    )


async def abandon(db: Database, session_id: str, before: datetime) -> bool:
    async with db.begin() as conn:
        result = await conn.execute(
            update(s)
            .where(
                s.c.id == session_id,
                s.c.status == "in_progress",
                s.c.awaiting == "respondent",
                s.c.last_activity_at < before,
            )
            .values(status="abandoned", ended_reason="idle_timeout", completed_at=utcnow())
        )
        if result.rowcount != 1:
            return False
        await _announce(conn, session_id, "session.abandoned")
        return True


async def messages(conn: AsyncConnection, session_id: str) -> list[Row[Any]]:
    rows = await conn.execute(select(m).where(m.c.session_id == session_id).order_by(m.c.seq))
    return list(rows)


def to_view(row: Row[Any] | dict[str, Any], anonymous: bool = False) -> dict[str, Any]:
    r = row._mapping if isinstance(row, Row) else row
    return {
        "id": r["id"],
        "interview_id": r["interview_id"],
        "status": r["status"],
        "guide_version": r["guide_version"],
        "respondent": None
        if anonymous
        else {
            "name": r["respondent_name"],
            "email": r["respondent_email"],
            "external_id": r["external_id"],
        },
        "is_test": r["is_test"],
        "ended_reason": r["ended_reason"],
        "current_item_id": (r["state"] or {}).get("item_id"),
        "created_at": r["created_at"],
        "last_activity_at": r["last_activity_at"],
        "completed_at": r["completed_at"],
    }


def message_view(r: Row[Any], with_metadata: bool = True) -> dict[str, Any]:
    """A stored message; respondents get it without the accounting metadata."""
    view = {
        "id": r.id,
        "role": r.role,
        "content": r.content,
        "created_at": r.created_at,
        "item_id": r.item_id,
        "turn_id": r.turn_id,
    }
    if with_metadata:
        view["metadata"] = r.metadata or {}
    return view


def usage_totals(rows: list[Row[Any]]) -> dict[str, Any]:
    """Per-session totals of the per-turn accounting stored with interviewer messages."""
    turns = [r.metadata or {} for r in rows if r.role == "interviewer"]
    ttfts = [float(m["ttft_ms"]) for m in turns if m.get("ttft_ms") is not None]
    return {
        "interviewer_turns": len(turns),
        "llm_turns": sum(1 for m in turns if m.get("engine") == "llm"),
        "fallback_turns": sum(1 for m in turns if m.get("fallback")),
        "prompt_tokens": sum(int(m.get("prompt_tokens", 0)) for m in turns),
        "completion_tokens": sum(int(m.get("completion_tokens", 0)) for m in turns),
        "generation_ms": round(sum(float(m.get("total_ms", 0)) for m in turns), 1),
        "mean_ttft_ms": round(sum(ttfts) / len(ttfts), 1) if ttfts else None,
        "models": sorted({str(m["model"]) for m in turns if m.get("model")}),
    }


async def usage(db: Database, session_id: str) -> dict[str, Any]:
    async with db.connect() as conn:
        return usage_totals(await messages(conn, session_id))


async def list_page(
    db: Database,
    workspace_id: str,
    interview_id: str,
    *,
    status: SessionStatus | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
    include_test: bool = False,
) -> Page[dict[str, Any]]:
    async with db.connect() as conn:
        interview = (await interviews.owned_row(conn, workspace_id, interview_id))._mapping
        query = select(s).where(s.c.interview_id == interview_id, real_sessions(include_test))
        if status:
            query = query.where(s.c.status == status)
        if since:
            query = query.where(s.c.created_at >= since)
        rows = await fetch_page(conn, query, s, cursor, limit)
    anonymous = bool((interview["settings"] or {}).get("anonymous"))
    return rows.map(lambda r: to_view(r, anonymous))
