"""The scripted interviewer's decisions, turn by turn."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.engines.answers import is_thin, match_option, match_rating
from runtime.engines.base import TranscriptEntry, TurnContext
from runtime.engines.scripted import chunks, plan
from runtime.interviews import guide as guides

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _guide() -> guides.StoredGuide:
    guide, _ = guides.add_section(guides.empty_guide(), "S")
    for fields in (
        {"text": "Why?", "follow_up": "Say more?", "probe_budget": 2},
        {"text": "Pick", "question_type": "multiple_choice", "options": ["Red", "Light blue"]},
        {"text": "Rate", "question_type": "rating", "scale": {"min": 0, "max": 10}},
    ):
        guide, _ = guides.add_item(guide, "S1", "question", fields)
    return guide


def _ctx(seq: int, state: dict[str, Any], answer: str, **interview: Any) -> TurnContext:
    transcript = [
        TranscriptEntry("interviewer", "q", None),
        TranscriptEntry("respondent", answer, None),
    ]
    return TurnContext(
        interview={"welcome_message": "Hello", "closing_message": "Bye", **interview},
        guide=_guide(),
        state=state,
        seq=seq,
        transcript=transcript if seq > 1 else [],
        started_at=NOW,
        now=NOW,
    )


def test_opening_is_welcome_then_first_question() -> None:
    text, decision = plan(_ctx(1, {}, ""))
    assert text == "Hello\n\nWhy?" and decision.item_id == "Q1" and decision.move == "open"


def test_thin_answers_are_probed_within_budget() -> None:
    text, first = plan(_ctx(2, {"index": 0, "probes": 0}, "the permissions"))
    assert (text, first.move, first.state["probes"]) == ("Say more?", "probe", 1)
    text, second = plan(_ctx(3, first.state, "meh"))
    # The follow-up is asked once; a second probe is the general invitation.
    assert second.move == "probe" and text == "Could you tell me a bit more about that?"
    _, third = plan(_ctx(4, second.state, "still meh"))
    assert third.move == "ask" and third.item_id == "Q2", "budget of 2 spent: move on"


def test_rich_answer_moves_on_and_choices_are_validated() -> None:
    text, decision = plan(_ctx(2, {"index": 0}, "Because it saves me hours every week"))
    assert decision.item_id == "Q2" and "1. Red" in text and "2. Light blue" in text
    _, wrong = plan(_ctx(3, decision.state, "green"))
    assert wrong.move == "reask" and wrong.item_id == "Q2"
    assert wrong.answer is not None and wrong.answer.status == "invalid"
    _, wrong2 = plan(_ctx(4, wrong.state, "purple"))
    _, gave_up = plan(_ctx(5, wrong2.state, "orange"))
    assert gave_up.move == "ask", "after two re-asks the item is moved past"
    assert gave_up.answer is not None and gave_up.answer.status == "unresolved"
    assert gave_up.state["unresolved"] == ["Q2"]
    _, right = plan(_ctx(3, decision.state, "light blue please"))
    assert right.move == "ask" and right.item_id == "Q3"
    assert right.answer is not None and (right.answer.value, right.answer.resolved_by) == (
        "Light blue",
        "rule",
    )


def test_last_item_closes() -> None:
    text, decision = plan(_ctx(5, {"index": 2}, "7"))
    assert (text, decision.completes, decision.move) == ("Bye", True, "close")
    _, out_of_scale = plan(_ctx(5, {"index": 2}, "11"))
    assert out_of_scale.move == "reask"


def test_limits_close_the_interview() -> None:
    by_turns = _ctx(4, {"index": 0}, "A long enough answer here", settings={"max_turns": 4})
    assert plan(by_turns)[1].completes
    late = TurnContext(
        **{**_ctx(2, {"index": 0}, "x y z w").__dict__, "now": NOW + timedelta(minutes=31)}
    )
    late = TurnContext(**{**late.__dict__, "interview": {"settings": {"max_duration_minutes": 30}}})
    text, decision = plan(late)
    assert decision.completes and "Thank you for your time" in text


def test_helpers() -> None:
    assert "".join(chunks("Hello  big\nworld ")) == "Hello  big\nworld "
    assert len(chunks("one two three")) == 3
    assert match_option("2", ["a", "b"]) == "b" and match_option("3", ["a", "b"]) is None
    assert match_option("I'd say A.", ["a", "b"]) == "a"
    assert match_option("a or b", ["a", "b"]) is None, "ambiguous"
    one_to_ten = guides.Scale(min=1, max=10, min_label=None, max_label=None)
    assert match_rating("about 8 I think", one_to_ten) == 8
    assert match_rating("8 or 9", one_to_ten) is None
    assert is_thin("yes") and not is_thin("it helps me plan my week")


def test_the_runtimes_own_words_are_in_the_interviews_language() -> None:
    rich = "Weil es mir jede Woche Stunden spart"
    text, asked = plan(_ctx(2, {"index": 0}, rich, language="de-AT"))
    assert text.startswith("Danke. Pick"), "the bridge is German"
    text, _ = plan(_ctx(3, asked.state, "grün", language="de-AT"))
    assert text.startswith("Entschuldigung, ich habe nicht verstanden, welche Option")
    text, rating = plan(_ctx(3, {"index": 2}, "viel", language="ja"))
    reask = "すみません、この質問には数字でお答えください。"
    assert text == reask + "0から10までの数字でお答えください。"
    assert rating.move == "reask"
    text, closed = plan(_ctx(3, {"index": 2}, "7", language="fr", closing_message=""))
    assert closed.move == "close"
    assert text == "Merci pour votre temps — c'est tout ce que je voulais vous demander."


def test_a_thin_answer_without_a_follow_up_gets_the_probe_in_its_language() -> None:
    guide, _ = guides.add_section(guides.empty_guide(), "S")
    guide, _ = guides.add_item(guide, "S1", "question", {"text": "¿Por qué?"})
    guide, _ = guides.add_item(guide, "S1", "question", {"text": "¿Y luego?"})
    ctx = _ctx(2, {"index": 0}, "no sé", language="es-419")
    text, decision = plan(dataclasses.replace(ctx, guide=guide))
    assert (text, decision.move) == ("¿Podría contarme un poco más sobre eso?", "probe")
