"""The LLM interviewer: streams an OpenAI-compatible model's reply, retries, falls back."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import openai
import structlog
from openai import AsyncOpenAI

from runtime.engines import course, ending, prompt, texts
from runtime.engines.answers import Resolution, resolve
from runtime.engines.base import Decision, TextDelta, TurnContext
from runtime.engines.gate import Gate, ModelOutput, Shown
from runtime.engines.reading import Reading
from runtime.engines.scripted import forced_close, plan
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
        position = course.Position.of(ctx)
        current = position.current
        forced = ending.out_of_time(ctx)
        if forced is not None and current is not None:
            # The runtime closes on time: no model call, the closing message as configured.
            answer = resolve(current, texts.last_answer(ctx), position.reasks)
            yield TextDelta(ending.closing_message(ctx))
            meta.update(forced_close=forced, words="runtime", total_ms=_ms(began))
            yield forced_close(ctx, position, answer, meta)
            return
        messages = prompt.messages(ctx, position)
        tools = [prompt.tool(position)]
        sent = ""
        fixed: course.Step | None = None  # announced by an attempt: later ones keep to it
        fixed_answer: Resolution | None = None  # what that attempt read from the answer
        if current is None:
            # The opening asks the first item, whatever the model says: it is announced at
            # once, and the welcome is said before the model is called.
            fixed = course.step(position, None, "next")
            yield fixed.decision()
            welcome = (ctx.interview.get("welcome_message") or "").strip()
            if welcome:
                sent = f"{welcome}\n\n"
                yield TextDelta(sent)
        deadline = began + self._config.turn_deadline
        attempts = 0
        usage = [0, 0]
        failure: UpstreamFailed | None = None
        result: Gate | None = None
        while True:
            attempts += 1
            splice = Splice(sent, ctx.phrases.rephrase())
            gate = Gate(ctx, position, fixed)
            attempt = Reading()
            try:
                async for output in self._complete(model, temperature, messages, tools, attempt):
                    for shown in gate.feed(output):
                        if (out := _said(shown, splice)) is not None:
                            yield out
                for shown in gate.finish():
                    if (out := _said(shown, splice)) is not None:
                        yield out
                if tail := splice.finish():
                    yield TextDelta(tail)
                sent = splice.text
                result = gate
            except UpstreamFailed as exc:
                failure = exc
            finally:
                if fixed is None and gate.step is not None:
                    # The gate announced its step (that is when it decides): it stands.
                    fixed, fixed_answer = gate.step, gate.answer
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
            # Out of time: the scripted engine takes this turn (the step already announced,
            # if one was), continuing what was sent.
            if fixed is not None:
                # (For the opening these are the welcome again: the splice continues it.)
                text = texts.words(ctx, position, fixed)
                decision = fixed.decision(fixed_answer)
            else:
                text, decision = plan(ctx)
                yield decision
            splice = Splice(sent, ctx.phrases.rephrase())
            if continued := splice.feed(text) + splice.finish():
                yield TextDelta(continued)
            meta.update(
                fallback=True, fallback_reason=failure.reason, words="runtime", total_ms=_ms(began)
            )
            yield dataclasses.replace(decision, metadata=meta)
            return
        assert result.step is not None
        meta.update(
            fallback=False,
            move=result.step.move,
            words="model" if result.model_words else "runtime",
            total_ms=_ms(began),
        )
        if result.step.overruled:
            # It may quote the model's move or item id: stored, so storable and short.
            meta["overruled"] = storable(result.step.overruled)[:300]
        yield result.decision(meta)

    async def _complete(
        self,
        model: str,
        temperature: float,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        attempt: Reading,
    ) -> AsyncIterator[ModelOutput]:
        """One streamed completion, read as it arrives; raises UpstreamFailed."""
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
                    tool_choice=cast(Any, prompt.tool_choice()),
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
                        attempt.arrived()
                        parts = attempt.tool_args.setdefault(call.index, [])
                        if call.function and call.function.arguments:
                            parts.append(call.function.arguments)
                            if call.index == min(attempt.tool_args):
                                for output in attempt.from_arguments(call.function.arguments):
                                    yield output
                    if delta.content:
                        attempt.arrived()
                        for output in attempt.from_content(delta.content):
                            yield output
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
        for output in attempt.after_stream():
            yield output


def _said(shown: Shown, splice: Splice) -> TextDelta | Decision | None:
    """What the respondent is sent of what the gate shows: its decision as it is, its text
    once the splice has continued what earlier attempts sent (None: nothing new)."""
    if isinstance(shown, Decision):
        return shown
    text = splice.feed(shown)
    return TextDelta(text) if text else None


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
