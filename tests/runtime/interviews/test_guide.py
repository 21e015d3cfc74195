"""Guide edits as pure functions."""

from __future__ import annotations

import pytest

from runtime.interviews import guide as guides
from runtime.platform.errors import NotFound, ValidationError


def _two_sections() -> guides.StoredGuide:
    guide, _ = guides.add_section(guides.empty_guide(), "A")
    guide, _ = guides.add_section(guide, "B")
    for section, text in [("S1", "one"), ("S1", "two"), ("S2", "three")]:
        guide, _ = guides.add_item(guide, section, "question", {"text": text})
    return guide


def _ids(guide: guides.StoredGuide) -> list[list[str]]:
    return [[i.id for i in s.items] for s in guide.sections]


def test_edits_do_not_mutate_their_input() -> None:
    guide = _two_sections()
    before = repr(guide)
    guides.delete_item(guide, "Q1")
    guides.move_section(guide, "S2", None)
    assert repr(guide) == before


def test_move_item_within_and_across_sections() -> None:
    guide = _two_sections()
    assert _ids(guides.move_item(guide, "Q1", None, "Q2")) == [["Q2", "Q1"], ["Q3"]]
    assert _ids(guides.move_item(guide, "Q2", None, None)) == [["Q2", "Q1"], ["Q3"]]
    assert _ids(guides.move_item(guide, "Q1", "S2", None)) == [["Q2"], ["Q1", "Q3"]]
    assert _ids(guides.move_item(guide, "Q3", None, "Q1")) == [["Q1", "Q3", "Q2"], []]
    with pytest.raises(ValidationError):
        guides.move_item(guide, "Q1", "S2", "Q2")
    with pytest.raises(ValidationError):
        guides.move_item(guide, "Q1", None, "Q1")
    with pytest.raises(NotFound):
        guides.move_item(guide, "Q9", None, None)


def test_limits() -> None:
    guide = guides.empty_guide()
    for _ in range(guides.MAX_SECTIONS):
        guide, _ = guides.add_section(guide, "s")
    with pytest.raises(ValidationError, match="at most"):
        guides.add_section(guide, "one too many")


def test_changing_type_revalidates_the_item() -> None:
    guide = _two_sections()
    with pytest.raises(ValidationError) as err:
        guides.update_item(guide, "Q1", {"question_type": "multiple_choice"})
    assert err.value.field == "options"
    changed = guides.update_item(
        guide, "Q1", {"question_type": "multiple_choice", "options": ["x", "y"]}
    )
    assert changed.sections[0].items[0].options == ["x", "y"]


def test_the_stored_json_reads_back_as_it_was_written() -> None:
    guide = _two_sections()
    guide, _ = guides.add_item(guide, "S2", "task", {"text": "Rate", "question_type": "rating"})
    raw = guides.to_json(guide)
    assert raw["counters"] == {"S": 2, "Q": 3, "T": 1}
    assert raw["sections"][1]["items"][1]["scale"] == {
        "min": 1,
        "max": 5,
        "min_label": None,
        "max_label": None,
    }
    assert guides.stored(raw) == guide
