"""Short-lived signed stream tickets: what an EventSource carries instead of a token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from runtime.platform.errors import Unauthorized


def _sign(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")


def issue(secret: str, session_id: str, ttl_seconds: int, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    payload = f"{session_id}.{expires}"
    return f"{expires}.{_sign(secret, 'ticket:' + payload)}"


def verify(secret: str, ticket: str, session_id: str, now: float | None = None) -> None:
    expires_raw, _, signature = ticket.partition(".")
    if not expires_raw.isdigit() or not signature:
        raise Unauthorized("the stream ticket is malformed")
    expected = _sign(secret, f"ticket:{session_id}.{expires_raw}")
    if not hmac.compare_digest(expected, signature):
        raise Unauthorized("the stream ticket is not valid for this session")
    if int(expires_raw) < (now if now is not None else time.time()):
        raise Unauthorized("the stream ticket has expired; request a new one")
