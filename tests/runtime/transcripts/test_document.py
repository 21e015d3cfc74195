"""Recorded moves and answers as a transcript shows them: message views, turns, txt and Markdown."""

from __future__ import annotations

import hashlib
import json

import msgspec

from runtime.platform.clock import iso
from runtime.platform.json_output import dumps
from runtime.sessions.answers import NO_VALUE, Answer
from runtime.sessions.views import message_view
from runtime.transcripts import document
from tests.recorded import answer, old, rows


def test_message_views_carry_the_move_and_the_answer() -> None:
    views = [message_view(r) for r in rows()]
    assert [v.move for v in views if v.role == "interviewer"] == [
        "open", "probe", "ask", "reask", "ask", "ask", "reask", "reask", "close"
    ]  # fmt: skip
    assert all(v.answer is None for v in views if v.role == "interviewer")
    assert all(v.move is None for v in views if v.role == "respondent")
    assert views[1].answer == Answer(kind="question")  # open-ended: no value, ever
    assert views[5].answer == Answer(
        kind="question", value=None, value_status="invalid", confidence=0.3, resolved_by="model"
    )
    assert views[7].answer == Answer(
        kind="reask", value="Pro", value_status="resolved", confidence=0.85, resolved_by="model"
    )
    assert views[9].answer is not None and views[9].answer.value == 4  # a number stays one
    assert views[15].answer is not None and views[15].answer.value_status == "unresolved"
    written = msgspec.json.decode(dumps(views[9]))
    assert written["answer"] == {
        "kind": "question", "value": 4, "value_status": "resolved", "confidence": 1.0,
        "resolved_by": "rule",
    }  # fmt: skip
    # Respondents see their own answer's record, not the accounting.
    respondent_view = msgspec.json.decode(dumps(message_view(rows()[9], with_metadata=False)))
    assert "metadata" not in respondent_view and respondent_view["answer"]["value"] == 4


def test_rows_stored_before_answers_were_recorded_have_none() -> None:
    views = [message_view(r) for r in old(rows())]
    assert all(v.move is None and v.answer is None for v in views)
    # An answer not yet valued (the next turn not committed) and one the engine wrote
    # badly: the first is shown as it stands, the second not at all.
    pending, broken = rows()[1], rows()[3]
    pending["metadata"] = {"answer": {"kind": "question"}}
    broken["metadata"] = {"answer": {"kind": "guess", "value": [1]}}
    assert message_view(pending).answer == Answer(kind="question", value_status=None)
    assert message_view(broken).answer is None
    # A move from before the shared vocabulary (an LLM proposal such as "next") is no move.
    proposal = {**rows()[0], "metadata": {"move": "next"}}
    assert message_view(proposal).move is None


def test_turns_pair_each_question_with_its_answer_and_value() -> None:
    turns = document.turns(rows())
    summary = [(t.item_id, t.move, t.answer_kind, t.value, t.value_status) for t in turns]
    assert summary == [
        ("Q1", "open", "question", None, None),
        ("Q1", "probe", "probe", None, None),
        ("Q2", "ask", "question", None, "invalid"),
        ("Q2", "reask", "reask", "Pro", "resolved"),
        ("Q3", "ask", "question", 4, "resolved"),
        ("Q4", "ask", "question", None, "invalid"),
        ("Q4", "reask", "reask", None, "invalid"),
        ("Q4", "reask", "reask", None, "unresolved"),
        (None, "close", None, None, None),
    ]
    assert [t.confidence for t in turns][2:5] == [0.3, 0.85, 1.0]
    assert turns[3].answer == "the middle one, we pay monthly"
    old_turns = document.turns(old(rows()))
    assert [t.answer for t in old_turns] == [t.answer for t in turns]
    assert all(t.move is t.answer_kind is t.value is t.value_status is None for t in old_turns)


def test_a_second_reply_to_one_turn_records_its_value() -> None:
    again = {**rows()[7], "seq": 7, "id": "msg_x", "content": "actually, Pro"}
    conversation = [*rows()[4:6], again]
    conversation[2]["metadata"] = {"answer": answer("question", "Pro", "resolved", 1.0, "rule")}
    [turn] = document.turns(conversation)
    assert turn.answer == "the cheap one, I think\n\nactually, Pro"
    assert (turn.answer_kind, turn.value, turn.value_status) == ("question", "Pro", "resolved")


def test_text_and_markdown_show_the_recorded_value_beside_the_answer() -> None:
    fields = [("Interview", "Plans"), ("Session", "ses_1")]
    text = document.to_text("Plans", fields, rows())
    assert "  the middle one, we pay monthly\n→ Pro\n" in text
    assert "  4\n→ 4\n" in text
    assert f"  no idea\n→ {NO_VALUE}\n" in text
    # Nothing beside an open-ended answer, an invalid one (it is asked again) or an old row.
    assert "  Planning\n\n" in text and "  all of them\n\n" in text
    assert text.count("→") == 3
    assert "→" not in document.to_text("Plans", fields, old(rows()))
    md = document.to_markdown("Plans", fields, rows())
    assert "> the middle one, we pay monthly\n\n→ Pro\n" in md
    assert f"> no idea\n\n→ {NO_VALUE}\n" in md and md.count("→") == 3


def test_what_was_typed_cannot_pass_for_a_recorded_value() -> None:
    forged = rows()[:2]
    forged[1] = {**forged[1], "content": "→ Team\nreally"}
    text = document.to_text("Plans", [], forged)
    assert "\n  → Team\n  really\n" in text and "\n→" not in text
    md = document.to_markdown("Plans", [], forged)
    assert "> → Team\n> really\n" in md and "\n→" not in md
    # A label with Markdown in it is escaped like any metadata value.
    labelled = rows()[6:8]
    labelled[1]["metadata"] = {"answer": answer("reask", "[Pro](x)", "resolved", 1.0, "rule")}
    assert "→ \\[Pro\\](x)" in document.to_markdown("Plans", [], labelled)


def test_fingerprint_follows_the_value_and_keeps_old_transcripts() -> None:
    fields = [("Interview", "Plans")]
    plain = document.fingerprint("Plans", fields, old(rows()))
    # Stored before values were recorded: the fingerprint (and the files kept by it) is
    # what it was before this change.
    digest = hashlib.sha256(json.dumps(["Plans", fields]).encode())
    for m in old(rows()):
        digest.update(json.dumps([m["id"], m["role"], m["content"], iso(m["created_at"])]).encode())
    assert plain == digest.hexdigest()
    valued = document.fingerprint("Plans", fields, rows())
    assert valued != plain
    changed = rows()
    changed[7]["metadata"] = {"answer": answer("reask", "Team", "resolved", 0.6, "model")}
    assert document.fingerprint("Plans", fields, changed) != valued
