"""What of a model's turn reaches the respondent, whatever the model writes, and when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runtime.engines.base import Decision, TranscriptEntry, TurnContext
from runtime.engines.course import Position
from runtime.engines.gate import Bridge, Field, Gate, ModelOutput, OneQuestion, Plain, Words
from runtime.interviews import guide as guides

NOW = datetime(2026, 1, 1, tzinfo=UTC)
Q2 = "Which plan are you on?\n1. Free\n2. Pro\n3. Team"


def _guide() -> guides.StoredGuide:
    guide, _ = guides.add_section(guides.empty_guide(), "S")
    for fields in (
        {"text": "What do you use it for?", "follow_up": "Say more?", "probe_budget": 1},
        {
            "text": "Which plan are you on?",
            "question_type": "multiple_choice",
            "options": ["Free", "Pro", "Team"],
        },
        {"text": "How likely are you to recommend it?", "question_type": "rating"},
        {"text": "What would you change?"},
    ):
        guide, _ = guides.add_item(guide, "S1", "question", fields)
    return guide


def ctx(state: dict[str, Any], answer: str, seq: int = 3) -> TurnContext:
    return TurnContext(
        interview={"closing_message": "Bye now.", "settings": {}},
        guide=_guide(),
        state=state,
        seq=seq,
        transcript=[
            TranscriptEntry("interviewer", "q", None),
            TranscriptEntry("respondent", answer, None),
        ],
        started_at=NOW,
        now=NOW,
    )


def run(c: TurnContext, outputs: list[ModelOutput]) -> tuple[list[list[str | Decision]], Gate]:
    """What the gate shows after each output, then at the end."""
    gate = Gate(c, Position.of(c))
    shown = [gate.feed(o) for o in outputs]
    shown.append(gate.finish())
    return shown, gate


def text(shown: list[list[str | Decision]]) -> str:
    return "".join(s for step in shown for s in step if isinstance(s, str))


def moves(fields: dict[str, Any]) -> list[ModelOutput]:
    return [Field(k, v) for k, v in fields.items()]


def test_the_move_is_announced_before_the_first_word_and_the_words_stream() -> None:
    c = ctx({"index": 0}, "stuff")
    words = ["Could ", "you ", "say ", "more?"]
    shown, gate = run(c, [*moves({"move": "probe"}), *(Words(w) for w in words)])
    first = shown[1]
    assert isinstance(first[0], Decision) and first[0].move == "probe"
    assert first[1:] == ["Could "]
    assert [s for step in shown[2:5] for s in step] == ["you ", "say ", "more?"]
    assert text(shown) == "Could you say more?" and gate.model_words


def test_a_probe_is_cut_after_its_first_question() -> None:
    c = ctx({"index": 0}, "stuff")
    outputs = [*moves({"move": "probe"}), Words("Why is that? "), Words("And what else?")]
    shown, _ = run(c, outputs)
    assert text(shown) == "Why is that?"


def test_a_probe_written_with_a_move_on_asks_only_the_next_item() -> None:
    # The "two questions in one turn": the model's words are a probe, its move next.
    c = ctx({"index": 0}, "I plan the sprint with it every Monday morning")
    outputs = [
        *moves({"move": "next", "item_id": "Q2"}),
        Words("Thanks, that helps. "),
        Words("Could you tell me a bit more about that?"),
    ]
    shown, gate = run(c, outputs)
    assert text(shown) == f"Thanks, that helps. {Q2}"
    assert gate.step is not None and (gate.step.move, gate.step.item_id) == ("ask", "Q2")


def test_the_next_question_follows_as_soon_as_the_model_starts_asking() -> None:
    c = ctx({"index": 0}, "I plan the sprint with it every Monday morning")
    gate = Gate(c, Position.of(c))
    for output in moves({"move": "next"}):
        gate.feed(output)
    assert gate.feed(Words("Great. ")) == [gate.decision(), "Great."]
    # Not when the stream ends: the moment the model's own question shows.
    assert gate.feed(Words("So which plan?")) == [f" {Q2}"]
    assert gate.feed(Words(" More words.")) == [] and gate.finish() == []


def test_text_outside_the_move_is_held_and_never_shown_for_a_move_on() -> None:
    c = ctx({"index": 0}, "I plan the sprint with it every Monday morning")
    outputs = [Plain("Could you tell me more? "), *moves({"move": "next", "item_id": "Q2"})]
    shown, gate = run(c, outputs)
    assert all(not step for step in shown[:-1]), "nothing before the move is known"
    assert text(shown) == f"Thank you. {Q2}" and not gate.model_words


def test_held_text_is_shown_as_the_probe_its_move_bears_out() -> None:
    c = ctx({"index": 0}, "stuff")
    shown, _ = run(c, [Plain("What do you mean by stuff? Tell me."), *moves({"move": "probe"})])
    assert text(shown) == "What do you mean by stuff?"


def test_a_reply_with_no_move_at_all_is_the_runtimes() -> None:
    c = ctx({"index": 0}, "I plan the sprint with it every Monday morning")
    shown, gate = run(c, [Plain("Which plan are you on? And why?")])
    assert text(shown) == f"Thank you. {Q2}"
    assert gate.step is not None and gate.step.overruled == "no move recorded"


def test_words_written_before_the_move_wait_for_it() -> None:
    c = ctx({"index": 0}, "stuff")
    gate = Gate(c, Position.of(c))
    assert gate.feed(Words("Why ")) == []
    assert gate.feed(Field("move", "probe")) == []
    shown = gate.feed(Words("so?"))
    assert isinstance(shown[0], Decision) and shown[1:] == ["Why so?"]


def test_a_close_says_only_the_closing() -> None:
    c = ctx({"index": 3}, "I would make the reports faster to load")
    outputs = [*moves({"move": "close"}), Words("Thanks! Anything else you want to add?")]
    shown, gate = run(c, outputs)
    assert text(shown) == "Bye now." and gate.decision().completes


def test_closing_over_a_required_item_asks_it_instead() -> None:
    c = ctx({"index": 0}, "I plan the sprint with it every Monday morning")
    shown, gate = run(c, [*moves({"move": "close"}), Words("Goodbye!")])
    assert gate.step is not None and gate.step.item_id == "Q2"
    assert text(shown) == f"Thank you. {Q2}"


def test_an_answer_with_no_valid_option_is_asked_again_with_the_options() -> None:
    c = ctx({"index": 1}, "mostly the permissions step")
    outputs = [*moves({"value": "Platinum", "confidence": 0.95, "move": "next"}), Words("Ok.")]
    shown, gate = run(c, outputs)
    assert gate.step is not None and gate.step.move == "reask"
    assert gate.answer is not None and gate.answer.status == "invalid"
    assert text(shown).startswith("Sorry, I didn't catch which option you mean.")


def test_the_models_reask_is_followed_by_the_options() -> None:
    c = ctx({"index": 1}, "mostly the permissions step")
    shown, _ = run(c, [*moves({"value": None, "move": "reask"}), Words("Which one fits best?")])
    assert text(shown) == "Which one fits best?\n1. Free\n2. Pro\n3. Team"


@pytest.mark.parametrize(
    ("answer", "fields", "value", "by"),
    [
        ("2", {"value": None}, "Pro", "rule"),
        ("the paid one, for everybody", {"value": "Team", "confidence": 0.8}, "Team", "model"),
        ("the paid one, for everybody", {"value": "3", "confidence": 0.8}, "Team", "model"),
    ],
)
def test_a_paraphrase_is_filed_under_the_option_the_model_maps_it_to(
    answer: str, fields: dict[str, Any], value: str, by: str
) -> None:
    c = ctx({"index": 1}, answer)
    _, gate = run(c, [*moves({**fields, "move": "next"}), Words("Got it.")])
    assert gate.answer is not None
    assert (gate.answer.value, gate.answer.status, gate.answer.resolved_by) == (
        value,
        "resolved",
        by,
    )
    assert gate.step is not None and gate.step.item_id == "Q3"


def test_an_unsure_mapping_is_asked_again() -> None:
    c = ctx({"index": 1}, "the paid one, for everybody")
    _, gate = run(c, [*moves({"value": "Team", "confidence": 0.3, "move": "next"})])
    assert gate.step is not None and gate.step.move == "reask"


def test_the_filters_alone() -> None:
    one = OneQuestion()
    assert one.feed('He said "why?" ') + one.feed("then") == 'He said "why?"'
    bridge = Bridge()
    assert bridge.feed("Thanks. Good") == "Thanks."
    assert bridge.feed(" point. Why?") == " Good point."
    assert bridge.ended and bridge.finish() == ""
