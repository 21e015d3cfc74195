"""SSE benchmark: Rapport's live stream against a bare sse-starlette baseline, in one run.

    python -m bench.sse [--sessions N] [--idle-streams M] [--database sqlite|postgres]

Each server runs as its own uvicorn process (one worker, uvloop + httptools), so its memory
is its own. The client is this process: raw asyncio protocols on uvloop, so one core can
drive thousands of streams; it prints its own CPU use next to the server's so you can see
it was not the bottleneck. See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import ctypes
import dataclasses
import json
import math
import os
import platform
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/14"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "rapport_bench"
PING_SECONDS = 15  # Rapport's default sse_heartbeat_seconds; the baseline is told the same
TARGET_STREAMS, TARGET_KB = 10_000, 20.0
TARGET_SESSIONS, TARGET_P99_MS = 1_000, 25.0
WAIT = 120.0  # seconds any single step may take before it counts as failed

# The interview: open-ended questions only, one more than there are rounds. Every round
# answers one with enough words not to be probed, so the scripted engine's next turn is
# always "Thank you. <next question>" and its first turn.delta is "Thank ".
TOPICS = ("planning", "reporting", "onboarding", "support", "billing", "hiring", "research")


def guide(questions: int) -> list[dict[str, str]]:
    return [
        {
            "text": f"How does your team handle {TOPICS[i % len(TOPICS)]} today?",
            "question_type": "open_ended",
            "follow_up": "Can you give me a recent example?",
        }
        for i in range(questions)
    ]


def answer(round_index: int) -> str:
    topic = TOPICS[round_index % len(TOPICS)]
    return (
        f"For {topic} we keep a shared board, review it every Monday with the whole team, "
        "and move anything blocked to the top so someone picks it up the same day."
    )


# ---------------------------------------------------------------------------------------------
# Processes: the two servers, their limits, and cleaning up after them whatever happens.


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit to `wanted` (the hard limit too, if allowed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and wanted > hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard  # not privileged: as far as the hard limit goes
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# Loaded here, not in the forked child: the child only makes the call.
_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _child_setup(nofile: int) -> Callable[[], None]:
    def setup() -> None:
        raise_nofile(nofile)
        # SIGTERM the server when the benchmark dies, even by SIGKILL.
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return setup


def proc_status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(field)


def rss_kb(pid: int) -> int:
    return int(proc_status(pid, "VmRSS").split()[0])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nofile_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return 0


async def redis_cpu() -> float:
    """CPU seconds the Redis server has used (it shares the machine with both processes)."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        info = await client.info("cpu")
    finally:
        await client.aclose()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# The last line of a traceback, also inside an exception group's "|" margin.
