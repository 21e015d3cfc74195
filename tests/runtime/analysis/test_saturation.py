"""Saturation (Guest, Namey & Chen 2020): the method on hand-computed cases, then on SQL."""

from __future__ import annotations

import pytest

from runtime.analysis import corpus
from runtime.analysis import saturation_reads as reads
from runtime.analysis.saturation import Params, assess, ratio, recommendation, trend
from runtime.stores.database import Database
from tests.runtime.analysis.corpora import add_sessions, interview, saturation_corpus


def coded(*sessions: str) -> list[tuple[str, frozenset[str]]]:
    return [(f"s{n}", frozenset(codes)) for n, codes in enumerate(sessions, 1)]


# Base (1-4): a..j, 10 codes. Then k, l (run 5-6: 2/10), nothing new (run 6-7: 1/10),
# m (run 7-8: 1/10), nothing (run 8-9: 1/10), nothing (run 9-10: 0).
SMALL = coded("abcde", "afg", "bh", "ij", "ak", "l", "ab", "m", "c", "d")


def test_the_hand_computed_example() -> None:
    found = assess(SMALL)
    assert found.base_concepts == 10
    assert [p.new_concepts for p in found.curve] == [5, 2, 1, 2, 1, 1, 0, 1, 0, 0]
    assert [p.cumulative_concepts for p in found.curve] == [5, 7, 8, 10, 11, 12, 12, 13, 13, 13]
    assert [p.new_information_ratio for p in found.curve] == [
        None, None, None, None, None, 0.2, 0.1, 0.1, 0.1, 0.0
    ]  # fmt: skip
    assert found.saturated_at == 10
    assert (found.recommendation, found.saturation_score, found.new_concept_rate) == (
        "saturated",
        1.0,
        0.0,
    )
    assert found.trend == "falling" and found.unique_concepts == 13 and found.total_sessions == 10


def test_the_threshold_and_run_length_move_the_stopping_point() -> None:
    assert assess(SMALL, Params(threshold=0.1)).saturated_at == 7
    # Runs of 3: 5-7 bring 2/10, 6-8 2/10, 7-9 1/10, 8-10 1/10: never at 5 %.
    longer = assess(SMALL, Params(run_length=3))
    assert [p.new_information_ratio for p in longer.curve][6:] == [0.2, 0.2, 0.1, 0.1]
    assert longer.saturated_at is None and longer.recommendation == "nearly_saturated"
    # A base of 2 (a..g, 7 codes): run 3-4 brings h, i, j: 3/7.
    assert assess(SMALL, Params(base_size=2)).curve[3].new_information_ratio == 0.428571


def test_a_paper_style_example_with_a_base_of_37_codes() -> None:
    # In the paper's terms: 37 unique codes in the first four interviews; interviews 5-6
    # add 2 (2/37 = 5.4 %, over 5 %); 6-7 add 1 between them (1/37 = 2.7 %): saturation is
    # reached at interview 7 under the 5 % threshold, and not at all under the strict 0 %.
    base = [frozenset(f"c{n}" for n in range(start, start + 10)) for start in (0, 10, 20, 27)]
    later = [frozenset({"c0", "n1"}), frozenset({"n2"}), frozenset({"c3"}), frozenset({"c5"})]
    sessions = [(f"s{n}", codes) for n, codes in enumerate(base + later, 1)]
    found = assess(sessions)
    assert found.base_concepts == 37
    assert [p.new_information_ratio for p in found.curve][5:] == [0.054054, 0.027027, 0.0]
    assert found.saturated_at == 7
    assert assess(sessions, Params(threshold=0.0)).saturated_at == 8


def test_before_a_full_run_it_says_continue() -> None:
    found = assess(SMALL[:5])
    assert found.recommendation == "continue" and found.new_concept_rate is None
    assert found.saturation_score == 0.0 and found.trend == "flat"
    assert assess([]).total_sessions == 0


def test_the_rules_for_nearly_trend_and_an_empty_base() -> None:
    assert recommendation(0.1, 0.05) == "nearly_saturated"
    assert recommendation(0.11, 0.05) == "continue"
    assert recommendation(0.04, 0.0) == "nearly_saturated"  # the floor under a strict 0 %
    assert trend([0.5, 0.2, 0.3]) == "falling" and trend([0.1, 0.3]) == "rising"
    assert trend([0.2, 0.5, 0.2]) == "flat" and trend([0.3]) == "flat"
    assert ratio(3, 0) == 1.0 and ratio(0, 0) == 0.0


@pytest.mark.parametrize("shown", [13, 30])
async def test_planted_material_saturates_where_it_stops_being_new(
    db: Database, shown: int
) -> None:
    planted = saturation_corpus()  # twelve sessions introduce, the rest repeat
    workspace_id, interview_id = await interview(db)
    ids = await add_sessions(db, workspace_id, interview_id, planted.sessions[:shown])
    await add_sessions(db, workspace_id, interview_id, [["Battery life"]], first=90, is_test=True)
    await add_sessions(
        db, workspace_id, interview_id, [["Dark mode"]], first=91, status="abandoned"
    )
    found = await reads.for_interview(db, workspace_id, interview_id, Params())
    assert [p.session_id for p in found.curve] == ids
    assert found.base_concepts == 8  # sessions 1-4: two new phrases each
    if shown == 13:
        # Run 12-13 still brings session 12's two phrases: 2/8.
        assert found.recommendation == "continue" and found.saturated_at is None
    else:
        assert found.recommendation == "saturated" and found.saturated_at == 14
        assert [p.new_information_ratio for p in found.curve][12:14] == [0.25, 0.0]
        assert found.unique_concepts == 24 and found.saturation_score == 1.0
    filters = corpus.Filters(include_test=True)
    assert (await reads.assessment(db, interview_id, Params(), filters)).total_sessions == shown + 1
