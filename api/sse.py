"""A lean Server-Sent Events response: no task of its own, events written in batches.

sse-starlette's EventSourceResponse runs four tasks per connection (41 KB per idle stream
here, against 10 KB for uvicorn itself); this keeps its wire encoding and drops the rest.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import structlog
from sse_starlette import ServerSentEvent
from starlette.types import Receive, Scope, Send

from runtime.access import keys
from runtime.live.events import StoredEvent
from runtime.live.hub import Subscription
from runtime.platform import metrics
from runtime.stores import outages as store_errors

log = structlog.get_logger(__name__)
PING = ServerSentEvent(comment="ping").encode()
# The last thing a stream whose API key was revoked sends (no id: it is not in the log).
REVOKED = ServerSentEvent(
    data=json.dumps({"code": "unauthorized", "message": keys.REVOKED}), event="error", sep="\n"
).encode()
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


def encode(event: StoredEvent) -> bytes:
    return ServerSentEvent(data=event.raw, id=event.id, event=event.type, sep="\n").encode()


class EventStream:
    """Streams a subscription until its session ends or the client goes away."""

    def __init__(
        self,
        subscription: Subscription,
        release: Callable[[Subscription], Awaitable[None]],
        replay_only: bool = False,
        first: bytes = b"",
    ) -> None:
        self.subscription = subscription
        self.release = release
        self.replay_only = replay_only
        self.first = first  # frames sent before the log's (the feed's `feed.reset`)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics.OPEN_STREAMS.labels("sse").inc()
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            if self.first:
                await send({"type": "http.response.body", "body": self.first, "more_body": True})
            try:
                await self._pump(receive, send)
            except asyncio.CancelledError:
                # Server shutdown past its grace period: end the body properly, so the client
                # sees a finished stream and reconnects (elsewhere) from its last event id.
                # The stream is done, not failed: returning spares the shutdown a traceback
                # ("Exception in ASGI application") for every stream it cut.
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            except Exception as exc:
                # A replay whose log Redis cannot give now (a live stream waits instead): end
                # it cleanly, like a shutdown, and the client resumes from its last event id.
                if store_errors.outage(exc) is None:
                    raise
                log.warning("stream.ended_store_unavailable", error=str(exc))
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            metrics.OPEN_STREAMS.labels("sse").dec()
            await self.release(self.subscription)

    async def _pump(self, receive: Receive, send: Send) -> None:
        subscription = self.subscription
        # No local may hold a batch across the wait below: an idle stream would keep its
        # last events (decoded and encoded) alive for as long as it stays open.
        while not subscription.closed:
            # A replay has nothing more to wait for: without waiting, it ends with the log.
            batch_was_empty = await _write(send, await subscription.next(wait=not self.replay_only))
            if batch_was_empty is None:
                return  # the session ended
            if self.replay_only and not subscription.resync:
                return  # the log is exhausted
            if batch_was_empty and await _gone(receive):
                return  # checked at each heartbeat, not with a watcher task per stream
        if subscription.revoked:
            await send({"type": "http.response.body", "body": REVOKED, "more_body": True})


async def _gone(receive: Receive) -> bool:
    """Whether the client has disconnected, without waiting: uvicorn answers at once then.
    (Its send() is silent after a disconnect, so only receive() can tell.)"""
    while True:
        try:
            async with asyncio.timeout(0):
                message = await receive()
        except TimeoutError:
            return False
        if message["type"] == "http.disconnect":
            return True


async def _write(send: Send, batch: list[StoredEvent]) -> bool | None:
    """Send a batch as one body, or a ping for an empty one. True: it was a ping;
    None: the batch ended the stream."""
    if not batch:
        await send({"type": "http.response.body", "body": PING, "more_body": True})
        return True
    ends = next((i for i, e in enumerate(batch) if e.ends_stream), None)
    if ends is not None:
        batch = batch[: ends + 1]
    body = b"".join(encode(event) for event in batch)
    await send({"type": "http.response.body", "body": body, "more_body": True})
    return None if ends is not None else False
