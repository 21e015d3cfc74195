"""Who is calling: a researcher's API key, a respondent's session token, or a stream ticket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Row
from starlette.requests import HTTPConnection

from api import ratelimit
from api.credentials import bearer_token, presented
from runtime.access import console_tickets
from runtime.access.keys import Principal
from runtime.live import tickets
from runtime.platform.errors import Unauthorized
from runtime.services import Services
from runtime.sessions import store as sessions
from runtime.sessions import tokens as session_tokens


def services_of(conn: HTTPConnection) -> Services:
    return conn.app.state.services  # type: ignore[no-any-return]


def bearer(conn: HTTPConnection) -> str | None:
    return bearer_token(conn.headers)


async def researcher(conn: HTTPConnection, scope: str) -> Principal:
    """The calling key (sent itself, or as a console ticket standing for it), which must
    hold `scope` (403 naming it otherwise)."""
    principal: Principal | None = conn.scope.get("state", {}).get(ratelimit.PRINCIPAL)
    if principal is None:
        # Not verified (and counted) at the edge: no key, or one that failed the check there.
        token = bearer(conn)
        if token is None:
            raise Unauthorized("send an API key as 'Authorization: Bearer rk_live_…'")
        services = services_of(conn)
        principal = await console_tickets.principal_of(services.redis, services.db, token)
        await ratelimit.by_key(conn, services, principal)
    principal.require(scope)
    return principal


def _session_token(conn: HTTPConnection) -> str:
    token = bearer(conn)
    if token is None or not token.startswith(sessions.SESSION_TOKEN_PREFIX):
        raise Unauthorized("send the session token as 'Authorization: Bearer st_…'")
    return token


async def respondent(conn: HTTPConnection, session_id: str) -> Row[Any]:
    return await session_tokens.authenticate(services_of(conn).db, session_id, _session_token(conn))


async def respondent_check(conn: HTTPConnection, session_id: str) -> None:
    """Like `respondent`, for endpoints that only need to know the caller may act."""
    await session_tokens.check_token(services_of(conn).db, session_id, _session_token(conn))


@dataclass(frozen=True)
class StreamReader:
    """Who opened a live stream, by the one credential that was checked."""

    session: Row[Any]
    credential: Literal["ticket", "session_token", "api_key"]
    principal: Principal | None = None  # the API key's, so its revocation can close the stream

    @property
    def may_post(self) -> bool:
        # Tickets are issued only to the session token's holder: both speak as the respondent.
        return self.credential != "api_key"


async def stream_reader(conn: HTTPConnection, session_id: str, scope: str) -> StreamReader:
    """A live stream may be opened with a ticket, a session token, or a researcher key holding
    the stream's declared `scope`.

    A `ticket` parameter, even an empty one, decides alone: an empty ticket is an invalid
    ticket, never a reason to try the Authorization header instead."""
    services = services_of(conn)
    credential = presented(conn.scope)  # the edge counted the request by the same reading
    if credential.kind == "ticket":
        tickets.verify(services.settings.secret_key, credential.value, session_id)
        return StreamReader(await sessions.load(services.db, session_id), "ticket")
    if credential.kind == "api_key":
        principal = await researcher(conn, scope)
        row = await sessions.for_workspace(services.db, principal.workspace_id, session_id)
        return StreamReader(row, "api_key", principal)
    if credential.kind == "session_token":
        return StreamReader(await respondent(conn, session_id), "session_token")
    raise Unauthorized("a stream ticket, session token or API key is required")


async def by_reader(conn: HTTPConnection, reader: StreamReader) -> None:
    """What a WebSocket's frames do counts like requests, against the credential that opened it."""
    services = services_of(conn)
    if reader.principal is not None:
        await ratelimit.by_key(conn, services, reader.principal)
    else:
        await ratelimit.by_session(conn, services, reader.session.id)
