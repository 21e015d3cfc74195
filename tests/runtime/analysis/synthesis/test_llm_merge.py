"""The LLM engine's answer merged into the offline draft: its words where they fit."""

from __future__ import annotations

import pytest

from runtime.analysis.drafts import Draft, ProposedQuote, ThemeDraft
from runtime.analysis.synthesis import llm

OFFLINE_QUOTE = ProposedQuote("ses_a", "msg_a", "the battery dies before lunch")
BASE = Draft(
    engine="offline",
    summary="Offline summary.",
    themes=(
        ThemeDraft(
            title="Battery Life",
            description="offline description",
            sentiment="negative",
            keywords=("battery", "charge"),
            session_ids=("ses_a", "ses_b"),
            mentions=3,
            quotes=(OFFLINE_QUOTE,),
        ),
        ThemeDraft(
            title="Price",
            description="offline price",
            sentiment="neutral",
            keywords=("price",),
            session_ids=("ses_c",),
            mentions=1,
        ),
    ),
)


def test_the_models_words_replace_the_offline_ones_but_not_who_holds_the_theme() -> None:
    answer = {
        "summary": "  Two   themes. ",
        "themes": [
            {
                "index": 0,
                "title": "Batteries run out early",
                "description": "People charge twice a day.",
                "sentiment": "mixed",
                "quotes": [{"session_id": "ses_b", "message_id": "msg_b", "text": "twice a day"}],
                "participants": 99,
            }
        ],
    }
    merged = llm.merge(BASE, answer, "mock")
    assert merged.engine == "llm" and merged.model == "mock" and merged.summary == "Two themes."
    first, second = merged.themes
    assert (first.title, first.sentiment) == ("Batteries run out early", "mixed")
    assert first.session_ids == ("ses_a", "ses_b") and first.mentions == 3
    # The model's pick first, the offline quotes kept behind it.
    assert [q.text for q in first.quotes] == ["twice a day", OFFLINE_QUOTE.text]
    assert second == BASE.themes[1]  # not worded by the model: left as the offline engine had it


def test_what_does_not_fit_is_replaced_by_the_offline_words() -> None:
    answer = {
        "summary": 42,
        "themes": [
            {"index": 0, "title": "", "sentiment": "sideways", "quotes": [{"text": "no session"}]},
            {"index": "1", "title": "not an int index"},
        ],
    }
    merged = llm.merge(BASE, answer, "mock")
    assert merged.summary == BASE.summary
    assert merged.themes[0].title == "Battery Life"
    assert merged.themes[0].sentiment == "negative"
    assert merged.themes[0].quotes == (OFFLINE_QUOTE,)
    assert merged.themes[1] == BASE.themes[1]


def test_the_json_is_found_in_fences_and_prose_is_refused() -> None:
    assert llm.parse('Sure!\n```json\n{"summary": "x"}\n```') == {"summary": "x"}
    with pytest.raises(ValueError):
        llm.parse("Here are my thoughts, without any JSON.")
    with pytest.raises(ValueError):
        llm.parse("[1, 2] {not json}")
