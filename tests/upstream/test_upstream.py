"""The test upstream itself, through the real openai client: what the engine relies on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
# A choice item as the new prompt shows it, its options on one line.
CHOICE = f"""Rules.
{POSITION_HEADING}
Current item: Q2 (multiple_choice) — Which plan are you on?
Options: 1. Free; 2. Pro; 3. Team
Probes used on this item: 0 of 2
Next item: Q3
Next item text:
> How often do you use it?
> 1. Daily
> 2. Weekly
Allowed moves: reask, next"""
FREQUENCY = f"""Rules.
{POSITION_HEADING}
Current item: Q3 (multiple_choice) — How often do you use it?
Options: 1. Daily; 2. Weekly; 3. Monthly
Next item: none (this is the last item)
Allowed moves: reask, close"""
RATING = f"""Rules.
{POSITION_HEADING}
Current item: Q4 (rating) — How likely are you to recommend it?
Scale: 1 to 5
Next item: none (this is the last item)
Allowed moves: reask, close"""
TOOLS = [{"type": "function", "function": {"name": MOVE_TOOL, "parameters": {"type": "object"}}}]
RICH = "I plan our sprints with it every week."
NEXT = "Thank you. Which plan are you on?\n1. Free"


@dataclass
class Received:
    """A streamed completion as a client puts it together."""

    text: str
    arguments: str
    finish: str | None
    usage: Any

    @property
    def move(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.arguments)
        return value


@pytest.fixture
async def client(upstream: Upstream) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=upstream.base_url, api_key="x", max_retries=0)


def conversation(answer: str, system: str = SYSTEM, said: int = 1) -> list[dict[str, str]]:
    turns = [{"role": "assistant", "content": f"Question {n}?"} for n in range(said)]
    return [
        {"role": "system", "content": system},
        *turns,
        {"role": "user", "content": f"<respondent_answer>{answer}</respondent_answer>"},
    ]


async def streamed(
    client: openai.AsyncOpenAI, model: str, messages: list[dict[str, str]]
) -> Received:
    stream = await client.chat.completions.create(
        model=model,
        messages=messages,  # type: ignore[arg-type]
        tools=TOOLS,  # type: ignore[arg-type]
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
    return Received(text, arguments, finish, usage)


async def test_models_and_a_plain_completion(client: openai.AsyncOpenAI) -> None:
    assert [m.id async for m in client.models.list()] == ["mock"]
    done = await client.chat.completions.create(
        model="mock",
        messages=conversation(RICH),  # type: ignore[arg-type]
        tools=TOOLS,  # type: ignore[arg-type]
    )
    message = done.choices[0].message
    assert message.content == "", "the reply is in the tool call"
    assert message.tool_calls is not None
    arguments = message.tool_calls[0].function.arguments  # type: ignore[union-attr]
    assert json.loads(arguments) == {
        "value": None,
        "confidence": None,
        "move": "next",
        "item_id": "Q2",
        "message": NEXT,
    }
    assert list(json.loads(arguments)) == ["value", "confidence", "move", "item_id", "message"]
    assert done.usage is not None and done.usage.completion_tokens > 0


async def test_without_tools_the_reply_is_text(client: openai.AsyncOpenAI) -> None:
    done = await client.chat.completions.create(
        model="mock",
        messages=conversation(RICH),  # type: ignore[arg-type]
    )
    assert done.choices[0].message.content == NEXT and not done.choices[0].message.tool_calls


async def test_a_stream_writes_the_reply_inside_the_arguments_a_token_at_a_time(
    client: openai.AsyncOpenAI,
) -> None:
    got = await streamed(client, "mock", conversation("idk"))
    assert got.text == "" and got.finish == "tool_calls"
    assert got.move == {
        "value": None,
        "confidence": None,
        "move": "probe",
        "message": "Could you tell me a bit more about that?",  # a thin answer is probed
    }
    assert got.usage is not None and got.usage.prompt_tokens > 0
    assert got.usage.completion_tokens > len(got.move["message"].split()), "one piece per word"
    # `in-arguments` (the old name) is the behaving model now.
    assert (await streamed(client, "mock:in-arguments", conversation("idk"))).move == got.move


@pytest.mark.parametrize(
    ("system", "answer", "value", "confidence"),
    [
        (CHOICE, "2", "Pro", 1.0),
        (CHOICE.replace("(multiple_choice)", "(multiple_choice, required)"), "2", "Pro", 1.0),
        (CHOICE, "team", "Team", 1.0),
        (CHOICE, "Pro, for the whole company", "Pro", 0.7),
        (FREQUENCY, "we use it every week", "Weekly", 0.7),
        (RATING, "4", 4, 1.0),
        (RATING, "a solid 4, I would say", 4, 0.7),
    ],
)
async def test_a_choice_or_rating_answer_gives_its_value(
    client: openai.AsyncOpenAI, system: str, answer: str, value: Any, confidence: float
) -> None:
    got = await streamed(client, "mock", conversation(answer, system))
    assert got.move["value"] == value and got.move["confidence"] == confidence
    assert got.move["move"] in ("next", "close")


@pytest.mark.parametrize("system", [CHOICE, RATING])
async def test_an_answer_that_gives_no_value_is_asked_again(
    client: openai.AsyncOpenAI, system: str
) -> None:
    got = await streamed(client, "mock", conversation("mostly the permissions step", system))
    assert got.move["value"] is None and got.move["move"] == "reask"
    assert got.move["message"].count("?") == 1
    assert ("3. Team" in got.move["message"]) == (system == CHOICE)


async def test_without_options_in_the_prompt_the_value_is_null_and_it_moves_on(
    client: openai.AsyncOpenAI,
) -> None:
    today = CHOICE.replace("Options: 1. Free; 2. Pro; 3. Team\n", "").replace("reask", "probe")
    got = await streamed(client, "mock", conversation("2", today))
    assert got.move["value"] is None and got.move["move"] == "next"
    no_reask = CHOICE.replace("reask, ", "")
    got = await streamed(client, "mock", conversation("mostly the permissions step", no_reask))
    assert got.move["value"] is None and got.move["move"] == "next"


async def test_no_tool_writes_the_reply_as_text(client: openai.AsyncOpenAI) -> None:
    got = await streamed(client, "mock:no-tool", conversation(RICH))
    assert got.text == NEXT and got.arguments == "" and got.finish == "stop"


async def test_content_then_tool_is_the_old_protocol(client: openai.AsyncOpenAI) -> None:
    got = await streamed(client, "mock:content-then-tool", conversation(RICH))
    assert got.text == NEXT
    assert got.move == {"value": None, "confidence": None, "move": "next", "item_id": "Q2"}


async def test_both_writes_the_reply_twice(client: openai.AsyncOpenAI) -> None:
    got = await streamed(client, "mock:both", conversation(RICH))
    assert got.text == NEXT and got.move["message"] == NEXT and got.move["move"] == "next"


async def test_unknown_item_names_an_item_the_guide_does_not_have(
    client: openai.AsyncOpenAI,
) -> None:
    got = await streamed(client, "mock:unknown-item", conversation(RICH))
    assert got.move["move"] == "next" and got.move["item_id"] == "Q99"
    assert got.move["message"] == NEXT
    probe = await streamed(client, "mock:unknown-item", conversation("idk"))
    assert probe.move["move"] == "probe", "only its `next` moves misbehave"


async def test_close_early_says_goodbye_with_a_question_at_the_first_answer(
    client: openai.AsyncOpenAI,
) -> None:
    got = await streamed(client, "mock:close-early", conversation(RICH))
    assert got.move["move"] == "close" and got.text == ""
    assert got.move["message"] == "Thanks! Anything else you want to add?"
    later = conversation(RICH, said=2)
    later.insert(2, {"role": "user", "content": "first"})
    assert (await streamed(client, "mock:close-early", later)).move["move"] == "next"


@pytest.mark.parametrize(("said", "fenced"), [(1, True), (2, False)])
async def test_json_content_writes_the_arguments_as_text(
    client: openai.AsyncOpenAI, said: int, fenced: bool
) -> None:
    got = await streamed(client, "mock:json-content", conversation(RICH, said=said))
    assert got.arguments == "" and got.finish == "stop"
    assert got.text.startswith("```json\n") == fenced
    body = got.text.removeprefix("```json\n").removesuffix("\n```")
    assert json.loads(body) == {
        "value": None,
        "confidence": None,
        "move": "next",
        "item_id": "Q2",
        "message": NEXT,
    }


async def test_wrong_move_probes_in_words_and_moves_on(client: openai.AsyncOpenAI) -> None:
    got = await streamed(client, "mock:wrong-move", conversation(RICH))
    assert got.move["move"] == "next" and got.move["item_id"] == "Q2"
    assert got.move["message"] == "Could you tell me a bit more about that?"


async def test_message_first_writes_the_message_before_the_move(
    client: openai.AsyncOpenAI,
) -> None:
    got = await streamed(client, "mock:message-first", conversation(RICH))
    assert next(iter(got.move)) == "message" and got.move["message"] == NEXT
    assert got.arguments.index('"message"') < got.arguments.index('"move"')


@pytest.mark.parametrize(("system", "value"), [(CHOICE, "Platinum"), (RATING, 6)])
async def test_bad_value_records_what_is_not_an_option(
    client: openai.AsyncOpenAI, system: str, value: Any
) -> None:
    got = await streamed(client, "mock:bad-value", conversation("2", system))
    assert got.move["value"] == value and got.move["confidence"] == 0.95
    assert got.move["move"] == ("next" if system == CHOICE else "close")


async def test_a_misbehaviour_can_stop_after_n_attempts(client: openai.AsyncOpenAI) -> None:
    messages = conversation(RICH)
    first = await streamed(client, "mock:no-tool*1", messages)
    again = await streamed(client, "mock:no-tool*1", messages)
    assert first.arguments == "" and again.text == "" and again.move["message"] == NEXT


async def test_a_rate_limit_says_when_to_retry(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        await client.chat.completions.create(
            model="mock:429",
            messages=conversation("x"),  # type: ignore[arg-type]
        )
    assert raised.value.response.headers["retry-after-ms"] == "300"
