"""Idempotency records in Redis: a retried request with the same key gets the first answer."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from redis.asyncio import Redis

from runtime import redis_keys

# A claim outlives any request it covers; if its process dies, the key frees up after this.
PENDING_TTL_SECONDS = 120


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
    ) -> None:
        record = {
            "fingerprint": fingerprint,
            "pending": False,
            "status": status,
            "headers": headers,
            "body": base64.b64encode(body).decode(),
        }
        name = redis_keys.idempotency(owner, digest(key))
        await self.redis.set(name, json.dumps(record), ex=self.ttl)

    async def release(self, owner: str, key: str) -> None:
        """Frees the key so the request can be retried (it failed in a way not worth keeping)."""
        await self.redis.delete(redis_keys.idempotency(owner, digest(key)))