_EXCEPTION_LINE = re.compile(r"^[\s|+]*([A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*)$")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """One uvicorn process serving `factory`; stopped by pid in `stop`, never by name."""

    def __init__(self, name: str, factory: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.factory = factory
        self.env = env
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, nofile: int) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.factory,
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--backlog",
            "4096",
            "--timeout-graceful-shutdown",
            "5",
        ]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(nofile),
                start_new_session=True,  # Ctrl-C reaches us; we stop it ourselves
            )

    async def wait_ready(self, path: str = "/healthz") -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError):
                status, _ = await request(self.port, "GET", path)
                if status == 200:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start; its log:\n{self.tail()}")

    @property
    def traced(self) -> Path | None:
        value = self.env.get("BENCH_TRACEMALLOC")
        return Path(value) if value else None

    async def snapshot(self) -> None:
        """With --tracemalloc: have the server write its next tracemalloc snapshot."""
        if self.traced is None:
            return
        taken = len(list(self.traced.glob("snapshot-*.pickle")))
        os.kill(self.pid, signal.SIGUSR1)
        path = self.traced / f"snapshot-{taken + 1}.pickle"
        size = -1
        for _ in range(600):  # written once it exists and has stopped growing
            await asyncio.sleep(0.5)
            now = path.stat().st_size if path.exists() else -1
            if now > 0 and now == size:
                return
            size = now
        raise RuntimeError(f"{self.name} wrote no tracemalloc snapshot")

    def allocation_report(self, streams: int, top: int = 15) -> list[str]:
        """Where the memory added between the two snapshots went, per source line."""
        if self.traced is None:
            return []
        import tracemalloc

        before, after = (
            tracemalloc.Snapshot.load(str(self.traced / f"snapshot-{n}.pickle")) for n in (1, 2)
        )
        stats = after.compare_to(before, "lineno")
        total = sum(s.size_diff for s in stats)
        lines = [
            f"{self.name}: tracemalloc, Python allocations added by {streams} idle streams: "
            f"{total / 1024 / max(streams, 1):.1f} KB per stream"
        ]
        for stat in stats[:top]:
            frame = stat.traceback[0]
            where = frame.filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
            lines.append(
                f"  {stat.size_diff / 1024 / max(streams, 1):7.2f} KB/stream "
                f"{stat.count_diff / max(streams, 1):6.1f} blocks  {where}:{frame.lineno}"
            )
        return lines

    def problems(self) -> str:
        """What the server logged above info, counted: events by name, exceptions by kind."""
        events: collections.Counter[str] = collections.Counter()
        errors: collections.Counter[str] = collections.Counter()
        with contextlib.suppress(OSError):
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith("{"):
                    with contextlib.suppress(ValueError):
                        record = json.loads(line)
                        if record.get("level", "info") not in ("info", "debug"):
                            events[f"{record.get('level')} {record.get('event')}"] += 1
                elif match := _EXCEPTION_LINE.match(line):
                    errors[match.group(1)[:160]] += 1
        counted = [f"  {n:>6}  {what}" for what, n in (events + errors).most_common(12)]
        return "\n".join(counted)

    def tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# ---------------------------------------------------------------------------------------------
# The client: one-shot HTTP requests and long-lived SSE streams, as bare asyncio protocols.


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


async def open_stream(port: int, path: str) -> Stream:
    loop = asyncio.get_running_loop()
    payload = _request_bytes(port, "GET", path, headers={"accept": "text/event-stream"})
    _, stream = await loop.create_connection(lambda: Stream(payload), HOST, port)
    return stream


# ---------------------------------------------------------------------------------------------
# What is measured.


@dataclasses.dataclass
class Round:
    label: str
    latencies: list[float]  # ms, POST written → first turn.delta of the new turn arrived
    acks: list[float]  # ms, POST written → its 202 arrived
    lags: list[float]  # ms, how late the client wrote each POST against its schedule
    failures: int
    wall: float
    server_cpu: float
    client_cpu: float
    redis_cpu: float
    frame: bytes = b""  # one first turn.delta exactly as received


@dataclasses.dataclass
class Idle:
    streams: int
    sessions: int
    opened: int
    failures: int
    open_seconds: float
    rss_before: int
    rss_connected: int
    rss_held: int
    hold: float
    hold_cpu: float
    pinged: int
    alive_connected: int  # streams still open when rss_connected was read
    alive: int  # … and when rss_held was read

    @property
    def kb_connected(self) -> float:
        return (self.rss_connected - self.rss_before) / max(self.alive_connected, 1)

    @property
    def kb_per_stream(self) -> float:
        """Per stream still open after the hold (dropped streams' memory is not returned)."""
        return (self.rss_held - self.rss_before) / max(self.alive, 1)


@dataclasses.dataclass
class Result:
    name: str
    rounds: list[Round] = dataclasses.field(default_factory=list)
    idle: Idle | None = None
    rss_started: int = 0
    nofile: int = 0
    setup_seconds: float = 0.0
    setup_failures: int = 0
    allocations: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Session:
    id: str
    post_path: str
    headers: dict[str, str]
    turns: bool  # whether the server sends whole turns (Rapport) or one frame (baseline)
    stream: Stream | None = None


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def gather_limited(coros: list[Any], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros), return_exceptions=True)


