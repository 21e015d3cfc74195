"""A process's readers of session logs; on Redis, one Pub/Sub connection hands them new events."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from runtime.live import feed
from runtime.live.eventlog import LOG_PAGE, EventLog, id_key
from runtime.live.events import PRIVATE_EVENTS, StoredEvent
from runtime.live.redis_log import decode_published
from runtime.stores import redis_keys

log = structlog.get_logger(__name__)
# Given the ids of the API keys behind open streams, returns those no longer valid.
KeyCheck = Callable[[set[str]], Awaitable[set[str]]]
# One log's events after an id (at most `count`): a session's, or an interview's feed.
LogRead = Callable[[str, int], Awaitable[list[StoredEvent]]]


async def announce_revocation(redis: Redis, key_id: str) -> None:
    """Tells every process's hub, at once, to close the streams this (revoked) key opened."""
    await redis.publish(redis_keys.KEY_REVOCATIONS, key_id)


class Subscription:
    """A reader's place in one log (a session's, or an interview's feed): events after
    `last_id`, gap-free and in order.

    Live events arrive in the published message itself, so an idle reader costs a list and
    an asyncio.Event — no Redis connection, no task, no timer (the hub's one ticker wakes
    every reader each heartbeat). The log (XRANGE) is read when the subscription opens and
    again whenever the Pub/Sub connection may have missed something.
    """

    def __init__(
        self,
        read: LogRead,
        channel: str,
        last_id: str,
        key_id: str | None = None,
        private: bool = False,
    ) -> None:
        self.read = read
        # Where its live events are published: its readers' key in a hub.
        self.channel = channel
        # A researcher's reader gets the researchers' events too; a respondent's never does.
        self.private = private
        # The API key that opened the stream, if one did: its revocation closes the stream.
        self.key_id = key_id
        self.revoked = False
        self.last = id_key(last_id)
        self.pending: list[StoredEvent] = []
        self.wake = asyncio.Event()
        self.ticked = False
        self.resync = True
        # Until Redis confirms the SUBSCRIBE, a log read could run before it and miss what
        # is appended in between (they travel on different connections).
        self.ready = False
        self.closed = False

    def push(self, event: StoredEvent) -> None:
        self.pending.append(event)
        self.wake.set()

    def close(self) -> None:
        """Ends the subscription; a reader waiting in `next` returns at once."""
        self.closed = True
        self.wake.set()

    async def next(self, wait: bool = True) -> list[StoredEvent]:
        """Events after the last returned. [] once closed, at a heartbeat with none, or at
        once with none when `wait` is false."""
        while not self.closed:
            candidates: list[StoredEvent]
            if self.resync and self.ready:
                logged = await self._read_log(wait)
                if logged is None:
                    candidates = []  # Redis is unreachable: wait, then read the log again
                elif len(logged) == LOG_PAGE:
                    # More log to read: live events wait, or they would jump the rest of it.
                    candidates = logged
                else:
                    self.resync = False
                    # Live events may already be queued; merge both in id order, once each.
                    merged = {e.id: e for e in [*logged, *self.pending]}
                    candidates = sorted(merged.values(), key=lambda e: id_key(e.id))
                    self.pending = []
            else:
                candidates, self.pending = self.pending, []
            fresh: list[StoredEvent] = []
            for event in candidates:
                key = id_key(event.id)
                # The log read and the live feed overlap; ids say what was already given.
                if key > self.last:
                    self.last = key
                    if self.private or event.type not in PRIVATE_EVENTS:
                        fresh.append(event)
            if fresh:
                return fresh
            if not wait:
                return []
            if self.ticked:
                self.ticked = False
                return []
            self.wake.clear()
            await self.wake.wait()
        return []

    async def _read_log(self, wait: bool) -> list[StoredEvent] | None:
        """The log after the last event given; None when Redis cannot be read. A live reader
        then keeps its place (and its heartbeats) and reads again when next woken: at a
        heartbeat, a live event, or the hub resubscribing after a reconnect. A replay has
        nothing to wait for: the error is the caller's, who ends the stream cleanly so that
        the client resumes later with its last event id."""
        last_id = f"{self.last[0]}-{self.last[1]}"
        try:
            return await self.read(last_id, LOG_PAGE)
        except RedisError as exc:
            if not wait:
                raise
            log.warning("stream.log_unreadable", channel=self.channel, error=str(exc))
            return None


