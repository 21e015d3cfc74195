"""Times the two JSON hot paths with the standard library, msgspec and (if installed) pydantic.

One stream event's data (what api/sse.py writes per `turn.delta`) and one export entry of 30
messages with datetimes (what runtime/exports/formats.py writes per session). Run with
`python -m bench.encoding`; api/endpoints.py quotes the figures that chose msgspec.
"""

from __future__ import annotations

import importlib.util
import json
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from runtime.platform.json_output import dumps

NOW = datetime(2026, 12, 1, 13, 0, 0, 123456, tzinfo=UTC)
DELTA = {"turn_id": "t_01HX", "text": "Thanks, could you say more about "}
MESSAGE = {
    "role": "respondent",
    "content": "I usually start the day by checking mail " * 4,
    "item_id": "Q2",
    "created_at": NOW,
}
ENTRY: dict[str, Any] = {
    "id": "s_1",
    "interview_id": "iv_1",
    "interview_title": "Study",
    "status": "completed",
    "ended_reason": "finished",
    "is_test": False,
    "respondent": {"name": "Ana", "email": "a@example.com", "external_id": None},
    "created_at": NOW,
    "completed_at": NOW,
    "audio": None,
    "messages": [{"seq": i, **MESSAGE} for i in range(30)],
    "turns": [],
}


class Delta(msgspec.Struct):
    turn_id: str
    text: str


class Message(msgspec.Struct):
    seq: int
    role: str
    content: str
    item_id: str | None
    created_at: datetime


class Entry(msgspec.Struct):
    id: str
    interview_id: str
    interview_title: str
    status: str
    ended_reason: str | None
    is_test: bool
    respondent: dict[str, str | None] | None
    created_at: datetime
    completed_at: datetime | None
    audio: None
    messages: list[Message]
    turns: list[Any]


def cases() -> dict[str, Callable[[], object]]:
    encoder = msgspec.json.Encoder()
    delta, entry = Delta(**DELTA), msgspec.convert(ENTRY, Entry)
    same = json.loads(encoder.encode(entry)) == json.loads(dumps(ENTRY))
    assert same, "msgspec must write what runtime.platform.json_output writes"
    out: dict[str, Callable[[], object]] = {
        "event  json.dumps": lambda: json.dumps(DELTA, ensure_ascii=False).encode(),
        "event  msgspec (dict)": lambda: encoder.encode(DELTA),
        "event  msgspec (Struct)": lambda: encoder.encode(delta),
        "export json.dumps (datetime default)": lambda: dumps(ENTRY).encode(),
        "export msgspec (dict)": lambda: encoder.encode(ENTRY),
        "export msgspec (Struct)": lambda: encoder.encode(entry),
    }
    if importlib.util.find_spec("pydantic") is not None:
        import pydantic

        adapter = pydantic.TypeAdapter(dict[str, Any])
        out["event  pydantic (TypeAdapter)"] = lambda: adapter.dump_json(DELTA)
        out["export pydantic (TypeAdapter)"] = lambda: adapter.dump_json(ENTRY)
    return out


def main() -> None:
    for name, fn in cases().items():
        number = 20000 if name.startswith("event") else 2000
        best = min(timeit.repeat(fn, number=number, repeat=5)) / number
        print(f"{name:40s} {best * 1e6:8.2f} µs")


if __name__ == "__main__":
    main()
