"""Sentence sentiment: VADER per clause, with its negation slip and the failed-service case
handled; a theme's sentiment from its participants' leanings."""

from __future__ import annotations

import pytest

from runtime.analysis.themes.sentiment import lean, score, theme_sentiment


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Support never answered, terrible.", "negative"),  # bare VADER: +0.64
        ("Support never answered my emails.", "negative"),
        ("I waited a week for support, awful.", "negative"),
        ("The support team was useless and rude.", "negative"),
        ("The support team was wonderful and answered within an hour.", "positive"),
        ("Support was fantastic, they solved everything quickly.", "positive"),
        ("I love the dashboard charts.", "positive"),
        ("The battery dies before lunch.", "neutral"),
        ("I open the dashboard every Monday.", "neutral"),
    ],
)
def test_planted_sentences_lean_as_a_reader_would(sentence: str, expected: str) -> None:
    assert lean(score(sentence, "en")) == expected, score(sentence, "en")


def test_other_languages_are_not_scored() -> None:
    assert score("Der Support war wunderbar!", "de") == 0.0
    assert score("Support never answered, terrible.", "en-GB") < 0


def test_theme_sentiment_rule() -> None:
    assert theme_sentiment(5, 5, 12) == "mixed"
    assert theme_sentiment(6, 1, 12) == "positive"
    assert theme_sentiment(1, 5, 12) == "negative"
    assert theme_sentiment(1, 1, 12) == "neutral"
    assert theme_sentiment(0, 0, 0) == "neutral"
