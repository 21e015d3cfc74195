"""An interview's coverage tallied over sessions on different guide versions."""

from __future__ import annotations

from runtime.coverage.session import session_coverage
from runtime.coverage.tally import Tally
from runtime.coverage.views import ValueCount
from runtime.interviews.guide import Item, normalize_item
from tests.runtime.coverage.rows import Conversation, guide


def _answered(items: list[Item], q2: str | None, q3: int | None) -> Conversation:
    """Q1 answered, Q2 and Q3 resolved to these values (None: unresolved), then closed."""
    c = Conversation()
    c.turn("Q1", "open")
    c.answer("Q1")
    for item_id, value in (("Q2", q2), ("Q3", q3)):
        c.turn(item_id, "ask")
        if value is None:
            c.answer(item_id, value_status="unresolved")
        else:
            c.answer(item_id, value=value, value_status="resolved", confidence=1.0)
    c.turn(None, "close")
    return c


def test_statuses_and_distributions_add_up_over_versions() -> None:
    current = guide()
    # Version 1 had two plans only, a scale to 7 and an item since deleted.
    older = [
        current[0],
        normalize_item(
            {
                "id": "Q2",
                "text": "Which plan?",
                "question_type": "multiple_choice",
                "options": ["Free", "Basic"],
            }
        ),
        normalize_item(
            {"id": "Q3", "text": "How easy?", "question_type": "rating", "scale": {"max": 7}}
        ),
        normalize_item({"id": "Q7", "text": "Anything else?"}),
    ]
    tally = Tally("int_1", current, include_test=False)
    tally.know(older)
    sessions = [
        (current, "Pro", 4),
        (current, "Pro", 2),
        (current, None, 5),
        (older, "Basic", 7),
    ]
    for n, (items, q2, q3) in enumerate(sessions):
        rows = _answered(items, q2, q3).rows
        tally.add(session_coverage(f"s{n}", "int_1", items, {}, "completed", rows))
    view = tally.view()
    assert view.sessions == 4
    by_id = {item.item_id: item for item in view.items}
    assert list(by_id) == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7"]
    assert by_id["Q1"].distribution is None and by_id["Q1"].statuses.answered == 4
    q2 = by_id["Q2"]
    assert (q2.sessions, q2.statuses.answered, q2.statuses.unresolved) == (4, 3, 1)
    assert q2.distribution is not None
    assert q2.distribution.values == [
        ValueCount(value="Free", count=0),
        ValueCount(value="Pro", count=2),
        ValueCount(value="Team", count=0),
        ValueCount(value="Basic", count=1),
    ]
    assert (q2.distribution.unresolved, q2.distribution.mean) == (1, None)
    q3 = by_id["Q3"].distribution
    assert q3 is not None
    assert [(v.value, v.count) for v in q3.values] == [
        (1, 0),
        (2, 1),
        (3, 0),
        (4, 1),
        (5, 1),
        (7, 1),
    ]
    assert (q3.mean, q3.median) == (4.5, 4.5)
    # Items only the current guide has were not in the older session's version.
    assert (by_id["Q6"].sessions, by_id["Q6"].statuses.skipped) == (3, 3)
    assert (by_id["Q7"].sessions, by_id["Q7"].statuses.skipped) == (1, 1)


def test_an_interview_without_sessions_lists_its_items_with_zeros() -> None:
    view = Tally("int_1", guide(), include_test=True).view()
    assert (view.sessions, view.include_test, len(view.items)) == (0, True, 6)
    q3 = view.items[2].distribution
    assert q3 is not None and [v.count for v in q3.values] == [0] * 5
    assert (q3.mean, q3.median, q3.unresolved) == (None, None, 0)
