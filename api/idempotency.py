"""Idempotency-Key on POSTs: a retry with the same key and body gets the original answer."""

from __future__ import annotations

import json
import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import is_upload, too_large
from api.ratelimit import client_address
from api.responses import error
from runtime.access.idempotency import digest
from runtime.services import Services

IDEMPOTENCY_KEY_MAX = 255
# Answers not worth replaying: the retry should really run again.
_NOT_KEPT = {429}
# Headers a replay repeats; per-request ones (request id, rate limits) are the retry's own.
_REPLAYED = {"content-type", "location", "www-authenticate"}
_SESSION_PATH = re.compile(r"^/v1/sessions/([^/]+)/")


def session_of(path: str, status: int, body: bytes) -> str | None:
    """The session a kept answer is about, so that erasing the session deletes it too: the
    one in the path, or the one a session start answered with."""
    if found := _SESSION_PATH.match(path):
        return found.group(1)
    if not 200 <= status < 300 or not body.startswith(b"{"):
        return None
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    session_id = answer.get("session_id") if isinstance(answer, dict) else None
    return session_id if isinstance(session_id, str) else None


class Idempotency:
    """Keeps the first answer to each (caller, Idempotency-Key) for idempotency_ttl_seconds.

    The caller is the bearer credential (an API key or session token, hashed) or, with none,
    the client address. A second request while the first still runs gets 409 conflict rather
    than waiting: the client retries after it, and then gets the stored answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or is_upload(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isprintable():
            message = f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable characters"
            await error(400, "validation_error", message, "Idempotency-Key")(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        credential = headers.get("authorization", "").partition(" ")[2].strip()
        owner = (
            digest("token", credential)
            if credential
            else digest("addr", client_address(scope, services.settings.trusted_proxy_hops))
        )
        limit = services.settings.max_body_bytes
        read = await _read_body(receive, Headers(scope=scope).get("content-length"), limit)
        if read is None:
            await too_large(limit)(scope, receive, send)
            return
        body, more = read
        fingerprint = digest(scope["path"], scope.get("query_string", b""), body)
        store = services.idempotency
        held = await store.claim(owner, key, fingerprint)
        if held is not None:
            if held.fingerprint != fingerprint:
                reply = error(
                    409,
                    "conflict",
                    "this Idempotency-Key was used with another request body",
                    "Idempotency-Key",
                )
            elif held.pending:
                reply = error(
                    409,
                    "conflict",
                    "a request with this Idempotency-Key is still in progress; retry later",
                    "Idempotency-Key",
                )
            else:
                await _replay(send, held.status, held.headers, held.body)
                return
            await reply(scope, receive, send)
            return

        status = 0
        kept: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in Headers(raw=message.get("headers", [])).items():
                    if name in _REPLAYED:
                        kept.append((name, value))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        pending: list[Message] = [more]

        async def replay_receive() -> Message:
            return pending.pop() if pending else await receive()

        finished = False
        try:
            await self.app(scope, replay_receive, capture)
            finished = True
        finally:
            if finished and status < 500 and status not in _NOT_KEPT:
                answer = b"".join(chunks)
                about = session_of(scope["path"], status, answer)
                await store.finish(owner, key, fingerprint, status, kept, answer, about)
            else:
                await store.release(owner, key)


async def _read_body(
    receive: Receive, declared: str | None, limit: int
) -> tuple[bytes, Message] | None:
    """The whole body, and one message that hands it to the application again; None once
    it is over `limit` (the JSON body limit: nothing larger is ever held here)."""
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts), message
        parts.append(message.get("body", b""))
        size += len(parts[-1])
        if size > limit:
            return None
        if not message.get("more_body", False):
            body = b"".join(parts)
            return body, {"type": "http.request", "body": body, "more_body": False}


async def _replay(
    send: Send, status: int, headers: tuple[tuple[str, str], ...], body: bytes
) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers]
    raw.append((b"idempotent-replayed", b"true"))
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
