"""Who writes a session's turn and which turns are owed: the turn lease, owed set, attempt count."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from runtime.stores import redis_keys

log = structlog.get_logger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# Renewed, and what was asked of the writer (taken: it is told once).
_RENEW_HEARING = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0, false}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local asked = redis.call('GET', KEYS[2])
if asked then
  redis.call('DEL', KEYS[2])
end
return {1, asked}
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leases(Protocol):
    """A lease (a token, held for `lease_ms` unless renewed) lets one writer finish a turn;
    the owed set is what the sweeper recovers when that writer dies."""

    lease_ms: int

    async def owe(self, session_id: str) -> None: ...

    async def owes(self, session_id: str) -> bool:
        """Whether a turn of this session is owed (being written, or waiting for recovery)."""
        ...

    async def settle(self, session_id: str) -> None:
        """The session owes no turn any more."""
        ...

    async def take(self, session_id: str) -> str | None:
        """A fresh lease's token, or None when someone holds it."""
        ...

    async def owe_and_take(self, session_id: str, turn_id: str) -> tuple[str | None, int]:
        """Owed, leased (the token, None if held) and the attempt counted, in one step."""
        ...

    async def renew(self, session_id: str, token: str) -> bool:
        """False once the lease is no longer this token's."""
        ...

    async def renew_hearing(self, session_id: str, token: str) -> tuple[bool, str | None]:
        """Renew, and hear what was asked of this writer since (ask_stop), once."""
        ...

    async def ask_stop(self, session_id: str, reason: str) -> None:
        """Ask the process writing the session's turn, wherever it is, to stop it for
        `reason` (restart, takeover): heard at its next renewal; forgotten after a lease."""
        ...

    async def release(self, session_id: str, token: str) -> None: ...

    async def count_attempt(self, session_id: str, turn_id: str) -> int: ...

    async def unleased_owed(self, older_than_ms: int) -> list[str]:
        """The sessions owed a turn for at least `older_than_ms` whose lease nobody holds."""
        ...

    async def unknown(self, session_ids: list[str]) -> list[str]:
        """Those of `session_ids` neither owed nor leased here."""
        ...


async def keep(
    leases: Leases, session_id: str, token: str, asked: Callable[[str], object] | None = None
) -> None:
    """Renew the lease every third of its time until cancelled or lost; `asked` hears what
    researchers asked of this writer (Leases.ask_stop)."""
    while True:
        await asyncio.sleep(leases.lease_ms / 3000)
        try:
            if asked is None:
                held, request = await leases.renew(session_id, token), None
            else:
                held, request = await leases.renew_hearing(session_id, token)
            if not held:
                return  # lost: the fenced appends will stop this generator
            if request is not None and asked is not None:
                asked(request)
        except RedisError as exc:
            # A blip: keep trying while the lease may still be ours.
            log.warning("turn.lease_renewal_failed", session_id=session_id, error=str(exc))


class RedisLeases:
    def __init__(self, redis: Redis, lease_ms: int) -> None:
        self._redis = redis
        self.lease_ms = lease_ms
        self._renew = redis.register_script(_RENEW)
        self._renew_hearing = redis.register_script(_RENEW_HEARING)
        self._release = redis.register_script(_RELEASE)

    async def owe(self, session_id: str) -> None:
        await self._redis.zadd(redis_keys.PENDING_TURNS, {session_id: time.time() * 1000})

    async def owes(self, session_id: str) -> bool:
        return await self._redis.zscore(redis_keys.PENDING_TURNS, session_id) is not None

    async def settle(self, session_id: str) -> None:
        await self._redis.zrem(redis_keys.PENDING_TURNS, session_id)

    async def take(self, session_id: str) -> str | None:
        token = uuid.uuid4().hex
        taken = await self._redis.set(
            redis_keys.lease(session_id), token, nx=True, px=self.lease_ms
        )
        return token if taken else None

    async def owe_and_take(self, session_id: str, turn_id: str) -> tuple[str | None, int]:
        token = uuid.uuid4().hex
        attempts = redis_keys.turn_attempts(session_id, turn_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(redis_keys.PENDING_TURNS, {session_id: time.time() * 1000})
            pipe.set(redis_keys.lease(session_id), token, nx=True, px=self.lease_ms)
            pipe.incr(attempts)
            pipe.expire(attempts, redis_keys.TURN_ATTEMPTS_TTL_SECONDS)
            _, leased, attempt, _ = await pipe.execute()
        return (token if leased else None), int(attempt)

    async def renew(self, session_id: str, token: str) -> bool:
        return bool(
            await self._renew(keys=[redis_keys.lease(session_id)], args=[token, self.lease_ms])
        )

    async def renew_hearing(self, session_id: str, token: str) -> tuple[bool, str | None]:
        keys = [redis_keys.lease(session_id), redis_keys.turn_stop(session_id)]
        held, asked = await self._renew_hearing(keys=keys, args=[token, self.lease_ms])
        if not held or not asked:
            return bool(held), None
        return True, asked.decode() if isinstance(asked, bytes) else str(asked)

    async def ask_stop(self, session_id: str, reason: str) -> None:
        await self._redis.set(redis_keys.turn_stop(session_id), reason, px=self.lease_ms)

    async def release(self, session_id: str, token: str) -> None:
        await self._release(keys=[redis_keys.lease(session_id)], args=[token])

    async def count_attempt(self, session_id: str, turn_id: str) -> int:
        key = redis_keys.turn_attempts(session_id, turn_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, redis_keys.TURN_ATTEMPTS_TTL_SECONDS)
            return int((await pipe.execute())[0])

    async def unleased_owed(self, older_than_ms: int) -> list[str]:
        cutoff = time.time() * 1000 - older_than_ms
        owed = await self._redis.zrangebyscore(redis_keys.PENDING_TURNS, "-inf", cutoff)
        found: list[str] = []
        for raw in owed:
            session_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            if not await self._redis.exists(redis_keys.lease(session_id)):
                found.append(session_id)
        return found

    async def unknown(self, session_ids: list[str]) -> list[str]:
        if not session_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.zscore(redis_keys.PENDING_TURNS, session_id)
                pipe.exists(redis_keys.lease(session_id))
            known = await pipe.execute()
        return [
            session_id
            for n, session_id in enumerate(session_ids)
            if known[2 * n] is None and not known[2 * n + 1]
        ]
