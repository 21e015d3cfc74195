"""A session's token: who may speak as its respondent, checked (and cached) per request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select

from runtime.platform.errors import Unauthorized
from runtime.platform.ids import hash_secret
from runtime.sessions.store import s
from runtime.stores.database import Database


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
