"""Who is calling: a researcher's API key, a respondent's session token, or a stream ticket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Row
from starlette.requests import HTTPConnection

from api import ratelimit
from runtime import keys, sessions, tickets
from runtime.errors import Unauthorized
from runtime.keys import Principal
from runtime.services import Services


def services_of(conn: HTTPConnection) -> Services:
    return conn.app.state.services  # type: ignore[no-any-return]


def bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def researcher(conn: HTTPConnection, scope: str) -> Principal:
    """The calling key, which must hold `scope` (403 naming it otherwise)."""
    token = bearer(conn)
    if token is None:
        raise Unauthorized("send an API key as 'Authorization: Bearer rk_live_…'")
    services = services_of(conn)
    principal = await keys.authenticate(services.db, token)
    await ratelimit.by_key(conn, services, principal)
    principal.require(scope)
    return principal


def _session_token(conn: HTTPConnection) -> str:
    token = bearer(conn)
    if token is None or not token.startswith(sessions.SESSION_TOKEN_PREFIX):
        raise Unauthorized("send the session token as 'Authorization: Bearer st_…'")
    return token


async def respondent(conn: HTTPConnection, session_id: str) -> Row[Any]:
    return await sessions.authenticate(services_of(conn).db, session_id, _session_token(conn))


async def respondent_check(conn: HTTPConnection, session_id: str) -> None:
    """Like `respondent`, for endpoints that only need to know the caller may act."""
    await sessions.check_token(services_of(conn).db, session_id, _session_token(conn))


@dataclass(frozen=True)
class StreamReader:
    """Who opened a live stream, by the one credential that was checked."""

    session: Row[Any]
    credential: Literal["ticket", "session_token", "api_key"]
    key_id: str | None = None  # the API key's, so its revocation can close the stream

    @property
    def may_post(self) -> bool:
        # Tickets are issued only to the session token's holder: both speak as the respondent.
        return self.credential != "api_key"


async def stream_reader(conn: HTTPConnection, session_id: str) -> StreamReader:
    """A live stream may be opened with a ticket, a session token, or a researcher key.

    A `ticket` parameter, even an empty one, decides alone: an empty ticket is an invalid
    ticket, never a reason to try the Authorization header instead."""
    services = services_of(conn)
    if "ticket" in conn.query_params:
        tickets.verify(services.settings.secret_key, conn.query_params["ticket"], session_id)
        return StreamReader(await sessions.load(services.db, session_id), "ticket")
    token = bearer(conn)
    if token and token.startswith(keys.KEY_PREFIX):
        principal = await researcher(conn, keys.SESSIONS_READ)
        row = await sessions.for_workspace(services.db, principal.workspace_id, session_id)
        return StreamReader(row, "api_key", principal.key_id)
    if token:
        return StreamReader(await respondent(conn, session_id), "session_token")
    raise Unauthorized("a stream ticket, session token or API key is required")
