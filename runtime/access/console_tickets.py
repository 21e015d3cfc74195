"""Console tickets: short-lived stand-ins for an API key, so the console page never keeps one.

A ticket is random and opaque (`ct_…`); Redis holds only its SHA-256, mapped to the key id,
for console_ticket_ttl_seconds. Each use checks the key itself in SQL, so a revoked key's
tickets fail at once, on every node. Redis is always there (the CLI's embedded one when no
REDIS_URL is set), so the single-process deployment has tickets too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from runtime.access import keys
from runtime.access.keys import Principal
from runtime.platform.clock import utcnow
from runtime.platform.errors import Unauthorized
from runtime.platform.ids import hash_secret, new_secret
from runtime.stores import redis_keys
from runtime.stores.database import Database

TICKET_PREFIX = "ct_"
INVALID = "this console ticket is not valid or has expired: sign in again with an API key"


@dataclass(frozen=True)
class Issued:
    ticket: str
    expires_at: datetime


def is_ticket(token: str) -> bool:
    return token.startswith(TICKET_PREFIX)


async def issue(redis: Redis, principal: Principal, ttl_seconds: int) -> Issued:
    ticket = new_secret(TICKET_PREFIX, 32)
    await redis.set(
        redis_keys.console_ticket(hash_secret(ticket)), principal.key_id, ex=ttl_seconds
    )
    return Issued(ticket, utcnow() + timedelta(seconds=ttl_seconds))


async def authenticate(redis: Redis, db: Database, ticket: str) -> Principal:
    """The key the ticket stands for, with exactly its scopes, while both are valid."""
    key_id = await redis.get(redis_keys.console_ticket(hash_secret(ticket)))
    if key_id is None:
        raise Unauthorized(INVALID)
    return await keys.authenticate_id(db, key_id.decode() if isinstance(key_id, bytes) else key_id)


async def forget(redis: Redis, ticket: str) -> None:
    """Sign out: the ticket fails from the next request on."""
    await redis.delete(redis_keys.console_ticket(hash_secret(ticket)))


async def principal_of(redis: Redis, db: Database, bearer: str) -> Principal:
    """A researcher's bearer credential, an API key or a console ticket standing for one."""
    if is_ticket(bearer):
        return await authenticate(redis, db, bearer)
    return await keys.authenticate(db, bearer)
