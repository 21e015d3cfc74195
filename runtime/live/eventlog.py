"""Each session's ordered event log on a Redis Stream; appends can be fenced by the turn lease."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from runtime.live.events import SessionDeleted, SessionEvent, StoredEvent
from runtime.platform.errors import NotFound
from runtime.stores import redis_keys


class LeaseLost(Exception):
    """The turn lease moved to another process; this writer must stop."""


# XADD the events (type, data pairs from ARGV[4]), refresh the expiry and wake readers in
# one step; with a fence, only while the caller still holds the turn lease, so a stalled
# generator cannot write after losing it; with `once`, only if no one has announced the
# session's end yet; never once the session was erased (-1), so a writer still running
# cannot bring its log back. Returns the last event's id.
_APPEND = """
if redis.call('EXISTS', KEYS[6]) == 1 then
  return -1
end
if ARGV[2] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[2] then
  return false
end
if ARGV[3] == '1' and not redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[1]) then
  return ''
end
local id
for i = 4, #ARGV, 2 do
  id = redis.call('XADD', KEYS[1], '*', 'type', ARGV[i], 'data', ARGV[i + 1])
  redis.call('HSET', KEYS[4], 'last_event_id', id, 'last_event', ARGV[i])
  redis.call('PUBLISH', KEYS[2], id .. '\\n' .. ARGV[i] .. '\\n' .. ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[4], ARGV[1])
return id
"""
_ERASED = -1
# Erase the session's live state (KEYS[8…]: its turn attempt counters) and drop it from the
# owed turns, mark it erased, and leave a log holding only `session.deleted` (ARGV[3], [4]),
# published, so every open stream ends — in one step. Returns how many keys went.
_ERASE = """
local removed = redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5])
for i = 8, #KEYS do
  removed = removed + redis.call('DEL', KEYS[i])