def of_session(
    events: EventLog, session_id: str, last_id: str, key_id: str | None, private: bool
) -> Subscription:
    read = partial(events.after, session_id)
    return Subscription(read, redis_keys.notify(session_id), last_id, key_id, private)


def of_feed(events: EventLog, interview_id: str, last_id: str, key_id: str | None) -> Subscription:
    """A researcher's reader of the interview's feed: every session's events, private ones
    too, from one channel however many sessions there are."""
    read = partial(events.feed_after, interview_id)
    channel = redis_keys.interview_notify(interview_id)
    return Subscription(read, channel, last_id, key_id, private=True)


class Hub(Protocol):
    """Where a process's stream readers follow session logs."""

    heartbeat_seconds: float

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def open(
        self,
        session_id: str,
        last_id: str,
        live: bool = True,
        key_id: str | None = None,
        private: bool = False,
    ) -> Subscription:
        """Events after `last_id`; with live=False only what the log already holds. A stream
        opened with an API key names it (`key_id`): revoking the key closes the stream.
        `private`: a researcher reads, and gets the researchers' events (PRIVATE_EVENTS)."""
        ...

    async def open_feed(
        self, interview_id: str, last_id: str, key_id: str | None = None
    ) -> Subscription:
        """The interview's feed after `last_id`, live: one subscription of this process to
        the interview's channel, shared by every reader of its feed here."""
        ...

    async def release(self, subscription: Subscription) -> None: ...

    async def unwatched(self, session_id: str) -> None:
        """Returns once no reader in this process follows the session (for operators and tests)."""
        ...


class Readers:
    """What every hub does for its readers, whatever feeds them: the heartbeat that wakes
    them all, closing the streams of a revoked API key, and knowing who follows what."""

    def __init__(
        self, events: EventLog, heartbeat_seconds: float, key_check: KeyCheck | None
    ) -> None:
        self.events = events
        self.heartbeat_seconds = heartbeat_seconds
        self._key_check = key_check
        self._by_key: dict[str, set[Subscription]] = defaultdict(set)
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self._unwatched: dict[str, asyncio.Event] = {}
        self._ticker: asyncio.Task[None] | None = None

    async def open(
        self,
        session_id: str,
        last_id: str,
        live: bool = True,
        key_id: str | None = None,
        private: bool = False,
    ) -> Subscription:
        return await self._follow(
            of_session(self.events, session_id, last_id, key_id, private), live
        )

    async def open_feed(
        self, interview_id: str, last_id: str, key_id: str | None = None
    ) -> Subscription:
        return await self._follow(of_feed(self.events, interview_id, last_id, key_id), True)

    async def _follow(self, subscription: Subscription, live: bool) -> Subscription:
        """Starts handing the subscription its channel's events (with live=False, none)."""
        raise NotImplementedError

    def _start_ticker(self) -> None:
        self._ticker = asyncio.create_task(self._tick(), name="stream-hub-ticker")

    async def _stop_tasks(self, *tasks: asyncio.Task[None] | None) -> None:
        for task in (*tasks, self._ticker):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            await self._recheck_keys()
            for subscriptions in list(self._subscriptions.values()):
                for subscription in subscriptions:
                    subscription.ticked = True
                    subscription.wake.set()

    async def _recheck_keys(self) -> None:
        """The safety net under the revocation notice (a process may miss it while its
        Pub/Sub connection is down): each heartbeat, one query for every key with a stream."""
        if self._key_check is None or not self._by_key:
            return
        try:
            revoked = await self._key_check(set(self._by_key))
        except Exception as exc:  # a store that is down must not stop the heartbeat
            log.warning("stream_hub.key_recheck_failed", error=str(exc))
            return
        self._revoke(revoked)

    def _revoke(self, key_ids: set[str]) -> None:
        for key_id in key_ids:
            for subscription in self._by_key.pop(key_id, set()):
                subscription.revoked = True
                subscription.close()

    def _deliver(self, channel: str, event: StoredEvent) -> None:
        for subscription in self._subscriptions.get(channel, ()):
            subscription.push(event)

    async def unwatched(self, session_id: str) -> None:
        channel = redis_keys.notify(session_id)
        if channel in self._subscriptions:
            await self._unwatched.setdefault(channel, asyncio.Event()).wait()

    def _close(self, subscription: Subscription) -> None:
        """Ends a released reader at once (before any wait for the hub's lock)."""
        subscription.close()
        if subscription.key_id is not None:
            opened_by_key = self._by_key.get(subscription.key_id)
            if opened_by_key is not None:
                opened_by_key.discard(subscription)
                if not opened_by_key:
                    del self._by_key[subscription.key_id]

    def _forget(self, subscription: Subscription) -> bool:
        """Drops a closed reader; True when it was its channel's last one here."""
        readers = self._subscriptions.get(subscription.channel)
        if readers is None:
            return False
        readers.discard(subscription)
        if readers:
            return False
        del self._subscriptions[subscription.channel]
        if unwatched := self._unwatched.pop(subscription.channel, None):
            unwatched.set()
        return True


