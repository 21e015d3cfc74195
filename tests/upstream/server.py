"""The OpenAI-compatible HTTP server: chat completions (streamed or not), models, failure modes.

The behaviour is chosen per request through the model name: `mock` behaves, and
`mock:<mode>` misbehaves in one of MODES; `mock:<mode>*N` misbehaves on the first N attempts
at the same conversation and then behaves (a retry sends the same messages). A suffix
`@<ms>` sets the delay between tokens for that request (`mock@40`, `mock:cut*1@20`). The
speech endpoints (`/v1/audio/…`) are in tests/upstream/audio.py; the answers to synthesis
and judging requests in tests/upstream/synthesis.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.upstream import audio, model, synthesis

# The behaving model writes the protocol of issue 11: when tools are offered, one
# record_move call whose arguments are, in order, value, confidence, move, item_id,
# covered_item_ids (when any) and message (the reply), and no text. `in-arguments` is the
# same (its name from before, when the behaving model wrote text first).
FAILURES = (
    "400", "500", "429",  # the HTTP error at once
    "stall-first",  # no first chunk for STALL_SECONDS
    "stall-mid", "cut", "malformed", "truncated",  # halfway: stall, drop, bad chunk, stop
    "unstorable",  # NUL and lone surrogates in the reply and the move (no store holds them)
)  # fmt: skip
MISBEHAVIOURS = (
    "in-arguments",  # as `mock`
    "no-tool",  # the reply as plain content, no tool call at all
    "content-then-tool",  # the reply as content, then the call without `message` (old protocol)
    "both",  # the reply as content and again in the arguments' `message`
    "unknown-item",  # every `next` names item Q99, which the guide does not have
    "close-early",  # `close` at the first answer, saying goodbye with a question (GOODBYE)
    "json-content",  # no call: the arguments as JSON content, in ```json fences every other turn
    "wrong-move",  # a probe's words ("Could you tell me…?") with `next` to the next item
    "message-first",  # the arguments with `message` written before `move`
    "bad-value",  # on choice/rating items a value off the options/scale, confidence 0.95, next
    "leak-guidance",  # the researcher's guidance in the prompt, told to the respondent (probe)
)  # fmt: skip
MODES = FAILURES + MISBEHAVIOURS
# What `unstorable` slips into the reply and the move: what no store can hold.
UNSTORABLE = ("\x00", "\ud800")
STALL_SECONDS = 60.0
RETRY_AFTER_MS = 300


class CutConnection(Exception):
    """Raised inside a streamed body: the server drops the connection mid-response."""


@dataclass
class Seen:
    at: float
    model: str
    mode: str | None
    stream: bool
    messages: list[dict[str, Any]]
    finished_at: float | None = None


@dataclass
class State:
    token_delay: float
    attempts: dict[str, int] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)


def create_app(token_delay_ms: float = 0.0) -> Starlette:
    state = State(token_delay_ms / 1000)

    async def models(request: Request) -> Response:
        data = [{"id": "mock", "object": "model", "created": 0, "owned_by": "rapport-tests"}]
        return JSONResponse({"object": "list", "data": data})

    async def completions(request: Request) -> Response:
        body = await request.json()
        name, _, delay = str(body.get("model", "mock")).partition("@")
        messages = body.get("messages") or []
        mode = _failure(state, name, messages)
        seen = Seen(time.monotonic(), name, mode, bool(body.get("stream")), messages)
        state.requests.append(seen)
        token_delay = float(delay) / 1000 if delay else state.token_delay
        if mode == "400":
            return _error(400, "unsupported parameter", "invalid_request_error")
        if mode == "500":
            return _error(500, "upstream exploded", "server_error")
        if mode == "429":
            headers = {"retry-after-ms": str(RETRY_AFTER_MS), "retry-after": "1"}
            return _error(429, "rate limited", "rate_limit_exceeded", headers)
        if synthesis.asked(messages):
            written = model.Reply(content=synthesis.answer(messages, mode), arguments=None)
        elif synthesis.judging(messages):
            written = model.Reply(content=synthesis.card(messages, mode), arguments=None)
        else:
            written = model.reply(messages, body.get("tools"), mode)
        if mode == "unstorable":
            written = _unstorable(written)
        pieces = _pieces(written)
        usage = {
            "prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in messages),
            "completion_tokens": len(pieces),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            seen.finished_at = time.monotonic()
            return JSONResponse(_completion(name, written, usage))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        called = written.arguments is not None
        chunks = _stream(seen, token_delay, pieces, called, usage if include_usage else None)
        return StreamingResponse(chunks, media_type="text/event-stream")

    heard = audio.AudioState()
    speech = [
        Route(path, handler, methods=["POST"]) for path, handler in audio.routes(heard).items()
    ]
    app = Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", completions, methods=["POST"]),
            *speech,
        ]
    )
    app.state.upstream = state
    app.state.audio = heard
    return app


def create_from_env() -> Starlette:
    """The uvicorn factory for a separate process (bench): UPSTREAM_TOKEN_DELAY_MS sets the pace."""
    return create_app(float(os.environ.get("UPSTREAM_TOKEN_DELAY_MS", "0")))


def _failure(state: State, name: str, messages: list[dict[str, Any]]) -> str | None:
    if ":" not in name:
        return None
    spec = name.split(":", 1)[1]
    mode, _, times = spec.partition("*")
    if mode not in MODES:
        return None
    key = hashlib.sha256(json.dumps([name, messages], sort_keys=True).encode()).hexdigest()
    state.attempts[key] = state.attempts.get(key, 0) + 1
    if times and state.attempts[key] > int(times):
        return None
    return mode


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"message": message, "type": kind, "code": kind}}
    return JSONResponse(body, status_code=status, headers=headers)


def _completion(name: str, written: model.Reply, usage: dict[str, int]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": written.content}
    if written.arguments is not None:
        message["tool_calls"] = [_tool_call(json.dumps(written.arguments))]
    finish = "tool_calls" if written.arguments is not None else "stop"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": name,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    }


def _tool_call(arguments: str) -> dict[str, Any]:
    return {
        "id": "call_move",
        "type": "function",
        "function": {"name": "record_move", "arguments": arguments},
    }


def _unstorable(written: model.Reply) -> model.Reply:
    """The reply's words each followed by a NUL or a lone surrogate, and both in the move."""

    def spoiled(text: str) -> str:
        return "".join(p + UNSTORABLE[i % 2] for i, p in enumerate(model.tokens(text)))

    arguments = written.arguments
    if arguments is not None:
        arguments = {**arguments, "move": f"{arguments['move']}\x00"}
        arguments["covered_item_ids"] = list(UNSTORABLE)
        if "message" in arguments:
            arguments["message"] = spoiled(str(arguments["message"]))
    return model.Reply(spoiled(written.content), arguments)


