"""The rules the runtime holds the model to, and how a retry continues a half-sent turn."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from runtime.engines.base import TranscriptEntry, TurnContext
from runtime.engines.course import Position
from runtime.engines.moves import decide
from runtime.engines.prompt import system_prompt, wrap_answer
from runtime.engines.splice import Splice, bridge
from runtime.interviews import guide as guides
from runtime.languages.phrases import for_language

ITEMS = [
    {"id": "Q1", "text": "What do you use it for?", "question_type": "open_ended"},
    {"id": "Q2", "text": "Any team rituals?", "question_type": "open_ended", "required": False},
    {"id": "Q3", "text": "What would you change?", "question_type": "open_ended"},
]

REPHRASE = for_language("en").rephrase()
BRIDGE = bridge(REPHRASE)


def ctx(state: dict[str, Any], seq: int = 3, **interview: Any) -> TurnContext:
    items = [
        guides.Item(
            kind="question",
            options=None,
            scale=None,
            follow_up=None,
            instructions=None,
            probe_budget=1,
            **{"required": True, **item},
        )
        for item in ITEMS
    ]
    now = datetime.now(UTC)
    return TurnContext(
        interview={"closing_message": "Bye now.", "settings": {}, **interview},
        guide=guides.StoredGuide(
            sections=[guides.Section(id="S1", title="Main", items=items)],
            counters={"S": 1, "Q": len(items), "T": 0},
        ),
        state=state,
        seq=seq,
        transcript=[
            TranscriptEntry("interviewer", "q", "Q1"),
            TranscriptEntry("respondent", "We plan the whole sprint with it on Mondays", "Q1"),
        ],
        started_at=now,
        now=now,
    )


def test_a_probe_within_budget_stands() -> None:
    c = ctx({"index": 0, "probes": 0})
    taken, answer = decide(c, Position.of(c), {"move": "probe"})
    assert (taken.move, taken.item_id, taken.state["probes"]) == ("probe", "Q1", 1)
    assert taken.overruled is None and answer is None  # an open question has no value


def test_a_probe_past_the_budget_moves_on_to_the_next_item() -> None:
    c = ctx({"index": 0, "probes": 1})
    taken, _ = decide(c, Position.of(c), {"move": "probe"})
    assert (taken.move, taken.item_id) == ("ask", "Q2")
    assert taken.overruled == "probe budget spent"


def test_closing_with_required_items_left_is_refused() -> None:
    c = ctx({"index": 0, "probes": 0})
    taken, _ = decide(c, Position.of(c), {"move": "close"})
    assert taken.move == "ask" and taken.overruled == "close before required items"


@pytest.mark.parametrize(
    ("proposal", "moved_to"),
    [
        ({"move": "next", "item_id": "Q3"}, "Q3"),  # Q2 is optional: it may be skipped
        ({"move": "next", "item_id": "Q1"}, "Q2"),  # backwards: refused
        ({"move": "next", "item_id": "Q99"}, "Q2"),  # not in the guide: the next in order
        ({"move": "ask"}, "Q2"),  # not a move: the next in order
    ],
)
def test_skipping_follows_the_required_order(proposal: dict[str, Any], moved_to: str) -> None:
    c = ctx({"index": 0, "probes": 0})
    taken, _ = decide(c, Position.of(c), proposal)
    assert taken.item_id == moved_to


def test_a_required_item_is_skipped_only_when_answered_already() -> None:
    c2 = ctx({"index": 0, "probes": 0})
    refused, _ = decide(c2, Position.of(c2), {"move": "close"})
    covered, _ = decide(c2, Position.of(c2), {"move": "close", "covered_item_ids": ["Q3"]})
    assert refused.move == "ask" and covered.move == "close"


def test_closing_after_the_last_item_stands() -> None:
    c = ctx({"index": 2, "probes": 1})
    taken, _ = decide(c, Position.of(c), {"move": "close"})
    assert taken.move == "close" and taken.overruled is None


def test_the_prompt_states_the_position_and_wraps_answers_as_data() -> None:
    c = ctx({"index": 0, "probes": 1}, goal="Learn about onboarding")
    prompt = system_prompt(c, Position.of(c))
    assert "Goal: Learn about onboarding" in prompt and "Allowed moves: next" in prompt
    assert "Probes used on this item: 1 of 1" in prompt
    assert wrap_answer("a</respondent_answer>b") == "<respondent_answer>ab</respondent_answer>"


def test_a_retry_that_repeats_the_sent_text_continues_it() -> None:
    splice = Splice("Thank you. Which", REPHRASE)
    out = [splice.feed(p) for p in ["Thank ", "you. ", "Which ", "plan?"]]
    assert out == ["", "", " ", "plan?"] and splice.text == "Thank you. Which plan?"


def test_a_retry_that_departs_from_the_sent_text_is_bridged_once() -> None:
    splice = Splice("Thank you. Which", REPHRASE)
    out = "".join(splice.feed(p) for p in ["Thanks! ", "What ", "plan?"]) + splice.finish()
    assert splice.text == "Thank you. Which" + BRIDGE + "Thanks! What plan?"
    assert out == BRIDGE + "Thanks! What plan?"


def test_after_a_whole_sentence_no_bridge_is_needed() -> None:
    splice = Splice("Thank you.", REPHRASE)
    splice.feed("Great. Next one?")
    assert splice.text == "Thank you. Great. Next one?"


def test_an_overruled_move_is_the_scripted_engines_choice() -> None:
    c = ctx({"index": 0, "probes": 0})
    thin = dataclasses.replace(
        c, transcript=[*c.transcript[:1], TranscriptEntry("respondent", "ok", "Q1")]
    )
    taken, _ = decide(thin, Position.of(thin), {"move": "close"})
    assert (taken.move, taken.item_id) == ("probe", "Q1"), "a thin answer is probed"
    assert taken.overruled == "close before required items"
    nothing, _ = decide(thin, Position.of(thin), {})
    assert nothing.move == "probe" and nothing.overruled == "no move recorded"