async def run_round(
    server: Server, sessions: list[Session], label: str, turn_id: str, answer: str, rate: float
) -> Round:
    """Every session posts `answer` once: `rate` posts a second in a shuffled order, or all at
    once when rate is 0; each waits for its new turn to complete so the next round may post."""
    order = list(sessions)
    random.Random(turn_id).shuffle(order)
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.2
    latencies: list[float] = []
    acks: list[float] = []
    lags: list[float] = []
    samples: list[bytes] = []
    failures = 0

    async def one(index: int, session: Session) -> None:
        nonlocal failures
        assert session.stream is not None
        at = begin + (index / rate if rate else 0.0)
        await asyncio.sleep(max(0.0, at - loop.time()))
        scheduled = time.perf_counter() + (at - loop.time())
        delta = session.stream.expect("turn.delta", turn_id)
        # Rapport takes the next answer only once the turn has completed; the baseline has
        # no turns beyond the one frame it pushes.
        completed = session.stream.expect("turn.completed", turn_id) if session.turns else delta
        body = {"content": answer, "client_message_id": uuid.uuid4().hex}
        try:
            sent, status, raw, answered = await timed_request(
                server.port, "POST", session.post_path, body, session.headers
            )
            if status != 202:
                raise RuntimeError(f"POST answered {status}: {raw[:200]!r}")
            async with asyncio.timeout(WAIT):
                arrived = await delta
                await completed
        except Exception as exc:
            failures += 1
            if failures <= 3:
                print(f"  {server.name} {label}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return
        samples.append(session.stream.frames.get(("turn.delta", turn_id), b""))
        latencies.append((arrived - sent) * 1000)
        acks.append((answered - sent) * 1000)
        lags.append(max(0.0, (sent - scheduled) * 1000))

    redis0 = await redis_cpu()
    cpu0, client0, wall0 = cpu_seconds(server.pid), client_cpu(), time.perf_counter()
    await asyncio.gather(*(one(i, s) for i, s in enumerate(order)))
    wall = time.perf_counter() - wall0
    return Round(
        label,
        latencies,
        acks,
        lags,
        failures,
        wall,
        (cpu_seconds(server.pid) - cpu0) / wall,
        (client_cpu() - client0) / wall,
        (await redis_cpu() - redis0) / wall,
        samples[0] if samples else b"",
    )


async def hold_idle_streams(
    server: Server,
    paths: list[str],
    ready: Callable[[Stream], asyncio.Future[Any]],
    sessions: int,
    hold: float,
    concurrency: int,
) -> Idle:
    """Open every path at once (at most `concurrency` still connecting), wait until each has
    received its initial bytes, then sit idle for `hold` seconds; RSS before, at, after."""
    await asyncio.sleep(2)
    rss_before = rss_kb(server.pid)
    await server.snapshot()
    streams: list[Stream] = []

    async def open_one(path: str) -> None:
        stream = await open_stream(server.port, path)
        streams.append(stream)
        async with asyncio.timeout(WAIT):
            status = await stream.opened
            if status != 200:
                raise RuntimeError(f"stream answered {status}")
            await ready(stream)

    began = time.perf_counter()
    results = await gather_limited([open_one(p) for p in paths], concurrency)
    open_seconds = time.perf_counter() - began
    errors = [r for r in results if isinstance(r, BaseException)]
    for error in errors[:3]:
        print(f"  {server.name} idle stream: {type(error).__name__}: {error}", file=sys.stderr)
    await asyncio.sleep(1)
    rss_connected = rss_kb(server.pid)
    alive_connected = sum(1 for s in streams if not s.closed)
    comments = [s.comments for s in streams]
    cpu0 = cpu_seconds(server.pid)
    await asyncio.sleep(hold)
    hold_cpu = (cpu_seconds(server.pid) - cpu0) / hold if hold else math.nan
    rss_held = rss_kb(server.pid)
    await server.snapshot()
    pinged = sum(1 for s, c in zip(streams, comments, strict=True) if s.comments > c)
    alive = sum(1 for s in streams if not s.closed)
    for stream in streams:
        stream.close()
    return Idle(
        streams=len(paths),
        sessions=sessions,
        opened=len(paths) - len(errors),
        failures=len(errors),
        open_seconds=open_seconds,
        rss_before=rss_before,
        rss_connected=rss_connected,
        rss_held=rss_held,
        hold=hold,
        hold_cpu=hold_cpu,
        pinged=pinged,
        alive_connected=alive_connected,
        alive=alive,
    )


# ---------------------------------------------------------------------------------------------
# Rapport: a published interview, respondents over HTTP, idle sessions through the runtime.


async def publish_interview(port: int, api_key: str, questions: int) -> str:
    auth = {"authorization": f"Bearer {api_key}"}
    status, interview = await request(
        port,
        "POST",
        "/v1/interviews",
        {
            "title": "Benchmark study",
            "goal": "Measure the live stream",
            "language": "en",
            "welcome_message": "Hi, thanks for joining!",
            "closing_message": "That's all, thank you!",
        },
        auth,
    )
    assert status == 201, interview
    base = f"/v1/interviews/{interview['id']}"
    status, body = await request(port, "POST", f"{base}/sections", {"title": "Main"}, auth)
    assert status == 201, body
    for item in guide(questions):
        status, body = await request(port, "POST", f"{base}/sections/S1/questions", item, auth)
        assert status == 201, body
    status, body = await request(port, "POST", f"{base}/publish", None, auth)
    assert status == 200, body
    return str(body["share_token"])


async def rapport_session(port: int, share_token: str) -> Session:
    status, body = await request(port, "POST", f"/v1/public/interviews/{share_token}/sessions", {})
    if status != 201:
        raise RuntimeError(f"session start answered {status}: {body}")
    events_url = str(body["events_url"])
    session = Session(
        body["session_id"],
        f"/v1/sessions/{body['session_id']}/messages",
        {"authorization": f"Bearer {body['session_token']}"},
        turns=True,
    )
    session.stream = await open_stream(port, events_url.split(f":{port}", 1)[1])
    async with asyncio.timeout(WAIT):
        await session.stream.expect("turn.completed", "t1")  # the opening question
    return session


async def create_idle_sessions(env: dict[str, str], share_token: str, count: int) -> list[str]:
    """Sessions for the idle streams, started through the runtime in this process (the same
    conversation.start the API calls, opening turn included), so the server under measurement
    spends no memory on creating them; returns their events paths with a signed ticket."""
    from runtime import conversation, tickets
    from runtime.services import Services
    from runtime.settings import Settings

    settings = Settings.from_env(env)
    services = await Services.open(settings)
    try:

        async def one() -> str:
            started = await conversation.start(services, share_token, {})
            session_id = str(started.row["id"])
            for task in asyncio.all_tasks():
                if task.get_name() == f"turn:{session_id}":
                    await task  # the opening turn, generated here
            ticket = tickets.issue(settings.secret_key, session_id, settings.ticket_ttl_seconds)
            return f"/v1/sessions/{session_id}/events?ticket={ticket}"

        results = await gather_limited([one() for _ in range(count)], 16)
    finally:
        await services.close()
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} idle sessions failed to start: {failed[0]!r}")
    return list(results)


