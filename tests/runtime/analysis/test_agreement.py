"""Theme-set agreement: one-to-one Hungarian matching at a Jaccard threshold."""

from __future__ import annotations

import pytest

from runtime.analysis.agreement import agreement, jaccard


def s(*ids: str) -> frozenset[str]:
    return frozenset(ids)


def test_a_perfect_match() -> None:
    reference = [s("a", "b", "c"), s("d", "e")]
    found = agreement([s("d", "e"), s("a", "b", "c")], reference)
    assert (found.precision, found.recall, found.f1, found.hit_rate) == (1.0, 1.0, 1.0, 1.0)
    assert found.matches == ((1, 0, 1.0), (0, 1, 1.0))


def test_matching_is_one_to_one() -> None:
    reference = [s("a", "b", "c", "d")]
    # Two halves of one theme: each reaches the threshold, only one can be matched.
    found = agreement([s("a", "b", "c"), s("b", "c", "d")], reference)
    assert found.hit_rate == 1.0 and found.recall == 1.0 and found.precision == 0.5
    assert found.f1 == pytest.approx(2 / 3)


def test_the_assignment_maximises_total_similarity() -> None:
    reference = [s("a", "b"), s("a", "b", "c", "d")]
    # Greedy would give the first found theme to the first reference (Jaccard 1.0) and
    # leave the second unmatched at 0.5; both can be matched instead.
    found = agreement([s("a", "b", "c"), s("a", "b")], reference)
    assert len(found.matches) == 2 and found.f1 == 1.0


def test_below_the_threshold_is_no_match() -> None:
    found = agreement([s("a", "x", "y")], [s("a", "b", "c")])
    assert found.matches == () and found.f1 == 0.0 and found.hit_rate == 0.0
    assert agreement([], [s("a")]).f1 == 0.0
    assert jaccard(s(), s()) == 0.0
