"""The LLM interviewer: streams an OpenAI-compatible model's reply, retries, falls back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import openai
import structlog
from openai import AsyncOpenAI

from runtime.engines import ending, moves, prompt
from runtime.engines.base import Decision, TextDelta, TurnContext
from runtime.engines.partial_json import PartialJsonError, PartialObject, TextPiece
from runtime.engines.scripted import plan
from runtime.engines.splice import Splice
from runtime.platform.text import storable

log = structlog.get_logger(__name__)

_BACKOFF_S = (0.1, 0.3, 0.8, 1.5)


@dataclass(frozen=True)
class LLMConfig:
    model: str
    temperature: float
    max_tokens: int
    first_token_timeout: float  # seconds to the first chunk (request included)
    token_timeout: float  # seconds allowed between chunks
    turn_deadline: float  # seconds of retrying before the scripted fallback takes the turn


# Statuses that say the request itself is wrong (bad key, unknown model, bad parameter):
# asking again cannot help, so the scripted engine takes the turn at once.
_NOT_RETRYABLE = frozenset({400, 401, 403, 404, 422})


class UpstreamFailed(Exception):
    def __init__(
        self, reason: str, retry_after: float | None = None, retryable: bool = True
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.retryable = retryable


@dataclass
class _Attempt:
    """What one streamed completion produced."""

    text: str = ""
    proposal: dict[str, Any] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_at: float | None = None
    tool_args: dict[int, list[str]] = field(default_factory=dict)
    # The first tool call's arguments read as they stream, for a reply written inside them.
    arguments: PartialObject | None = field(default_factory=PartialObject)
    # Where the reply is coming from, once its first word has: it then comes from there only.
    source: Literal["content", "arguments"] | None = None

    def said(self, piece: str) -> str:
        """A piece of the reply: kept as TextDelta will make it (what is sent is what is kept)."""
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        piece = storable(piece)
        self.text += piece
        return piece

    def from_arguments(self, fragment: str) -> list[str]:
        """The reply's words in this piece of the first tool call's arguments (its `message`),
        unless the reply is coming as text. Arguments that are not one JSON object stop
        being read: the reply is what was shown, the move what json.loads makes of them."""
        if self.arguments is None or self.source == "content":
            return []
        try:
            events = self.arguments.feed(fragment)
        except PartialJsonError:
            self.arguments = None
            return []
        pieces = [e.text for e in events if isinstance(e, TextPiece) and e.name == "message"]
        if pieces:
            self.source = "arguments"
        return [self.said(p) for p in pieces]


class LLMEngine:
    def __init__(self, client: AsyncOpenAI, config: LLMConfig) -> None:
        self._client = client
        self._config = config

    async def respond(self, ctx: TurnContext) -> AsyncIterator[TextDelta | Decision]:
        began = time.monotonic()
        overrides = ctx.interview.get("settings") or {}
        model = str(overrides.get("model") or self._config.model)
        temperature = overrides.get("temperature")
        temperature = self._config.temperature if temperature is None else float(temperature)
        meta: dict[str, Any] = {"engine": "llm", "model": model}
        forced = ending.out_of_time(ctx)
        position = prompt.Position.of(ctx)
        if forced is not None and position.current is not None:
            # The runtime closes on time: no model call, the closing message as configured.
            yield TextDelta(ending.closing_message(ctx))
            meta.update(forced_close=forced, total_ms=_ms(began))
            yield ending.closing(ctx, meta)
            return
        welcome = (ctx.interview.get("welcome_message") or "").strip()
        prefix = f"{welcome}\n\n" if position.current is None and welcome else ""
        if prefix:
            yield TextDelta(prefix)
        messages = prompt.messages(ctx, position)
        tools = [prompt.tool(position)]
        sent = prefix
        deadline = began + self._config.turn_deadline
        attempts = 0
        usage = [0, 0]
        failure: UpstreamFailed | None = None
        result: _Attempt | None = None
        while True:
            attempts += 1
            splice = Splice(sent, ctx.phrases.rephrase())
            splice.feed(prefix)
            attempt = _Attempt()
            try:
                async for piece in self._complete(model, temperature, messages, tools, attempt):
                    out = splice.feed(piece)
                    if out:
                        yield TextDelta(out)
                tail = splice.finish()
                if tail:
                    yield TextDelta(tail)
                sent = splice.text
                result = attempt
            except UpstreamFailed as exc:
                failure = exc
            finally:
                usage[0] += attempt.prompt_tokens
                usage[1] += attempt.completion_tokens
                if attempt.first_token_at is not None and "ttft_ms" not in meta:
                    meta["ttft_ms"] = round((attempt.first_token_at - began) * 1000, 1)
            if result is not None:
                break
            sent = splice.text
            assert failure is not None
            wait = failure.retry_after or _BACKOFF_S[min(attempts - 1, len(_BACKOFF_S) - 1)]
            log.warning("llm.attempt_failed", reason=failure.reason, attempt=attempts)
            if not failure.retryable or time.monotonic() + wait >= deadline:
                break
            await asyncio.sleep(wait)
        meta.update(attempts=attempts, prompt_tokens=usage[0], completion_tokens=usage[1])
        if result is None:
            assert failure is not None
            # Out of time: the scripted engine takes this turn, continuing what was sent.
            text, decision = plan(ctx)
            splice = Splice(sent, ctx.phrases.rephrase())
            out = splice.feed(text) + splice.finish()
            if out:
                yield TextDelta(out)
            meta.update(fallback=True, fallback_reason=failure.reason, total_ms=_ms(began))
            yield Decision(
                decision.move,
                decision.item_id,
                {**decision.state, "covered": list(ctx.state.get("covered", []))},
                decision.completes,
                metadata=meta,
            )
            return
        decision, extra, overruled = moves.decide(ctx, position, result.proposal, sent)
        if extra:
            yield TextDelta(extra)
        meta.update(fallback=False, move=decision.move, total_ms=_ms(began))
        if overruled:
            # It may quote the model's move or item id: stored, so storable and short.
            meta["overruled"] = storable(overruled)[:300]
        yield Decision(
            decision.move, decision.item_id, decision.state, decision.completes, metadata=meta
        )

    async def _complete(
        self,
        model: str,
        temperature: float,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        attempt: _Attempt,
    ) -> AsyncIterator[str]:
        """One streamed completion: yields text as it arrives; raises UpstreamFailed."""
        cfg = self._config
        finished = False
        stream: Any = None
        waited_since = time.monotonic()
        try:
            # Timeouts wrap only the awaits on the upstream, never the consumer's work
            # between yields, so a slow event log cannot be mistaken for a slow model.
            async with asyncio.timeout(cfg.first_token_timeout):
                stream = await self._client.chat.completions.create(
                    model=model,
                    messages=cast(Any, messages),
                    tools=cast(Any, tools),
                    tool_choice="auto",
                    temperature=temperature,
                    max_tokens=cfg.max_tokens,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            chunks = aiter(stream)
            while True:
                if attempt.first_token_at is None:
                    limit = cfg.first_token_timeout - (time.monotonic() - waited_since)
                else:
                    limit = cfg.token_timeout
                try:
                    async with asyncio.timeout(max(limit, 0.001)):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                if chunk.usage is not None:
                    attempt.prompt_tokens = chunk.usage.prompt_tokens
                    attempt.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    delta = choice.delta
                    if choice.finish_reason:
                        finished = True
                    for call in delta.tool_calls or []:
                        parts = attempt.tool_args.setdefault(call.index, [])
                        if call.function and call.function.arguments:
                            parts.append(call.function.arguments)
                            if call.index == min(attempt.tool_args):
                                for piece in attempt.from_arguments(call.function.arguments):
                                    yield piece
                    if delta.content and attempt.source != "arguments":
                        attempt.source = "content"
                        yield attempt.said(delta.content)
        except TimeoutError as exc:
            reason = "first_token_timeout" if attempt.first_token_at is None else "token_timeout"
            raise UpstreamFailed(reason) from exc
        except openai.APIStatusError as exc:
            retryable = exc.status_code not in _NOT_RETRYABLE
            raise UpstreamFailed(f"http_{exc.status_code}", _retry_after(exc), retryable) from exc
        except Exception as exc:  # connection errors, malformed chunks (httpx/json, unwrapped)
            raise UpstreamFailed(type(exc).__name__) from exc
        finally:
            if stream is not None:
                with contextlib.suppress(Exception):
                    await stream.close()
        if not finished:
            raise UpstreamFailed("truncated_stream")
        attempt.proposal = _proposal(attempt.tool_args)
        if not attempt.text and attempt.proposal and attempt.proposal.get("message"):
            # A reply inside the tool call that could not be read as it streamed.
            yield attempt.said(str(attempt.proposal["message"]))


def _proposal(tool_args: dict[int, list[str]]) -> dict[str, Any] | None:
    for index in sorted(tool_args):
        try:
            value = json.loads("".join(tool_args[index]) or "{}")
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw:
            try:
                return max(0.0, float(raw) * scale)
            except ValueError:
                continue
    return None


def _ms(since: float) -> float:
    return round((time.monotonic() - since) * 1000, 1)
