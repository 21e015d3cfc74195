"""The event log on Redis: one Stream per session, appends fenced by the turn lease in Lua."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from runtime.live.eventlog import LOG_PAGE, LeaseLost, LiveState, live_state, read_all
from runtime.live.events import (
    EVENT_CLASSES,
    PRIVATE_EVENTS,
    SessionDeleted,
    SessionEvent,
    StoredEvent,
)
from runtime.live.feed import FeedEvent, InterviewOf
from runtime.platform.errors import NotFound
from runtime.stores import redis_keys

# XADD the events (type, data, private triples from ARGV[6]), refresh the expiry and wake
# readers in one step (a researcher's private event leaves the live state as it was: it says
# nothing of the conversation); with a fence, only while the caller still holds the turn
# lease, so a stalled generator cannot write after losing it; with `once`, only if no one
# has announced the session's end yet; never once the session was erased (-1), so a writer
# still running cannot bring its log back. With the interview's feed (KEYS[7], its channel
# KEYS[8]), each event is mirrored there too, in the same step: the feed's order is the
# order of the appends, and no event is in one without the other. Returns the last event's id.
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
for i = 6, #ARGV, 3 do
  id = redis.call('XADD', KEYS[1], '*', 'type', ARGV[i], 'data', ARGV[i + 1])
  if ARGV[i + 2] == '0' then
    redis.call('HSET', KEYS[4], 'last_event_id', id, 'last_event', ARGV[i])
  end
  redis.call('PUBLISH', KEYS[2], id .. '\\n' .. ARGV[i] .. '\\n' .. ARGV[i + 1])
  if KEYS[7] then
    local fid = redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[5], '*', 'type', ARGV[i],
      'data', ARGV[i + 1], 'session', ARGV[4], 'entry', id)
    redis.call('PUBLISH', KEYS[8],
      fid .. '\\n' .. ARGV[4] .. '\\n' .. id .. '\\n' .. ARGV[i] .. '\\n' .. ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[4], ARGV[1])
if KEYS[7] then
  redis.call('EXPIRE', KEYS[7], ARGV[1])
end
return id
"""
_ERASED = -1
# Erase the session's live state (KEYS[10…]: its turn attempt counters) and drop it from the
# owed turns, mark it erased, and leave a log holding only `session.deleted` (ARGV[3], [4]),
# published, so every open stream ends — in one step. Its events leave the interview's feed
# (KEYS[7], when ARGV[5] says it is known; one pass over the capped feed), which gets the
# `session.deleted` too. KEYS[9]: the owed turns. Returns how many keys went.
_ERASE = """
local removed = redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5])
for i = 10, #KEYS do
  removed = removed + redis.call('DEL', KEYS[i])
end
redis.call('ZREM', KEYS[9], ARGV[2])
redis.call('SET', KEYS[6], '1', 'EX', ARGV[1])
local id = redis.call('XADD', KEYS[1], '*', 'type', ARGV[3], 'data', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
if ARGV[5] == '1' then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[7], '-', '+')) do
    local fields = entry[2]
    for f = 1, #fields, 2 do
      if fields[f] == 'session' and fields[f + 1] == ARGV[2] then
        redis.call('XDEL', KEYS[7], entry[1])
      end
    end
  end
  if redis.call('EXISTS', KEYS[7]) == 1 then
    local fid = redis.call('XADD', KEYS[7], '*', 'type', ARGV[3], 'data', ARGV[4],
      'session', ARGV[2], 'entry', id)
    redis.call('PUBLISH', KEYS[8],
      fid .. '\\n' .. ARGV[2] .. '\\n' .. id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
  end
end
return removed
"""


