"""Reading a streamed completion: the move and the words wherever the model writes them."""

from __future__ import annotations

import json
import random

import pytest

from runtime.engines.gate import Field, ModelOutput, Plain, Words
from runtime.engines.reading import Reading

MOVE = {"value": None, "confidence": None, "move": "probe", "message": "Why \u00e9 so?"}


def pieces(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(text):
        step = rng.randint(1, 7)
        out.append(text[at : at + step])
        at += step
    return out


def summary(outputs: list[ModelOutput]) -> tuple[dict[str, object], str, str]:
    fields = {o.name: o.value for o in outputs if isinstance(o, Field)}
    words = "".join(o.text for o in outputs if isinstance(o, Words))
    plain = "".join(o.text for o in outputs if isinstance(o, Plain))
    return fields, words, plain


@pytest.mark.parametrize("seed", range(5))
def test_arguments_give_fields_then_words_in_any_chunking(seed: int) -> None:
    reading = Reading()
    outputs = [o for p in pieces(json.dumps(MOVE), seed) for o in reading.from_arguments(p)]
    fields, words, plain = summary(outputs)
    assert fields == {"value": None, "confidence": None, "move": "probe"}
    assert words == "Why \u00e9 so?" and plain == ""
    assert isinstance(outputs[-1], Words), "the words come after the fields"


@pytest.mark.parametrize(
    "content",
    [json.dumps(MOVE), "  " + json.dumps(MOVE), "```json\n" + json.dumps(MOVE) + "\n```"],
)
def test_json_written_as_text_is_read_like_arguments(content: str) -> None:
    reading = Reading()
    outputs = [o for p in pieces(content, 3) for o in reading.from_content(p)]
    fields, words, plain = summary(outputs)
    assert fields["move"] == "probe" and words == "Why \u00e9 so?" and plain == ""


def test_plain_text_is_plain_and_broken_json_is_nothing() -> None:
    reading = Reading()
    assert summary([o for p in ["Hel", "lo?"] for o in reading.from_content(p)])[2] == "Hello?"
    broken = Reading()
    assert [o for p in ['{"move": pro', 'be"}'] for o in broken.from_content(p)] == []


def test_arguments_win_over_json_text_once_they_have_spoken() -> None:
    reading = Reading()
    reading.from_arguments('{"move": "next", ')
    assert reading.from_content('{"move": "close"}') == []
    assert summary(reading.from_arguments('"message": "Ok."}')) == ({}, "Ok.", "")


def test_arguments_unreadable_as_they_stream_are_read_whole_at_the_end() -> None:
    reading = Reading()
    reading.tool_args[0] = ['{"move": "probe", "message": "Hm?"}']
    reading.arguments = None  # as after a PartialJsonError mid-stream
    assert summary(reading.after_stream()) == ({"move": "probe"}, "Hm?", "")


def test_what_no_store_holds_becomes_a_replacement_character() -> None:
    reading = Reading()
    outputs = reading.from_arguments('{"move": "probe", "message": "Why\\u0000 so\ud800?"}')
    assert summary(outputs)[1] == "Why\ufffd so\ufffd?"
    assert summary(Reading().from_content("Hi\x00"))[2] == "Hi\ufffd"
