"""A view made from a stored row takes each column of its fields' names, unless given."""

from __future__ import annotations

import pytest

from runtime.platform.views import View


class Thing(View):
    id: str
    size: int
    label: str | None = None


def test_columns_fill_the_fields_they_name_and_given_fields_win() -> None:
    row = {"id": "t1", "size": 3, "label": "x", "secret_hash": "never shown"}
    assert Thing.from_row(row) == Thing(id="t1", size=3, label="x")
    assert Thing.from_row(row, size=4).size == 4


def test_a_field_the_row_lacks_keeps_its_default_or_the_view_cannot_be_made() -> None:
    assert Thing.from_row({"id": "t1", "size": 3}).label is None
    with pytest.raises(TypeError, match="size"):
        Thing.from_row({"id": "t1"})