class RedisEventLog:
    """`interview_of` names each session's interview, whose feed mirrors the session's log;
    without it (tests of the log alone) there is no feed."""

    def __init__(
        self, redis: Redis, ttl_seconds: int, interview_of: InterviewOf | None = None
    ) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._interview_of = interview_of
        self._append = redis.register_script(_APPEND)
        self._erase = redis.register_script(_ERASE)

    async def append(self, session_id: str, event: SessionEvent, fence: str = "") -> str:
        result = await self._run(session_id, [event], fence, once=False)
        assert result is not None
        return result

    async def append_all(self, session_id: str, events: list[SessionEvent], fence: str = "") -> str:
        result = await self._run(session_id, events, fence, once=False)
        assert result is not None
        return result

    async def announce_end(self, session_id: str, event: SessionEvent, fence: str = "") -> bool:
        return await self._run(session_id, [event], fence, once=True) is not None

    async def _run(
        self, session_id: str, events: list[SessionEvent], fence: str, once: bool
    ) -> str | None:
        pairs: list[Any] = []
        for event in events:
            pairs += [event.type, event.to_json(), "1" if event.type in PRIVATE_EVENTS else "0"]
        known = self._interview_of
        interview_id = None
        if known is not None:
            interview_id = known.known.get(session_id) or await known.find(session_id, events)
        result = await self._append(
            keys=_session_keys(session_id, interview_id),
            args=[
                self._ttl,
                fence,
                "1" if once else "0",
                session_id,
                redis_keys.INTERVIEW_FEED_MAXLEN,
                *pairs,
            ],
        )
        if result == _ERASED:
            raise NotFound(f"session {session_id} was erased")
        if result is None:
            raise LeaseLost(session_id)
        return _text(result) or None

    async def erase(
        self, session_id: str, turn_ids: list[str], interview_id: str | None = None
    ) -> int:
        event = SessionDeleted(session_id)
        feed = interview_id is not None and self._interview_of is not None
        removed = await self._erase(
            keys=[
                # The feed's keys keep the layout; the script uses them only with `feed`.
                *_session_keys(session_id, interview_id or session_id),
                redis_keys.PENDING_TURNS,
                *(redis_keys.turn_attempts(session_id, t) for t in turn_ids),
            ],
            args=[
                redis_keys.ERASED_TTL_SECONDS,
                session_id,
                event.type,
                event.to_json(),
                "1" if feed else "0",
            ],
        )
        return int(removed)

    async def feed_after(
        self, interview_id: str, last_id: str, count: int = LOG_PAGE
    ) -> list[StoredEvent]:
        start = "-" if last_id in ("", "0", "0-0") else f"({last_id}"
        key = redis_keys.interview_feed(interview_id)
        rows = await self._redis.xrange(key, min=start, count=count)
        return [_decode_mirrored(entry_id, fields) for entry_id, fields in rows]

    async def drop_feed(self, interview_id: str) -> None:
        await self._redis.delete(redis_keys.interview_feed(interview_id))

    async def feed_oldest(self, interview_id: str) -> str | None:
        rows = await self._redis.xrange(redis_keys.interview_feed(interview_id), count=1)
        return _text(rows[0][0]) if rows else None

    async def last_event_type(self, session_id: str) -> str | None:
        value = await cast(
            Awaitable[Any], self._redis.hget(redis_keys.live(session_id), "last_event")
        )
        return None if value is None else _text(value)

    async def live_state(self, session_id: str, owed: bool) -> LiveState:
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
        last = EVENT_CLASSES.get(state.get("last_event", ""))
        return live_state(
            state.get("last_event_id"), None if last is None else last.type, owed, available
        )

    async def after(
        self, session_id: str, last_id: str, count: int = LOG_PAGE
    ) -> list[StoredEvent]:
        start = "-" if last_id in ("", "0", "0-0") else f"({last_id}"
        rows = await self._redis.xrange(redis_keys.events(session_id), min=start, count=count)
        return [_decode(entry_id, fields) for entry_id, fields in rows]

    async def all(self, session_id: str) -> list[StoredEvent]:
        return await read_all(self, session_id)


def _session_keys(session_id: str, interview_id: str | None) -> list[str]:
    """KEYS[1…6] of both scripts, then (with an interview) KEYS[7…8]: its feed and channel."""
    keys = [
        redis_keys.events(session_id),
        redis_keys.notify(session_id),
        redis_keys.lease(session_id),
        redis_keys.live(session_id),
        redis_keys.ended(session_id),
        redis_keys.erased(session_id),
    ]
    if interview_id is not None:
        keys += [redis_keys.interview_feed(interview_id), redis_keys.interview_notify(interview_id)]
    return keys


def session_of(channel: Any) -> str:
    return _text(channel).split(":")[2]


def decode_published(channel: Any, payload: Any) -> tuple[str, StoredEvent]:
    """The session id and event carried by a notify message ("id\ntype\ndata")."""
    session_id = session_of(channel)
    event_id, event_type, data = _text(payload).split("\n", 2)
    return session_id, StoredEvent.decode(event_id, event_type, data)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decode_mirrored(feed_id: Any, fields: dict[Any, Any]) -> FeedEvent:
    got = {_text(k): _text(v) for k, v in fields.items()}
    return FeedEvent.mirrored(
        _text(feed_id), got["session"], got["entry"], got["type"], got["data"]
    )


def _decode(entry_id: Any, fields: dict[Any, Any]) -> StoredEvent:
    decoded = {_text(k): _text(v) for k, v in fields.items()}
    return StoredEvent.decode(_text(entry_id), decoded["type"], decoded["data"])
