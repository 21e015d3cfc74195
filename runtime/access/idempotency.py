"""Idempotency records in Redis: a retried request with the same key gets the first answer."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from runtime.stores import redis_keys

# A claim outlives any request it covers; if its process dies, the key frees up after this.
PENDING_TTL_SECONDS = 120
# Keep an answer (ARGV[1] for ARGV[2] s) and, when it is about a session, index it under the
# session (KEYS[2]) — unless that session was erased meanwhile (KEYS[3]): then nothing of
# it may be kept, and the claim goes too.
_FINISH = """
if KEYS[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if KEYS[2] ~= '' then
  redis.call('SADD', KEYS[2], KEYS[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 1
"""


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    pending: bool
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


class IdempotencyStore:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self._finish = redis.register_script(_FINISH)

    async def claim(self, owner: str, key: str, fingerprint: str) -> Stored | None:
        """Claims the key for a new request (None), or returns what holds it already."""
        name = redis_keys.idempotency(owner, digest(key))
        pending = json.dumps({"fingerprint": fingerprint, "pending": True})
        if await self.redis.set(name, pending, nx=True, ex=PENDING_TTL_SECONDS):
            return None
        raw = await self.redis.get(name)
        if raw is None:  # expired between the two calls: try once more
            if await self.redis.set(name, pending, nx=True, ex=PENDING_TTL_SECONDS):
                return None
            raw = await self.redis.get(name)
            if raw is None:
                return Stored(fingerprint, pending=True)
        record = json.loads(raw)
        return Stored(
            record["fingerprint"],
            record["pending"],
            record.get("status", 0),
            tuple((k, v) for k, v in record.get("headers", [])),
            base64.b64decode(record.get("body", "")),
        )

    async def finish(
        self,
        owner: str,
        key: str,
        fingerprint: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        session_id: str | None = None,
    ) -> None:
        """Keep the answer; `session_id`: the session it is about (erasing it deletes it)."""
        record = {
            "fingerprint": fingerprint,
            "pending": False,
            "status": status,
            "headers": headers,
            "body": base64.b64encode(body).decode(),
        }
        name = redis_keys.idempotency(owner, digest(key))
        index = redis_keys.session_idempotency(session_id) if session_id else ""
        erased = redis_keys.erased(session_id) if session_id else ""
        await self._finish(keys=[name, index, erased], args=[json.dumps(record), self.ttl])

    async def release(self, owner: str, key: str) -> None:
        """Frees the key so the request can be retried (it failed in a way not worth keeping)."""
        await self.redis.delete(redis_keys.idempotency(owner, digest(key)))

    async def forget_session(self, session_id: str) -> int:
        """Delete every kept answer about the session; returns how many there were."""
        index = redis_keys.session_idempotency(session_id)
        names = list(await cast(Awaitable[set[bytes]], self.redis.smembers(index)))
        if not names:
            return 0
        removed = await self.redis.delete(*names)
        await self.redis.delete(index)
        return int(removed)
