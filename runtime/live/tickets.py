"""Short-lived signed stream tickets: what an EventSource carries instead of a token."""

from __future__ import annotations

import time

from runtime.platform import signing
from runtime.platform.errors import Unauthorized


def _sign(secret: str, payload: str) -> str:
    return signing.token(secret, payload, nbytes=20)


def issue(secret: str, session_id: str, ttl_seconds: int, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    payload = f"{session_id}.{expires}"
    return f"{expires}.{_sign(secret, 'ticket:' + payload)}"


def verify(secret: str, ticket: str, session_id: str, now: float | None = None) -> None:
    expires_raw, _, signature = ticket.partition(".")
    if not expires_raw.isdigit() or not signature:
        raise Unauthorized("the stream ticket is malformed")
    expected = _sign(secret, f"ticket:{session_id}.{expires_raw}")
    if not signing.matches(expected, signature):
        raise Unauthorized("the stream ticket is not valid for this session")
    if int(expires_raw) < (now if now is not None else time.time()):
        raise Unauthorized("the stream ticket has expired; request a new one")
