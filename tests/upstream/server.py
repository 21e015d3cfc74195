"""The OpenAI-compatible HTTP server: chat completions (streamed or not), models, failure modes.

The failure mode is chosen per request through the model name: `mock` behaves, and
`mock:<mode>` misbehaves in one of MODES; `mock:<mode>*N` misbehaves on the first N attempts
at the same conversation and then behaves (a retry sends the same messages). A suffix
`@<ms>` sets the delay between tokens for that request (`mock@40`, `mock:cut*1@20`).
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
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.upstream import model

MODES = (
    "400", "500", "429", "stall-first", "stall-mid", "cut", "malformed", "truncated",
    "unstorable", "in-arguments",
)  # fmt: skip
# `in-arguments` is not a failure: the model writes its reply inside the tool call's
# arguments (`message`, after the move) and no text, streamed a few characters at a time.
# What `unstorable` slips into the text and the move: what no store can hold.
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
        text, move = model.reply(messages, body.get("tools"))
        if mode in (None, "in-arguments") and move is not None:
            text, move = "", {**move, "message": text}
        usage = {
            "prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in messages),
            "completion_tokens": len(model.tokens(text)) + (8 if move else 0),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            seen.finished_at = time.monotonic()
            return JSONResponse(_completion(name, text, move, usage))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = _stream(seen, token_delay, text, move, usage if include_usage else None)
        return StreamingResponse(chunks, media_type="text/event-stream")

    app = Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", completions, methods=["POST"]),
        ]
    )
    app.state.upstream = state
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


def _completion(
    name: str, text: str, move: dict[str, Any] | None, usage: dict[str, int]
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if move is not None:
        message["tool_calls"] = [_tool_call(move)]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": name,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if move else "stop"}
        ],
        "usage": usage,
    }


def _tool_call(move: dict[str, Any]) -> dict[str, Any]:
    arguments = json.dumps(move)
    return {
        "id": "call_move",
        "type": "function",
        "function": {"name": "record_move", "arguments": arguments},
    }


async def _stream(
    seen: Seen,
    token_delay: float,
    text: str,
    move: dict[str, Any] | None,
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
    pieces = model.tokens(text)
    if mode == "unstorable":
        pieces = [piece + UNSTORABLE[i % 2] for i, piece in enumerate(pieces)]
        if move is not None:
            unstorable = "".join(pieces)
            move = {**move, "covered_item_ids": list(UNSTORABLE), "message": unstorable}
    half = max(1, len(pieces) // 2)
    for index, piece in enumerate(pieces):
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
        yield chunk({"content": piece})
    if move is not None:
        call = _tool_call(move)
        arguments = call["function"]["arguments"]
        opening = {**call, "index": 0, "function": {"name": "record_move", "arguments": ""}}
        yield chunk({"tool_calls": [opening]})
        middle = len(arguments) // 2
        parts = [arguments[:middle], arguments[middle:]]
        if mode in (None, "in-arguments"):  # as a model writes them: a few characters per token
            parts = [arguments[i : i + 6] for i in range(0, len(arguments), 6)]
        for index, part in enumerate(parts):
            if index and token_delay and mode in (None, "in-arguments"):
                await asyncio.sleep(token_delay)
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
    yield chunk({}, "tool_calls" if move else "stop")
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