async def bench_rapport(server: Server, env: dict[str, str], api_key: str, args: Any) -> Result:
    result = Result("rapport", rss_started=rss_kb(server.pid), nofile=nofile_limit(server.pid))
    share_token = await publish_interview(server.port, api_key, len(args.rates) + 2)
    began = time.perf_counter()
    made = await gather_limited(
        [rapport_session(server.port, share_token) for _ in range(args.sessions)], 50
    )
    result.setup_seconds = time.perf_counter() - began
    sessions = [s for s in made if isinstance(s, Session)]
    result.setup_failures = len(made) - len(sessions)
    await rounds(server, sessions, result, args)
    if args.idle_streams:
        count = math.ceil(args.idle_streams / args.streams_per_session)
        print(f"  creating {count} idle sessions through the runtime…", file=sys.stderr)
        began = time.perf_counter()
        paths = await create_idle_sessions(env, share_token, count)
        print(f"  … in {time.perf_counter() - began:.0f}s", file=sys.stderr)
        paths = [p for p in paths for _ in range(args.streams_per_session)][: args.idle_streams]
        print(f"  opening {len(paths)} idle streams…", file=sys.stderr)
        result.idle = await hold_idle_streams(
            server,
            paths,
            lambda s: s.expect("turn.completed", "t1"),  # the whole log was replayed
            count,
            args.idle_hold,
            args.connect_concurrency,
        )
    for session in sessions:
        assert session.stream is not None
        session.stream.close()
    return result