Piece = tuple[Literal["content", "arguments"], str]


def _pieces(written: model.Reply) -> list[Piece]:
    """What the stream carries, in order: the content's tokens, then the tool call's arguments
    as a model writes them, a field at a time and the message a token at a time."""
    pieces: list[Piece] = [("content", token) for token in model.tokens(written.content)]
    if written.arguments is None:
        return pieces
    opening = "{"
    for key, value in written.arguments.items():
        opening += json.dumps(key) + ": "
        if key == "message" and isinstance(value, str):
            pieces.append(("arguments", opening + '"'))
            # Each token encoded alone: JSON escapes are per character, so they join back.
            pieces += [("arguments", json.dumps(t)[1:-1]) for t in model.tokens(value)]
            opening = '"'
        else:
            pieces.append(("arguments", opening + json.dumps(value)))
            opening = ""
        opening += ", "
    pieces.append(("arguments", opening.removesuffix(", ") + "}"))
    return pieces


async def _stream(
    seen: Seen,
    token_delay: float,
    pieces: list[Piece],
    called: bool,
    usage: dict[str, int] | None,
) -> AsyncIterator[bytes]:
    mode = seen.mode
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": seen.model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return b"data: " + json.dumps({**base, "choices": [choice]}).encode() + b"\n\n"

    if mode == "stall-first":
        await asyncio.sleep(STALL_SECONDS)
    yield chunk({"role": "assistant", "content": ""})
    half = max(1, len(pieces) // 2)
    opened = False
    for index, (kind, piece) in enumerate(pieces):
        if index == half and mode in ("stall-mid", "cut", "malformed", "truncated"):
            if mode == "stall-mid":
                await asyncio.sleep(STALL_SECONDS)
            if mode == "cut":
                raise CutConnection("connection cut by the test upstream")
            if mode == "malformed":
                yield b'data: {"choices": [{"delta": {"content": "oops\n\n'
                return
            if mode == "truncated":
                return
        if index and token_delay:
            await asyncio.sleep(token_delay)
        if kind == "content":
            yield chunk({"content": piece})
            continue
        if not opened:
            opening = {**_tool_call(""), "index": 0}
            yield chunk({"tool_calls": [opening]})
            opened = True
        yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if called else "stop")
    if usage is not None:
        yield b"data: " + json.dumps({**base, "choices": [], "usage": usage}).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"
    seen.finished_at = time.monotonic()


class Upstream:
    """The server on a free port inside the running event loop (tests), or as `python -m`."""

    def __init__(self, port: int, token_delay_ms: float = 0.0) -> None:
        self.port = port
        self.app = create_app(token_delay_ms)
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def state(self) -> State:
        state: State = self.app.state.upstream
        return state

    @property
    def audio(self) -> audio.AudioState:
        heard: audio.AudioState = self.app.state.audio
        return heard

    def requests_for(self, fragment: str) -> list[Seen]:
        """The requests whose conversation mentions `fragment` (a test's own marker)."""
        return [r for r in self.state.requests if fragment in json.dumps(r.messages)]

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
