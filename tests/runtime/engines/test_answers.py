"""Reading answers: values of choices and ratings, and thin answers judged by their question."""

from __future__ import annotations

import pytest

from runtime.engines.answers import is_non_answer, is_thin, match_option, match_rating, resolve
from runtime.interviews import guide as guides

OPTIONS = ["Free", "Pro", "Team"]


def _item(**fields: object) -> guides.Item:
    guide, _ = guides.add_section(guides.empty_guide(), "S")
    guide, _ = guides.add_item(guide, "S1", "question", {"text": "Which plan?", **fields})
    return guides.items_in_order(guide)[0]


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ("2", "Pro"),
        ("pro", "Pro"),
        ("2 — we started on the free plan and moved up", "Pro"),
        ("Pro, for the whole team", "Pro"),
        ("we are on team", "Team"),
        ("free or pro", None),
        ("platinum", None),
        ("4", None),
    ],
)
def test_options_are_read_from_numbers_labels_and_mentions(answer: str, value: str | None) -> None:
    assert match_option(answer, OPTIONS) == value


def test_a_rating_out_of_the_scale_top_is_one_number() -> None:
    scale = guides.DEFAULT_SCALE
    assert match_rating("I would say a solid 4 out of 5", scale) == 4
    assert match_rating("4/5", scale) == 4
    assert match_rating("3 or 4", scale) is None


def test_a_models_mapping_counts_when_valid_and_sure() -> None:
    item = _item(question_type="multiple_choice", options=OPTIONS)
    mapped = resolve(item, "the paid one for everybody", 0, "Team", 0.8)
    assert mapped is not None and (mapped.value, mapped.resolved_by) == ("Team", "model")
    assert mapped.confidence == 0.8
    for proposed, confidence in (("Platinum", 0.99), ("Team", 0.2), ("Team", "high"), ("Team", 2)):
        guess = resolve(item, "the paid one for everybody", 0, proposed, confidence)
        assert guess is not None and guess.status == "invalid"
    spent = resolve(item, "no idea", 2, None, None)
    assert spent is not None and (spent.value, spent.status) == (None, "unresolved")
    assert resolve(_item(), "anything", 0, "x", 1.0) is None, "open questions have no value"


@pytest.mark.parametrize(
    ("answer", "question", "thin"),
    [
        ("ok", "What do you use it for?", True),
        ("idk", "What do you use it for?", True),
        ("the permissions step", "Which step was hardest?", True),
        ("I use it to plan", "What do you use it to plan?", True),  # echoes the question
        ("A friend told me", "How did you hear about us?", False),
        ("Mostly to plan the week with my team", "What do you use it for?", False),
        ("Sprint planning, retros, hiring", "What do you use it for?", False),
        ("週次の計画に使っています", "何に使っていますか\uff1f", False),
    ],
)
def test_thin_is_judged_against_the_question(answer: str, question: str, thin: bool) -> None:
    assert is_thin(answer, question) is thin


def test_non_answers_are_known() -> None:
    assert (
        is_non_answer("OK.") and is_non_answer(" I don't know ") and not is_non_answer("fine print")
    )