end
redis.call('ZREM', KEYS[7], ARGV[2])
redis.call('SET', KEYS[6], '1', 'EX', ARGV[1])
local id = redis.call('XADD', KEYS[1], '*', 'type', ARGV[3], 'data', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
return removed
"""
LOG_PAGE = 500  # events per log read

# Events after which the interviewer owes or is writing a turn.
_TURN_OPEN = {"session.started", "respondent.message", "turn.started", "turn.delta"}


class EventLog:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._append = redis.register_script(_APPEND)
        self._erase = redis.register_script(_ERASE)

    async def append(self, session_id: str, event: SessionEvent, fence: str = "") -> str:
        result = await self._run(session_id, [event], fence, once=False)
        assert result is not None
        return result

    async def append_all(self, session_id: str, events: list[SessionEvent], fence: str = "") -> str:
        """Append several events in one round trip, in order; returns the last one's id."""
        result = await self._run(session_id, events, fence, once=False)
        assert result is not None
        return result

    async def announce_end(self, session_id: str, event: SessionEvent, fence: str = "") -> bool:
        """Append a terminal event unless one was already appended; True if this one was."""
        return await self._run(session_id, [event], fence, once=True) is not None

    async def _run(
        self, session_id: str, events: list[SessionEvent], fence: str, once: bool
    ) -> str | None:
        pairs: list[Any] = []
        for event in events:
            pairs += [event.type, json.dumps(event.data(), ensure_ascii=False)]
        result = await self._append(
            keys=_session_keys(session_id),
            args=[self._ttl, fence, "1" if once else "0", *pairs],
        )
        if result == _ERASED:
            raise NotFound(f"session {session_id} was erased")
        if result is None:
            raise LeaseLost(session_id)
        return _text(result) or None

    async def erase(self, session_id: str, turn_ids: list[str]) -> int:
        """Delete everything live of the session, end its open streams with
        `session.deleted`, and refuse any later append; returns how many keys were removed."""
        event = SessionDeleted(session_id)
        removed = await self._erase(
            keys=[
                *_session_keys(session_id),
                redis_keys.PENDING_TURNS,
                *(redis_keys.turn_attempts(session_id, t) for t in turn_ids),
            ],
            args=[
                redis_keys.ERASED_TTL_SECONDS,
                session_id,
                event.type,
                json.dumps(event.data(), ensure_ascii=False),
            ],
        )
        return int(removed)

    async def last_event_type(self, session_id: str) -> str | None:
        value = await cast(
            Awaitable[Any], self._redis.hget(redis_keys.live(session_id), "last_event")
        )
        return None if value is None else _text(value)

    async def live_state(self, session_id: str, owed: bool) -> dict[str, Any]:
        """What a watcher needs at a glance: the newest event, and whether a turn is under way.
        `owed`: SQL says the interviewer owes a turn, which stays true when Redis has lost
        track of it. With Redis unreachable the log's fields are null (`log_available` false)."""
        try:
            # redis-py types its commands as sync-or-async; this client is the async one.
            raw = await cast(
                Awaitable[dict[Any, Any]], self._redis.hgetall(redis_keys.live(session_id))
            )
        except RedisError:
            raw, available = {}, False
        else:
            available = True
        state = {_text(k): _text(v) for k, v in raw.items()}
        last = state.get("last_event")
        return {
            "last_event_id": state.get("last_event_id"),
            "last_event": last,
            "turn_in_progress": owed or last in _TURN_OPEN,
            "log_available": available,
        }

    async def after(
        self, session_id: str, last_id: str, count: int = LOG_PAGE
    ) -> list[StoredEvent]:
        """Events strictly after `last_id` ("0" for all), oldest first."""
        start = "-" if last_id in ("", "0", "0-0") else f"({last_id}"
        rows = await self._redis.xrange(redis_keys.events(session_id), min=start, count=count)
        return [_decode(entry_id, fields) for entry_id, fields in rows]

    async def all(self, session_id: str) -> list[StoredEvent]:
        events: list[StoredEvent] = []
        last = "0"
        while batch := await self.after(session_id, last):
            events.extend(batch)
            last = batch[-1].id
        return events


def _session_keys(session_id: str) -> list[str]:
    """KEYS[1…6] of both scripts."""
    return [
        redis_keys.events(session_id),
        redis_keys.notify(session_id),
        redis_keys.lease(session_id),
        redis_keys.live(session_id),
        redis_keys.ended(session_id),
        redis_keys.erased(session_id),
    ]


# ASCII digits, the whole string: \d also matches "٣", and $ matches before a final "\n".
_STREAM_ID = re.compile(r"[0-9]{1,20}(-[0-9]{1,20})?")


_U64_MAX = 2**64 - 1  # each half of a Redis stream id; past it Redis refuses the id


def is_valid_id(value: str) -> bool:
    if not _STREAM_ID.fullmatch(value):
        return False
    ms, _, seq = value.partition("-")
    return int(ms) <= _U64_MAX and int(seq or 0) <= _U64_MAX


def id_key(event_id: str) -> tuple[int, int]:
    """A stream id as a comparable pair ("0" and "" sort before every real id)."""
    ms, _, seq = event_id.partition("-")
    return (int(ms or 0), int(seq or 0))


def session_of(channel: Any) -> str:
    return _text(channel).split(":")[2]


def decode_published(channel: Any, payload: Any) -> tuple[str, StoredEvent]:
    """The session id and event carried by a notify message ("id\ntype\ndata")."""
    session_id = session_of(channel)
    event_id, event_type, data = _text(payload).split("\n", 2)
    return session_id, StoredEvent(event_id, event_type, json.loads(data))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decode(entry_id: Any, fields: dict[Any, Any]) -> StoredEvent:
    decoded = {_text(k): _text(v) for k, v in fields.items()}
    return StoredEvent(_text(entry_id), decoded["type"], json.loads(decoded["data"]))
