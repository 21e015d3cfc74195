"""Which credential a request presents, read the one way that the edge and the routes share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from starlette.datastructures import Headers, QueryParams
from starlette.types import Scope

from runtime.access import console_tickets, keys
from runtime.sessions import store as sessions

# What a respondent does to their own session; only the streams accept a ticket.
SESSION_ACTION = re.compile(
    r"^/v1/sessions/(?P<id>[^/]+)/(?P<action>messages|end|events|ws|tickets|audio)$"
)
TICKET_ACTIONS = frozenset({"events", "ws"})

CredentialKind = Literal["api_key", "ticket", "session_token", "none"]


@dataclass(frozen=True)
class Presented:
    """The credential the route will check: its kind, its text, and the session it names."""

    kind: CredentialKind
    value: str = ""
    session_id: str = ""


def bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def presented(scope: Scope) -> Presented:
    """A stream's `ticket` parameter decides alone when present, even empty (an empty ticket
    is an invalid ticket); then the bearer: an API key (or a console ticket) anywhere, a
    session token on its session's own paths."""
    action = SESSION_ACTION.match(scope["path"])
    if action and action["action"] in TICKET_ACTIONS:
        query = QueryParams(scope.get("query_string", b""))
        if "ticket" in query:
            return Presented("ticket", query["ticket"], action["id"])
    token = bearer_token(Headers(scope=scope))
    if token is None:
        return Presented("none")
    if token.startswith(keys.KEY_PREFIX) or console_tickets.is_ticket(token):
        # A console ticket stands for its API key, with exactly the key's scopes.
        return Presented("api_key", token)
    if action and token.startswith(sessions.SESSION_TOKEN_PREFIX):
        return Presented("session_token", token, action["id"])
    return Presented("none", token)
