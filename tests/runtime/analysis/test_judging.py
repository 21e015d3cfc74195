"""The judge's card is kept only when it is well formed."""

from __future__ import annotations

from runtime.analysis import judging
from runtime.platform.clock import utcnow

GOOD = {
    "coherence": 3,
    "adaptiveness": 2,
    "comfort": 4,
    "leading_questions": 1,
    "unclear_questions": 0,
    "rationale": "  Fine\n work. ",
}


def test_a_well_formed_card_is_kept() -> None:
    card = judging.card(GOOD, "mock", questions=5, at=utcnow())
    assert card is not None and card.coherence == 3 and card.rationale == "Fine work."


def test_scores_off_the_scale_or_counts_above_the_questions_are_refused() -> None:
    at = utcnow()
    assert judging.card({**GOOD, "coherence": 9}, "mock", 5, at) is None
    assert judging.card({**GOOD, "comfort": "4"}, "mock", 5, at) is None
    assert judging.card({**GOOD, "leading_questions": 6}, "mock", 5, at) is None
    assert judging.card({**GOOD, "unclear_questions": -1}, "mock", 5, at) is None