async def baseline_session(port: int, index: int) -> Session:
    sid = f"b{index:06d}"
    session = Session(sid, f"/messages/{sid}", {"authorization": f"Bearer st_{sid}"}, turns=False)
    session.stream = await open_stream(port, f"/events/{sid}")
    async with asyncio.timeout(WAIT):
        await session.stream.opened  # headers: the handler is running and its queue exists
    return session


async def bench_baseline(server: Server, args: Any) -> Result:
    result = Result("baseline", rss_started=rss_kb(server.pid), nofile=nofile_limit(server.pid))
    began = time.perf_counter()
    made = await gather_limited(
        [baseline_session(server.port, i) for i in range(args.sessions)], 50
    )
    result.setup_seconds = time.perf_counter() - began
    sessions = [s for s in made if isinstance(s, Session)]
    result.setup_failures = len(made) - len(sessions)
    await rounds(server, sessions, result, args)
    if args.idle_streams:
        print(f"  opening {args.idle_streams} idle streams…", file=sys.stderr)
        paths = [f"/events/idle{i:06d}" for i in range(args.idle_streams)]
        result.idle = await hold_idle_streams(
            server,
            paths,
            lambda s: s.opened,
            len(paths),
            args.idle_hold,
            args.connect_concurrency,
        )
    for session in sessions:
        assert session.stream is not None
        session.stream.close()
    return result


async def rounds(server: Server, sessions: list[Session], result: Result, args: Any) -> None:
    """The paced rounds in the order given, then the burst; round i answers turn t{i+1}."""
    print(f"  {server.name}: {len(sessions)} sessions live, posting…", file=sys.stderr)
    plan = [(f"paced {rate:g}/s", rate) for rate in args.rates]
    if not args.no_burst:
        plan.append(("burst", 0.0))
    for index, (label, rate) in enumerate(plan):
        turn_id = f"t{index + 2}"  # t1 is the opening question
        result.rounds.append(await run_round(server, sessions, label, turn_id, answer(index), rate))
        await asyncio.sleep(1)


# ---------------------------------------------------------------------------------------------
# Setting up and tearing down the stores, and the run itself.


