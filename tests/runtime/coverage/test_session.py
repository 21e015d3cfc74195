"""A session's coverage from its rows: every status, probes, re-asks, values, revisits."""

from __future__ import annotations

from runtime.coverage.session import session_coverage
from runtime.coverage.views import ItemCoverage, SessionCoverage
from tests.runtime.coverage.rows import Conversation, guide


def _by_id(coverage: SessionCoverage) -> dict[str, ItemCoverage]:
    return {item.item_id: item for item in coverage.items}


def _finished() -> tuple[Conversation, SessionCoverage]:
    """Q1 probed, Q2 resolved after a re-ask, Q3 unresolved then revisited, Q4 skipped (in
    passing), Q5 answered, Q6 never asked before the close."""
    c = Conversation()
    c.turn("Q1", "open")
    c.answer("Q1")
    c.turn("Q1", "probe")
    c.answer("Q1", kind="probe")
    c.turn("Q2", "ask")
    c.answer("Q2", value_status="invalid", confidence=0.3, resolved_by="model")
    c.turn("Q2", "reask")
    c.answer("Q2", "reask", "Pro", "resolved", 1.0, "rule")
    c.turn("Q3", "ask")
    c.answer("Q3", value_status="invalid")
    c.turn("Q3", "reask")
    c.answer("Q3", "reask", value_status="invalid")
    c.turn("Q3", "reask")
    c.answer("Q3", "reask", value_status="unresolved")
    c.turn("Q5", "ask")
    c.answer("Q5")
    c.turn("Q3", "ask", revisit=True)
    c.answer("Q3", "question", 4, "resolved", 0.8, "model")
    c.turn(None, "close")
    state = {"index": 4, "covered": ["Q4"], "unresolved": [], "revisited": ["Q3"]}
    return c, session_coverage("ses_1", "int_1", guide(), state, "completed", c.rows)


def test_a_finished_session_has_each_item_where_its_messages_left_it() -> None:
    c, coverage = _finished()
    items = _by_id(coverage)
    assert {k: v.status for k, v in items.items()} == {
        "Q1": "probed",
        "Q2": "answered",
        "Q3": "answered",
        "Q4": "skipped",
        "Q5": "answered",
        "Q6": "skipped",
    }
    assert (items["Q1"].probes_used, items["Q1"].probe_budget, items["Q1"].value) == (1, 1, None)
    assert (items["Q2"].value, items["Q2"].value_status, items["Q2"].confidence) == (
        "Pro",
        "resolved",
        1.0,
    )
    assert items["Q2"].reasks_used == 1
    # The revisit resolved what the re-asks could not.
    assert (items["Q3"].value, items["Q3"].reasks_used, items["Q3"].confidence) == (4, 2, 0.8)
    assert items["Q4"].covered_in_passing and not items["Q6"].covered_in_passing
    ids = [r["id"] for r in c.rows]
    assert items["Q1"].message_ids == ids[0:4]
    assert items["Q3"].message_ids == [*ids[8:14], *ids[16:18]]
    assert items["Q6"].message_ids == []


def test_the_summary_counts_answers_and_what_was_covered_in_passing() -> None:
    _, coverage = _finished()
    assert (coverage.answered, coverage.total) == (4, 6)
    assert coverage.share == round(5 / 6, 4)  # Q4 was covered in passing
    assert coverage.required_open == 1  # Q6; Q4 is not required
    assert (coverage.session_id, coverage.interview_id, coverage.status) == (
        "ses_1",
        "int_1",
        "completed",
    )


def test_a_live_session_has_asked_and_not_started_items() -> None:
    c = Conversation()
    c.turn("Q1", "open")
    c.answer("Q1")
    c.turn("Q2", "ask")
    c.answer("Q2", value_status="invalid")
    c.turn("Q2", "reask")
    state = {"index": 1, "probes": 0, "reasks": 1}
    coverage = session_coverage("ses_1", "int_1", guide(), state, "in_progress", c.rows)
    items = _by_id(coverage)
    assert [i.status for i in coverage.items] == [
        "answered",
        "asked",  # a re-ask is pending
        "not_started",
        "not_started",
        "not_started",
        "not_started",
    ]
    assert (items["Q2"].value, items["Q2"].value_status, items["Q2"].reasks_used) == (
        None,
        "invalid",
        1,
    )
    assert coverage.required_open == 4  # Q4 is not required
    assert coverage.share == round(1 / 6, 4)


