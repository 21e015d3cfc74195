"""The bench's HTTP client: one-shot requests and long-lived SSE streams as bare asyncio protocols.

No HTTP library, so one core can drive thousands of streams: a request's clock starts in
`connection_made`, right before its bytes are written, and every event's arrival is the
`perf_counter` taken in `data_received`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, TypeVar, cast

HOST = "127.0.0.1"
WAIT = 120.0  # seconds any single step may take before it counts as failed


class _OneRequest(asyncio.Protocol):
    """Writes the request the moment the connection is up (the clock starts there)."""

    def __init__(self, payload: bytes, done: asyncio.Future[tuple[float, int, bytes, float]]):
        self.payload = payload
        self.done = done
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.sent_at = time.perf_counter()
        self.transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.done.done():
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip().lower()
        rest = bytes(self.buffer[end + 4 :])
        if fields.get("transfer-encoding") == "chunked":
            if not rest.endswith(b"0\r\n\r\n"):
                return
            body = b""
            while (size := int(rest.split(b"\r\n", 1)[0].split(b";")[0], 16)) > 0:
                start = rest.index(b"\r\n") + 2
                body, rest = body + rest[start : start + size], rest[start + size + 2 :]
        else:
            body = rest[: int(fields.get("content-length", "0"))]
            if len(body) < int(fields.get("content-length", "0")):
                return
        self.done.set_result((self.sent_at, status, body, now))
        assert self.transport is not None
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"connection lost: {exc}"))


def _request_bytes(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> bytes:
    raw = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"host: {HOST}:{port}", "user-agent: rapport-bench"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines += ["content-type: application/json", f"content-length: {len(raw)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


async def timed_request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[float, int, bytes, float]:
    """(sent_at, status, body, answered_at) for one request on its own new connection."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[float, int, bytes, float]] = loop.create_future()
    payload = _request_bytes(port, method, path, body, headers)
    transport, _ = await loop.create_connection(lambda: _OneRequest(payload, done), HOST, port)
    try:
        async with asyncio.timeout(WAIT):
            return await done
    finally:
        transport.close()


async def request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    _, status, raw, _ = await timed_request(port, method, path, body, headers)
    return status, (json.loads(raw) if raw else None)


class Stream(asyncio.Protocol):
    """A GET held open: status line, de-chunked body, SSE events with their arrival times.

    `seen` keeps the first arrival (perf_counter) of each (event, turn_id); `expect` returns
    a future for one of them, already resolved if it has arrived.
    """

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[int] = loop.create_future()
        self.opened.add_done_callback(_retrieve)
        self.closed = False
        self.status = 0
        self.head = bytearray()
        self.raw = bytearray()
        self.chunk_left = -1  # -1: a size line is next; 0: the CRLF after a chunk
        self.pending = bytearray()
        self.fields: dict[str, str] = {}
        self.frame = bytearray()
        self.frames: dict[tuple[str, str], bytes] = {}
        self.seen: dict[tuple[str, str], float] = {}
        self.waiting: dict[tuple[str, str], asyncio.Future[float]] = {}
        self.comments = 0

    def expect(self, event: str, turn_id: str) -> asyncio.Future[float]:
        key = (event, turn_id)
        future = self.waiting.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            future.add_done_callback(_retrieve)  # a stream may close with nobody waiting
            if key in self.seen:
                future.set_result(self.seen[key])
            elif self.closed:
                future.set_exception(ConnectionError("stream closed"))
            else:
                self.waiting[key] = future
        return future

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.payload)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = ConnectionError(f"stream closed: {exc}")
        if not self.opened.done():
            self.opened.set_exception(error)
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(error)
        self.waiting.clear()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self.status:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status = int(bytes(self.head[:end]).split(b" ", 2)[1])
            data = bytes(self.head[end + 4 :])
            self.head.clear()
            if not self.opened.done():
                self.opened.set_result(self.status)
        self.raw += data
        while self.raw:
            if self.chunk_left < 0:
                line_end = self.raw.find(b"\r\n")
                if line_end < 0:
                    return
                size = int(bytes(self.raw[:line_end]).split(b";")[0], 16)
                del self.raw[: line_end + 2]
                if size == 0:
                    return  # the server ended the stream
                self.chunk_left = size
            if self.chunk_left > 0:
                take = min(self.chunk_left, len(self.raw))
                self._sse(bytes(self.raw[:take]), now)
                del self.raw[:take]
                self.chunk_left -= take
                if self.chunk_left > 0:
                    return
            if len(self.raw) < 2:
                return
            del self.raw[:2]  # CRLF closing the chunk
            self.chunk_left = -1

    def _sse(self, data: bytes, now: float) -> None:
        self.pending += data
        while (end := self.pending.find(b"\n")) >= 0:
            raw = bytes(self.pending[: end + 1])
            line = raw.rstrip(b"\r\n").decode()
            del self.pending[: end + 1]
            if not line:
                if "event" in self.fields:
                    frame = bytes(self.frame) + raw
                    self._dispatch(self.fields["event"], self.fields.get("data", ""), now, frame)
                self.fields = {}
                self.frame.clear()
            elif line.startswith(":"):
                self.comments += 1  # sse-starlette's pings
            else:
                self.frame += raw
                name, _, value = line.partition(":")
                self.fields[name] = value[1:] if value.startswith(" ") else value

    def _dispatch(self, event: str, data: str, now: float, frame: bytes) -> None:
        turn_id = ""
        if event.startswith("turn."):
            turn_id = str(json.loads(data).get("turn_id", ""))
        key = (event, turn_id)
        self.seen.setdefault(key, now)
        future = self.waiting.pop(key, None)
        if future is not None and not future.done():
            self.frames[key] = frame  # the bytes of each awaited event, as they came
            future.set_result(self.seen[key])


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


S = TypeVar("S", bound=Stream)


async def open_stream(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    kind: type[S] = Stream,  # type: ignore[assignment]
) -> S:
    loop = asyncio.get_running_loop()
    fields = {"accept": "text/event-stream", **(headers or {})}
    payload = _request_bytes(port, "GET", path, headers=fields)
    _, stream = await loop.create_connection(lambda: kind(payload), HOST, port)
    return stream


async def gather_limited(coros: list[Any], limit: int) -> list[Any]:
    """Awaits every coroutine with at most `limit` in flight; exceptions are returned."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros), return_exceptions=True)
