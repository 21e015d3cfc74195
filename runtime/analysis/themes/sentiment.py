"""A sentence's sentiment score (-1..1): VADER per clause for English, neutral otherwise.

VADER negates a sentiment word when "never", "not" etc. stand in the three words before it,
across commas: "support never answered, terrible" scores +0.64, because "terrible" is read
as "never ... terrible". So a sentence is scored clause by clause (cut at , ; : and the
conjunctions "but", "though", "although", "however"), and its score is its clause of
largest magnitude (the later one on a tie). VADER also has no word for a service that did
not do its job: a negator within two words before one of EXPECTED_ACTIONS ("never
answered", "didn't work") scores that clause FAILED_ACTION_SCORE. And SUBJECT_WORDS are
taken out of VADER's lexicon: in product interviews "support" or "help" names a service
talked about ("I waited a week for support"), not praise.

Other languages are scored 0.0 (neutral): VADER's lexicon is English, and guessing from a
translated lexicon would be worse than saying nothing. The LLM engine covers them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Protocol

from runtime.analysis.vocabulary import Sentiment

# A sentence or participant leaning this far from 0 counts as positive or negative
# (VADER's own cut-off is 0.05; this asks for a clearer lean).
LEAN_THRESHOLD = 0.25
# The score of a clause like "support never answered" (a failed expectation).
FAILED_ACTION_SCORE = -0.4
EXPECTED_ACTIONS = frozenset(
    "answer answered answers respond responded responds reply replied replies work works "
    "worked working help helped helps fix fixed fixes arrive arrived arrives load loads "
    "loaded sync syncs synced connect connects connected call called".split()
)
SUBJECT_WORDS = ("support", "help", "care")
NEGATORS = frozenset(
    "never not no nobody nothing didn't doesn't don't isn't wasn't won't can't couldn't "
    "cannot hasn't haven't hadn't didnt doesnt dont isnt wasnt wont cant couldnt".split()
)

_CLAUSES = re.compile(r"[,;:]|\b(?:but|though|although|however)\b", re.IGNORECASE)
_WORDS = re.compile(r"[\w']+")


class _Analyzer(Protocol):
    def polarity_scores(self, text: str) -> dict[str, float]: ...


@cache
def _vader() -> _Analyzer:
    # Imported on first use: loading the lexicon takes a tenth of a second.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    for word in SUBJECT_WORDS:
        analyzer.lexicon.pop(word, None)
    found: _Analyzer = analyzer
    return found


def scored_language(language: str) -> bool:
    """Whether sentences in this interview language (a BCP 47 tag) are scored at all."""
    return language.split("-", 1)[0].casefold() == "en"


def score(sentence: str, language: str) -> float:
    """The sentence's sentiment, -1 (negative) to 1 (positive); 0.0 when not scored."""
    if not scored_language(language):
        return 0.0
    strongest = 0.0
    for clause in _CLAUSES.split(sentence):
        value = _clause(clause)
        if value != 0.0 and abs(value) >= abs(strongest):
            strongest = value
    return round(strongest, 4)


def _clause(clause: str) -> float:
    words = [w.replace("\u2019", "'").casefold() for w in _WORDS.findall(clause)]
    if not words:
        return 0.0
    compound = float(_vader().polarity_scores(clause)["compound"])
    if compound == 0.0 and _failed_action(words):
        return FAILED_ACTION_SCORE
    return compound


def _failed_action(words: list[str]) -> bool:
    return any(
        w in EXPECTED_ACTIONS and any(n in NEGATORS for n in words[max(0, i - 2) : i])
        for i, w in enumerate(words)
    )


def lean(value: float) -> Sentiment:
    """A score (a sentence's, or a participant's mean) as a word."""
    if value >= LEAN_THRESHOLD:
        return "positive"
    if value <= -LEAN_THRESHOLD:
        return "negative"
    return "neutral"


# A theme is "mixed" when each side holds at least MIXED_SHARE of its participants;
# otherwise the side with more participants names it if it holds at least DOMINANT_SHARE
# of them all; else it is neutral.
MIXED_SHARE = 0.25
DOMINANT_SHARE = 0.3


def theme_sentiment(positive: int, negative: int, total: int) -> Sentiment:
    """A theme's sentiment from how many of its `total` participants lean each way."""
    if total <= 0:
        return "neutral"
    if positive >= MIXED_SHARE * total and negative >= MIXED_SHARE * total:
        return "mixed"
    if positive > negative and positive >= DOMINANT_SHARE * total:
        return "positive"
    if negative > positive and negative >= DOMINANT_SHARE * total:
        return "negative"
    return "neutral"