@contextlib.contextmanager
def stores(database: str, workdir: Path) -> Iterator[str]:
    """Yields the DATABASE_URL; Redis db 14 and the database are emptied before and after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    admin = POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"
    try:
        if database == "postgres":
            _postgres(admin, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
            _postgres(admin, f'CREATE DATABASE "{BENCH_DATABASE}"')
            yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + BENCH_DATABASE
        else:
            yield f"sqlite:///{workdir / 'rapport.db'}"
    finally:
        with contextlib.suppress(Exception):
            client.flushdb()
        client.close()
        if database == "postgres":
            with contextlib.suppress(Exception):
                _postgres(admin, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def _postgres(url: str, statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


async def create_api_key(env: dict[str, str]) -> str:
    from runtime import keys
    from runtime.database import Database
    from runtime.settings import Settings

    db = Database.from_settings(Settings.from_env(env))
    try:
        workspace_id = await keys.ensure_workspace(db, "bench")
        return (await keys.create_key(db, workspace_id, "bench")).plaintext
    finally:
        await db.close()


async def main_async(args: Any, env: dict[str, str], workdir: Path, nofile: int) -> list[Result]:
    results: list[Result] = []
    api_key = await create_api_key(env)
    servers = [
        ("rapport", "bench.rapport_app:create", env),
        ("baseline", "bench.baseline_app:create", {**env, "BENCH_PING_SECONDS": str(PING_SECONDS)}),
    ]
    for name, factory, server_env in servers:
        if args.only and args.only != name:
            continue
        if args.tracemalloc:
            server_env = {**server_env, "BENCH_TRACEMALLOC": str(workdir / name)}
            (workdir / name).mkdir()
        server = Server(name, factory, server_env, workdir)
        RUNNING.append(server)
        print(f"{name}: starting uvicorn on port {server.port}…", file=sys.stderr)
        server.start(nofile)
        await server.wait_ready()
        try:
            if name == "rapport":
                result = await bench_rapport(server, env, api_key, args)
            else:
                result = await bench_baseline(server, args)
            if server.proc is not None and server.proc.poll() is not None:
                raise RuntimeError(f"{name} exited during the run:\n{server.tail()}")
            if problems := server.problems():
                kept = Path(tempfile.gettempdir()) / f"rapport-bench-{name}.log"
                shutil.copy(server.log, kept)
                print(f"--- {name} logged (the whole log: {kept}) ---", file=sys.stderr)
                print(problems, file=sys.stderr)
            if result.idle is not None:
                result.allocations = server.allocation_report(result.idle.opened)
            results.append(result)
        finally:
            await asyncio.sleep(0.5)  # let the server see the streams close
            server.stop()
    return results


RUNNING: list[Server] = []


def stop_all() -> None:
    for server in RUNNING:
        with contextlib.suppress(Exception):
            server.stop()


def _sigterm(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)


# ---------------------------------------------------------------------------------------------
# The report.


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _max(values: Sequence[float]) -> float:
    return max(values, default=math.nan)


def _normal(frame: bytes) -> bytes:
    """A frame with its event id (a Redis Stream id, or the baseline's imitation) blanked."""
    return re.sub(rb"^id: [0-9-]+", b"id: <id>", frame, flags=re.MULTILINE)


def _verdict(met: bool, full_scale: bool, scale: str) -> str:
    if not met:
        return "NOT MET"
    return "met" if full_scale else f"met at {scale} only; run at full scale to judge"


def _ratio(ours: float, theirs: float) -> str:
    if math.isnan(ours) or math.isnan(theirs) or theirs <= 0:
        return "—"
    return f"x{ours / theirs:.1f}"


def report(results: list[Result], args: Any, database: str) -> str:
    by_name = {r.name: r for r in results}
    out: list[str] = []
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out.append(
        f"Rapport SSE benchmark · {now} · {os.cpu_count()} CPUs · {platform.system()} "
        f"{platform.release()} · Python {platform.python_version()} · {database}"
    )
    out.append(
        "servers: one uvicorn process each (uvloop, httptools, --no-access-log); "
        "client: this process, asyncio protocols on uvloop"
    )
    for r in results:
        out.append(
            f"  {r.name}: RSS at start {r.rss_started / 1024:.1f} MB, open-file limit "
            f"{r.nofile}, {args.sessions - r.setup_failures}/{args.sessions} sessions live in "
            f"{r.setup_seconds:.1f}s"
        )
    out.append("")
    out.append(
        f"POST → first turn.delta on the session's stream · {args.sessions} concurrent "
        "sessions, every stream open"
    )
    header = (
        f"{'round':<14}{'server':<10}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'202 p99':>9}{'fail':>6}{'srv CPU':>9}{'redis':>7}{'cli CPU':>9}{'cli lag p99':>13}"
    )
    out.append(header)
    labels = [rd.label for rd in results[0].rounds] if results else []
    for index, label in enumerate(labels):
        rows: dict[str, Round] = {}
        for r in results:
            if index < len(r.rounds):
                rows[r.name] = r.rounds[index]
        for name in ("baseline", "rapport"):
            rd = rows.get(name)
            if rd is None:
                continue
            out.append(
                f"{label if name == next(iter(rows)) else '':<14}{name:<10}"
                f"{len(rd.latencies):>6}{_ms(percentile(rd.latencies, 50)):>9}"
                f"{_ms(percentile(rd.latencies, 99)):>9}{_ms(_max(rd.latencies)):>9}"
                f"{_ms(percentile(rd.acks, 99)):>9}{rd.failures:>6}"
                f"{rd.server_cpu:>8.0%}{rd.redis_cpu:>7.0%}{rd.client_cpu:>9.0%}"
                f"{_ms(percentile(rd.lags, 99)):>13}"
            )
        if "baseline" in rows and "rapport" in rows:
            ours, theirs = rows["rapport"], rows["baseline"]
            out.append(
                f"{'':<14}{'ratio':<10}{'':>6}"
                f"{_ratio(percentile(ours.latencies, 50), percentile(theirs.latencies, 50)):>9}"
                f"{_ratio(percentile(ours.latencies, 99), percentile(theirs.latencies, 99)):>9}"
                f"{_ratio(_max(ours.latencies), _max(theirs.latencies)):>9}"
            )
    every = ", ".join(f"{args.sessions / rate:g}s" for rate in args.rates)
    out.append(
        "  paced R/s: every session posts one answer, in a shuffled order, R posts a second "
        f"(so each of the {args.sessions} respondents answers once every {every}); "
        "burst: all at once. Each round waits for every turn to complete."
    )
    frames = {r.name: r.rounds[0].frame for r in results if r.rounds}
    for name, frame in frames.items():
        out.append(f"  first turn.delta as {name} sent it: {frame!r}")
    if len(frames) == 2:
        same = _normal(frames["rapport"]) == _normal(frames["baseline"])
        out.append(
            "  → the same bytes apart from the event id"
            if same
            else "  ! the baseline's frame differs from Rapport's: fix bench/baseline_app.py"
        )
    out.append(
        "  202 p99: POST → its 202; srv CPU, redis, cli CPU: share of one core used during the "
        "round by the server (SQLite threads included), the Redis server and this client; "
        "cli lag: how late the client wrote a POST against its schedule."
    )

    idles = {r.name: r.idle for r in results if r.idle is not None}
    if idles:
        out.append("")
        out.append(
            f"Memory per idle stream · {args.idle_streams} streams opened at once on top of the "
            f"{args.sessions} session streams"
        )
        hold = f"after {args.idle_hold:g}s"
        out.append(
            f"{'server':<10}{'opened':>8}{'fail':>6}{'open/s':>8}{'RSS before':>12}"
            f"{'connected':>11}{'alive':>7}{'KB/stream':>10}{hold:>11}{'alive':>7}"
            f"{'KB/stream':>10}{'idle CPU':>10}{'pinged':>8}"
        )
        for name in ("baseline", "rapport"):
            idle = idles.get(name)
            if idle is None:
                continue
            out.append(
                f"{name:<10}{idle.opened:>8}{idle.failures:>6}"
                f"{idle.opened / idle.open_seconds:>8.0f}{idle.rss_before / 1024:>9.1f} MB"
                f"{idle.rss_connected / 1024:>8.1f} MB{idle.alive_connected:>7}"
                f"{idle.kb_connected:>10.1f}{idle.rss_held / 1024:>8.1f} MB{idle.alive:>7}"
                f"{idle.kb_per_stream:>10.1f}{idle.hold_cpu:>10.0%}{idle.pinged:>8}"
            )
        if "baseline" in idles and "rapport" in idles:
            mine, bare = idles["rapport"], idles["baseline"]
            out.append(
                f"{'ratio':<10}{'':>8}{'':>6}{'':>8}{'':>12}{'':>11}{'':>7}"
                f"{_ratio(mine.kb_connected, bare.kb_connected):>10}{'':>11}{'':>7}"
                f"{_ratio(mine.kb_per_stream, bare.kb_per_stream):>10}"
            )
        per_session = (
            f"{args.streams_per_session} streams per session"
            if args.streams_per_session > 1
            else "one session per stream"
        )
        out.append(
            "  KB/stream = (RSS then - RSS before) / streams still open then; alive: streams "
            "the server had not dropped; pinged: streams that got a ping during the hold; idle "
            "CPU: server's share of one core during the hold."
        )
        out.append(
            f"  Rapport: {per_session}, sessions started through the runtime in the client "
            "process; a stream counts as open once it has replayed its session's log. "
            "Baseline: once its headers arrived."
        )
        for name, idle in idles.items():
            if idle.alive < idle.opened or idle.failures:
                out.append(
                    f"  ! {name} failed to open {idle.failures} and dropped "
                    f"{idle.opened - idle.alive} of {idle.opened} open streams "
                    "(see the summary of its log printed above)"
                )

    for r in results:
        if r.allocations:
            out.append("")
            out.extend(r.allocations)

    out.append("")
    out.append("Targets")
    rapport = by_name.get("rapport")
    if rapport and rapport.idle:
        idle = rapport.idle
        met = idle.alive == idle.streams and idle.kb_per_stream <= TARGET_KB
        out.append(
            f"  {TARGET_STREAMS:,} idle streams in one process at ≤ {TARGET_KB:g} KB each: "
            f"{idle.alive} of {idle.streams} still open after {idle.hold:g}s, "
            f"{idle.kb_per_stream:.1f} KB each → "
            + _verdict(met, idle.streams >= TARGET_STREAMS, f"{idle.streams} streams")
        )
    if rapport and rapport.rounds:
        scale = "" if args.sessions >= TARGET_SESSIONS else f" (only {args.sessions} sessions)"
        out.append(
            f"  p99 POST→first delta ≤ {TARGET_P99_MS:g} ms at {TARGET_SESSIONS:,} concurrent "
            f"sessions{scale}:"
        )
        for rd in rapport.rounds:
            p99 = percentile(rd.latencies, 99)
            met = not math.isnan(p99) and p99 <= TARGET_P99_MS and rd.failures == 0
            failed = f", {rd.failures} failed" if rd.failures else ""
            full = args.sessions >= TARGET_SESSIONS
            out.append(
                f"    {rd.label:<13} p99 {_ms(p99):>6} ms{failed} → "
                + _verdict(met, full, f"{args.sessions} sessions")
            )
    return "\n".join(out)


def _rates(text: str) -> tuple[float, ...]:
    rates = tuple(float(part) for part in text.split(",") if part.strip())
    if not rates or min(rates) <= 0:
        raise argparse.ArgumentTypeError("rates must be positive numbers, e.g. 25,50,100")
    return rates


def parse_args(argv: list[str] | None) -> Any:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sse", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sessions", type=int, default=1000, help="concurrent sessions")
    parser.add_argument("--idle-streams", type=int, default=10000, help="idle streams to hold")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--rates",
        type=_rates,
        default=(25.0, 50.0, 100.0),
        help="posts per second of each paced round, in order (default 25,50,100)",
    )
    parser.add_argument("--no-burst", action="store_true", help="skip the all-at-once round")
    parser.add_argument(
        "--streams-per-session",
        type=int,
        default=1,
        help="idle streams per Rapport session (fewer sessions to create)",
    )
    parser.add_argument(
        "--idle-hold",
        type=float,
        default=None,
        help="seconds to hold the idle streams (default: one ping interval + 1 s at 5000 "
        "streams or more, else 2 s)",
    )
    parser.add_argument("--connect-concurrency", type=int, default=200)
    parser.add_argument("--only", choices=("rapport", "baseline"), help="run one server only")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the servers' memory and print where the idle streams' memory went "
        "(distorts the RSS figures)",
    )
    args = parser.parse_args(argv)
    if args.idle_hold is None:
        args.idle_hold = PING_SECONDS + 1.0 if args.idle_streams >= 5000 else 2.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile(2 * args.sessions + args.idle_streams + 1024)
    signal.signal(signal.SIGTERM, _sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    try:
        with stores(args.database, workdir) as database_url:
            from runtime import migrate
            from runtime.settings import Settings

            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "RAPPORT_DATA_DIR": str(workdir / "data"),
                "RAPPORT_SECRET_KEY": secrets.token_urlsafe(32),
                "RAPPORT_SCRIPTED_DELTA_DELAY_MS": "15",
                "PYTHONUNBUFFERED": "1",
            }
            migrate.upgrade(Settings.from_env(env).database_url)
            runner = _event_loop_runner()
            results = runner(main_async(args, env, workdir, nofile))
            print(report(results, args, args.database))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _event_loop_runner() -> Callable[[Any], Any]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


if __name__ == "__main__":
    sys.exit(main())