def test_an_answer_whose_value_the_next_turn_has_not_written_is_still_asked() -> None:
    c = Conversation()
    c.turn("Q1", "open")
    c.answer("Q1")
    c.turn("Q2", "ask")
    c.answer("Q2")  # value_status null until the next turn commits
    coverage = session_coverage("s", "i", guide(), {"index": 1}, "in_progress", c.rows)
    assert _by_id(coverage)["Q2"].status == "asked"
    assert _by_id(coverage)["Q2"].value_status is None


def test_a_choice_left_unresolved_after_the_reasks_is_unresolved() -> None:
    c = Conversation()
    c.turn("Q1", "open")
    c.answer("Q1")
    c.turn("Q2", "ask")
    c.answer("Q2", value_status="invalid")
    c.turn("Q2", "reask")
    c.answer("Q2", "reask", value_status="invalid")
    c.turn("Q2", "reask")
    c.answer("Q2", "reask", value_status="unresolved")
    c.turn("Q3", "ask")
    state = {"index": 2, "unresolved": ["Q2"]}
    coverage = session_coverage("s", "i", guide(), state, "in_progress", c.rows)
    q2 = _by_id(coverage)["Q2"]
    assert (q2.status, q2.value, q2.value_status, q2.reasks_used) == (
        "unresolved",
        None,
        "unresolved",
        2,
    )
    assert coverage.required_open == 4  # Q2 counts as open, like Q3, Q5 and Q6


def test_items_the_interview_moved_past_unasked_are_skipped_while_it_goes_on() -> None:
    c = Conversation()
    c.turn("Q1", "open")
    c.answer("Q1")
    c.turn("Q4", "ask")  # the model skipped Q2 and Q3, judging them covered
    state = {"index": 3, "covered": ["Q2", "Q3"]}
    coverage = session_coverage("s", "i", guide(), state, "in_progress", c.rows)
    items = _by_id(coverage)
    assert [items[i].status for i in ("Q2", "Q3", "Q4", "Q5")] == [
        "skipped",
        "skipped",
        "asked",
        "not_started",
    ]
    assert items["Q2"].covered_in_passing and items["Q3"].covered_in_passing
    assert coverage.share == round(3 / 6, 4)


def test_answers_stored_before_values_were_recorded_count_without_a_value() -> None:
    c = Conversation()
    c.turn("Q1", "open")
    c.unrecorded_answer("Q1")
    c.turn("Q2", "ask")
    c.unrecorded_answer("Q2")
    c.turn("Q3", "ask")
    coverage = session_coverage("s", "i", guide(), {"index": 2}, "abandoned", c.rows)
    items = _by_id(coverage)
    assert (items["Q2"].status, items["Q2"].value, items["Q2"].value_status) == (
        "answered",
        None,
        None,
    )
    assert items["Q3"].status == "asked"  # asked, never answered: the session was abandoned
    assert items["Q6"].status == "skipped"


def test_messages_of_items_the_guide_version_lacks_are_left_out() -> None:
    c = Conversation()
    c.turn("Q9", "open")
    c.answer("Q9")
    coverage = session_coverage("s", "i", guide()[:1], {}, "in_progress", c.rows)
    assert [(i.item_id, i.status, i.message_ids) for i in coverage.items] == [
        ("Q1", "not_started", [])
    ]


def test_an_empty_guide_has_no_share() -> None:
    coverage = session_coverage("s", "i", [], {}, "completed", [])
    assert (coverage.total, coverage.share, coverage.required_open) == (0, 0.0, 0)
