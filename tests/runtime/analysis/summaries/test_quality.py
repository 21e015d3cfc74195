"""Quality metrics of hand-built sessions: each number by its stated rule."""

from __future__ import annotations

from runtime.analysis.summaries import quality
from tests.runtime.analysis.summaries.transcripts import Transcript, guide, span


def _measured(t: Transcript) -> quality.Quality:
    items = guide()
    return quality.measure(t.rows, items, t.coverage(items), span())


def test_a_clean_session_has_its_counts_and_no_flag() -> None:
    t = Transcript()
    t.ask("Q1", "Welcome! How did you start using the app?", "open")
    t.say("Q1", "A colleague showed it to me during a planning meeting last spring.")
    t.ask("Q2", "What would you change about it?")
    t.say("Q2", "ok")
    t.ask("Q3", "How easy was it, from 1 to 5?")
    t.say("Q3", "4")
    t.ask(None, "That's all, thank you!", "close")
    got = _measured(t)
    assert (got.turns.interviewer, got.turns.respondent) == (4, 3)
    assert got.words.respondent == 12 + 1 + 1
    assert got.words.interviewer == 8 + 6 + 8 + 4
    assert got.respondent_talk_share == round(14 / 40, 4)
    # Q3 is a rating: only the two open-ended answers count, and "ok" is thin.
    assert got.thin_answer_rate == 0.5 and got.thin_answer_ids == ["msg_4"]
    assert got.stacked_questions.count == 0 and got.leading_questions.count == 0
    assert got.guide_coverage == 1.0 and got.probes_used == 0
    assert got.median_answer_words == 1.0 and got.duration_seconds == 600.0
    expected = (
        quality.WEIGHT_COVERAGE * 1.0
        + quality.WEIGHT_SUBSTANCE * 0.5
        + quality.WEIGHT_TALK * (round(14 / 40, 4) / quality.TARGET_TALK_SHARE)
        + quality.WEIGHT_DEPTH * (1 / quality.DEPTH_WORDS)
        + quality.WEIGHT_HYGIENE * 1.0
    )
    assert got.quality_index == round(expected, 4)


def test_stacked_and_leading_questions_are_named_by_message() -> None:
    t = Transcript()
    t.ask("Q1", "How did you start? And who showed it to you?", "open")
    t.say("Q1", "A colleague showed it to me during a planning meeting.")
    t.ask("Q1", "What did you try first and why did you pick it?", "probe")
    t.say("Q1", "The calendar view, because our team plans everything in it.")
    t.ask("Q2", "Don\u2019t you think the new editor is much better?")
    t.say("Q2", "It is faster, but I miss the old shortcuts a lot.")
    t.ask("Q3", "The setup was easy, right?")
    t.say("Q3", "5")
    got = _measured(t)
    assert got.stacked_questions.message_ids == ["msg_1", "msg_3"]
    assert got.leading_questions.message_ids == ["msg_5", "msg_7"]
    assert got.probes_used == 1 and got.thin_answer_rate == 0.0


def test_what_is_not_a_stacked_or_leading_question() -> None:
    assert not quality.is_stacked("Thanks. Which plan are you on: Free, Pro or Team?")
    assert not quality.is_stacked("Was it quick or slow?")
    assert not quality.is_leading("What do you think of the editor?")
    assert not quality.is_leading("Surely you are busy. Thanks for your time.")  # asks nothing
    assert quality.is_stacked("你是怎么开始的\uff1f谁介绍给你的\uff1f")


def test_an_empty_session_measures_zero_without_failing() -> None:
    got = _measured(Transcript())
    assert (got.turns.interviewer, got.turns.respondent) == (0, 0)
    assert got.respondent_talk_share == 0.0 and got.median_answer_words == 0.0
    assert got.quality_index == 0.0


def test_a_better_session_ranks_higher() -> None:
    rich, thin = Transcript(), Transcript()
    for t, answers in (
        (rich, ["We adopted it for sprint planning across four product teams this year."] * 2),
        (thin, ["ok", "no idea"]),
    ):
        t.ask("Q1", "How did you start using the app?", "open")
        t.say("Q1", answers[0])
        t.ask("Q2", "What would you change about it?")
        t.say("Q2", answers[1])
    assert _measured(rich).quality_index > _measured(thin).quality_index
