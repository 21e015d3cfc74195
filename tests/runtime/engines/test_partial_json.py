"""A JSON object read as it streams: every chunking gives json.loads' fields, and a string
field's pieces join to its value, each told as soon as its characters have arrived."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest

from runtime.engines.partial_json import FieldValue, PartialJsonError, PartialObject, TextPiece

OBJECTS: list[dict[str, Any]] = [
    {"move": "probe", "item_id": "Q2", "message": "Could you say more?"},
    {"move": "next", "item_id": None, "covered_item_ids": ["Q1", "Q3"], "message": ""},
    {"a": 1, "b": -2.5e3, "c": True, "d": False, "e": None, "f": {"g": [1, {"h": "}]"}]}},
    {"message": 'quotes " and \\ backslash, \n newline, \t tab, / slash, \u00e9, 日本語'},
    {"message": "emoji 😀 and a flag 🇫🇷", "value": "Pro", "confidence": 0.8},
    {},
]


def _chunkings(text: str, seed: int) -> list[list[str]]:
    """Whole, one character at a time, and random cuts (escapes split anywhere)."""
    rng = random.Random(seed)
    cuts = [[text], list(text)]
    for _ in range(20):
        points = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 8))))
        bounds = [0, *points, len(text)]
        cuts.append([text[a:b] for a, b in itertools.pairwise(bounds)])
    return cuts


def _read(chunks: list[str]) -> tuple[dict[str, Any], dict[str, str], list[Any]]:
    parser = PartialObject()
    pieces: dict[str, str] = {}
    order: list[Any] = []
    for chunk in chunks:
        for event in parser.feed(chunk):
            if isinstance(event, TextPiece):
                assert event.text, "no empty piece is told"
                pieces[event.name] = pieces.get(event.name, "") + event.text
            else:
                order.append(event.name)
    return parser.close(), pieces, order


@pytest.mark.parametrize("ascii_only", [True, False])
@pytest.mark.parametrize("index", range(len(OBJECTS)))
def test_every_chunking_reads_what_json_loads_reads(index: int, ascii_only: bool) -> None:
    obj = OBJECTS[index]
    text = json.dumps(obj, ensure_ascii=ascii_only, indent=None if index % 2 else 2)
    for chunks in _chunkings(text, index) if len(text) > 2 else [[text]]:
        fields, pieces, order = _read(chunks)
        assert fields == obj
        assert order == list(obj)  # in the order written
        for name, value in obj.items():
            if isinstance(value, str) and value:
                assert pieces[name] == value


def test_the_move_is_known_before_the_message_begins_and_the_message_streams() -> None:
    parser = PartialObject()
    first = parser.feed('{"move": "probe", "item_id": "Q1", "mess')
    assert [e for e in first if isinstance(e, FieldValue)] == [
        FieldValue("move", "probe"),
        FieldValue("item_id", "Q1"),
    ]
    assert parser.fields == {"move": "probe", "item_id": "Q1"}
    assert parser.feed('age": "Could you') == [TextPiece("message", "Could you")]
    assert parser.feed(" tell me \\u00e") == [TextPiece("message", " tell me ")]
    assert parser.feed('9?"}') == [
        TextPiece("message", "é?"),
        FieldValue("message", "Could you tell me é?"),
    ]
    assert parser.done


def test_a_lone_surrogate_escape_becomes_a_replacement_character() -> None:
    fields, _, _ = _read(['{"message": "a\\ud83d b", "x": "\\ude00"}'])
    assert fields == {"message": "a\ufffd b", "x": "\ufffd"}


def test_what_follows_the_object_is_not_read() -> None:
    parser = PartialObject()
    parser.feed('{"move": "close"}\n```')
    assert parser.close() == {"move": "close"}


@pytest.mark.parametrize(
    "text",
    ['["not", "an object"]', '{"a" 1}', '{"a": tru}', '{"a": "\\q"}', '{"a": 1,}', '{"a": ]}'],
)
def test_what_is_not_one_object_is_refused(text: str) -> None:
    parser = PartialObject()
    with pytest.raises(PartialJsonError):
        parser.feed(text)
        parser.close()


def test_an_object_cut_short_is_refused_at_close() -> None:
    parser = PartialObject()
    parser.feed('{"move": "next", "message": "Thank')
    with pytest.raises(PartialJsonError, match="did not end"):
        parser.close()
