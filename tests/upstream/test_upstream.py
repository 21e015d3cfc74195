"""The test upstream itself, through the real openai client: what the engine relies on."""

from __future__ import annotations

import json

import openai
import pytest

from runtime.engines.prompt import MOVE_TOOL, POSITION_HEADING
from tests.upstream import Upstream

SYSTEM = f"""Rules.
{POSITION_HEADING}
Current item: Q1 (open_ended) — What do you use it for?
Next item: Q2
Next item text:
> Which plan are you on?
> 1. Free
Allowed moves: probe, next"""
TOOLS = [{"type": "function", "function": {"name": MOVE_TOOL, "parameters": {"type": "object"}}}]


@pytest.fixture
async def client(upstream: Upstream) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=upstream.base_url, api_key="x", max_retries=0)


def conversation(answer: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "assistant", "content": "What do you use it for?"},
        {"role": "user", "content": f"<respondent_answer>{answer}</respondent_answer>"},
    ]


async def test_models_and_a_plain_completion(client: openai.AsyncOpenAI) -> None:
    assert [m.id async for m in client.models.list()] == ["mock"]
    done = await client.chat.completions.create(
        model="mock", messages=conversation("I plan our sprints with it every week."), tools=TOOLS
    )
    message = done.choices[0].message
    assert message.content == "Thank you. Which plan are you on?\n1. Free"
    assert message.tool_calls is not None
    assert json.loads(message.tool_calls[0].function.arguments) == {"move": "next", "item_id": "Q2"}
    assert done.usage is not None and done.usage.completion_tokens > 0


async def test_a_stream_has_text_a_tool_call_and_usage(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="mock",
        messages=conversation("idk"),
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, arguments, usage, finish = "", "", None, None
    async for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or []:
                arguments += (call.function.arguments or "") if call.function else ""
    assert text == "Could you tell me a bit more about that?"  # a thin answer is probed
    assert json.loads(arguments) == {"move": "probe"} and finish == "tool_calls"
    assert usage is not None and usage.prompt_tokens > 0


async def test_a_rate_limit_says_when_to_retry(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        await client.chat.completions.create(model="mock:429", messages=conversation("x"))
    assert raised.value.response.headers["retry-after-ms"] == "300"