class StreamHub(Readers):
    def __init__(
        self,
        redis: Redis,
        events: EventLog,
        heartbeat_seconds: float,
        key_check: KeyCheck | None = None,
    ) -> None:
        super().__init__(events, heartbeat_seconds, key_check)
        self._hears_revocations = False
        self._pubsub = redis.pubsub()
        self._confirmed: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._has_channels = asyncio.Event()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="stream-hub")
        self._start_ticker()

    async def stop(self) -> None:
        await self._stop_tasks(self._task)
        with contextlib.suppress(RedisError, RuntimeError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _listen(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    # get_message returns at once with nothing subscribed; wait for a channel.
                    self._has_channels.clear()
                    await self._has_channels.wait()
                message = await self._pubsub.get_message(timeout=1.0)
            except RedisError as exc:
                # Messages may have been lost while the connection was down: every reader
                # re-reads the log from its own last id once redis-py has resubscribed.
                log.warning("stream_hub.redis_error", error=str(exc))
                self._confirmed.clear()
                for subscriptions in self._subscriptions.values():
                    for subscription in subscriptions:
                        subscription.ready = False
                await asyncio.sleep(0.2)
                continue
            if message is None:
                continue
            kind = message["type"]
            channel = _text(message["channel"])
            if channel == redis_keys.KEY_REVOCATIONS:
                if kind == "message":
                    self._revoke({_text(message["data"])})
                continue
            if kind == "message":
                self._deliver(channel, _published(channel, message["data"]))
            elif kind in ("subscribe", "unsubscribe"):
                if kind == "unsubscribe":
                    self._confirmed.discard(channel)
                    continue
                self._confirmed.add(channel)
                for subscription in self._subscriptions.get(channel, ()):
                    subscription.ready = subscription.resync = True
                    subscription.wake.set()

    async def _follow(self, subscription: Subscription, live: bool) -> Subscription:
        if not live:
            subscription.ready = True
            return subscription
        channel, key_id = subscription.channel, subscription.key_id
        async with self._lock:
            first = not self._subscriptions[channel]
            self._subscriptions[channel].add(subscription)
            if first:
                try:
                    await self._pubsub.subscribe(channel)
                except BaseException:
                    # Not subscribed (redis-py keeps no channel it could not subscribe), so
                    # no reconnect would resubscribe it: the opener gets the error instead.
                    del self._subscriptions[channel]
                    raise
                self._has_channels.set()
            subscription.ready = channel in self._confirmed
            if key_id is not None:
                self._by_key[key_id].add(subscription)
                if not self._hears_revocations:
                    await self._pubsub.subscribe(redis_keys.KEY_REVOCATIONS)
                    self._hears_revocations = True
        return subscription

    async def release(self, subscription: Subscription) -> None:
        self._close(subscription)
        async with self._lock:
            if self._forget(subscription):
                with contextlib.suppress(RedisError):
                    await self._pubsub.unsubscribe(subscription.channel)


def _published(channel: str, payload: Any) -> StoredEvent:
    """The event a notify message carries: a session's, or (on an interview's channel) a
    feed entry."""
    if channel.startswith(redis_keys.INTERVIEW_PREFIX):
        return feed.published(_text(payload))
    return decode_published(channel, payload)[1]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
