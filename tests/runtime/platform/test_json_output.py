"""One JSON encoder for responses and exports: datetimes as clock.iso, structs as objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import msgspec

from runtime.platform.json_output import dumps


class Inner(msgspec.Struct):
    at: datetime


class Outer(msgspec.Struct):
    name: str
    inner: Inner
    items: list[Inner]


def test_datetimes_are_utc_with_a_z_whatever_their_zone() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)  # SQLite hands these back: they are UTC
    paris = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    out = json.loads(dumps({"naive": naive, "paris": paris, "utc": naive.replace(tzinfo=UTC)}))
    assert out == dict.fromkeys(("naive", "paris", "utc"), "2026-01-02T03:04:05Z")


def test_structs_are_objects_and_their_datetimes_are_written_the_same_way() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 600000)
    value = Outer(name="Zoë", inner=Inner(at), items=[Inner(at)])
    text = dumps(value)
    assert "Zoë" in text  # non-ASCII as itself
    assert json.loads(text) == {
        "name": "Zoë",
        "inner": {"at": "2026-01-02T03:04:05.600000Z"},
        "items": [{"at": "2026-01-02T03:04:05.600000Z"}],
    }
