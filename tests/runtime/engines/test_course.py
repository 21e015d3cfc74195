"""The course both engines keep to: re-asks, unresolved items, revisits, and closing."""

from __future__ import annotations

from runtime.engines.answers import Resolution
from runtime.engines.course import Position, step
from runtime.interviews import guide as guides

INVALID = Resolution(None, "invalid")
UNRESOLVED = Resolution(None, "unresolved")
RESOLVED = Resolution("Pro", "resolved", 1.0, "rule")


def _items() -> list[guides.Item]:
    guide, _ = guides.add_section(guides.empty_guide(), "S")
    for fields in (
        {"text": "Why?"},
        {"text": "Plan?", "question_type": "multiple_choice", "options": ["Free", "Pro"]},
        {"text": "Rate?", "question_type": "rating", "required": False},
    ):
        guide, _ = guides.add_item(guide, "S1", "question", fields)
    return guides.items_in_order(guide)


def at(index: int, **state: object) -> Position:
    return Position.of_state(_items(), {"index": index, **state})


def test_an_invalid_answer_is_asked_again_whatever_was_wanted() -> None:
    taken = step(at(1), INVALID, "next")
    assert (taken.move, taken.item_id, taken.state["reasks"]) == ("reask", "Q2", 1)
    assert taken.overruled == "next over no value"
    assert step(at(1), INVALID, "reask").overruled is None


def test_a_required_item_left_unresolved_is_asked_once_more_before_closing() -> None:
    moved_past = step(at(1, reasks=2), UNRESOLVED, "next")
    assert (moved_past.move, moved_past.item_id) == ("ask", "Q3")
    assert moved_past.state["unresolved"] == ["Q2"]
    after_last = Position.of_state(_items(), moved_past.state)  # the rating is answered
    closing = step(after_last, Resolution(4, "resolved", 1.0, "rule"), "close")
    assert (closing.move, closing.item_id, closing.revisit) == ("ask", "Q2", True)
    assert closing.overruled == "close before required items"
    revisit = Position.of_state(_items(), closing.state)
    assert revisit.revisiting and revisit.revisited == ("Q2",)
    done = step(revisit, RESOLVED, "next")
    assert done.move == "close" and done.state["unresolved"] == []


def test_a_revisit_that_stays_unresolved_closes() -> None:
    revisit = at(1, reasks=2, unresolved=["Q2"], revisited=["Q2"], revisiting=True)
    taken = step(revisit, UNRESOLVED, "next")
    assert taken.move == "close" and taken.state["unresolved"] == ["Q2"]


def test_an_optional_item_left_unresolved_is_not_asked_again() -> None:
    taken = step(at(2, reasks=2), UNRESOLVED, "next")
    assert taken.move == "close" and taken.state["unresolved"] == ["Q3"]
