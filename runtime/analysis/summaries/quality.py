"""One session's quality: deterministic numbers, each by a stated rule (docs/synthesis.md).

The numbers are the product; `quality_index` combines them with the weights below only so
sessions can be sorted by it, and is shown as one number among them.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.analysis.summaries.sentences import Sentence, split, word_count
from runtime.analysis.summaries.views import Flagged, Quality, Turns, Words
from runtime.coverage.views import SessionCoverage
from runtime.engines.answers import has_value, is_thin
from runtime.interviews.guide import Item

# The weights of quality_index (they add up to 1), each over a number made to lie in [0, 1].
WEIGHT_COVERAGE = 0.35  # guide_coverage
WEIGHT_SUBSTANCE = 0.20  # 1 - thin_answer_rate
WEIGHT_TALK = 0.20  # respondent_talk_share / TARGET_TALK_SHARE, at most 1
WEIGHT_DEPTH = 0.15  # median_answer_words / DEPTH_WORDS, at most 1
WEIGHT_HYGIENE = 0.10  # 1 - (stacked + leading questions) / interviewer turns, at least 0
# The respondent should do most of the talking: a share of this much or more counts in full.
TARGET_TALK_SHARE = 0.6
# A median answer of this many words or more counts in full.
DEPTH_WORDS = 25

# A question sentence joining a second question: a conjunction then an interrogative word.
_JOINED = re.compile(
    r"\b(?:and|or)\s+(?:also\s+)?(?:what|how|why|when|where|who|whom|which|whose)\b", re.I
)
# Questions that suggest their own answer (English): each pattern is documented.
LEADING_PATTERNS: tuple[str, ...] = (
    r"\b(?:don't|do not) you (?:think|agree|feel|find)\b",
    r"\b(?:wouldn't|would not) you (?:agree|say)\b",
    r"\b(?:isn't|is not) it (?:true|right|obvious|clear)\b",
    r"\b(?:aren't|are not) you (?:glad|happy|pleased)\b",
    r"\bsurely\b",
    r"\bobviously\b",
    r"\bhow much did you (?:love|like|enjoy|hate|dislike)\b",
    r"\bhow (?:great|amazing|awful|terrible|frustrating|annoying) (?:was|is|were)\b",
    r"\bagree that\b",
    r",\s*(?:right|correct)\s*\?",
)
_LEADING = re.compile("|".join(LEADING_PATTERNS), re.I)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

# A messages row as SQL gives it, as a mapping (id, role, content, item_id).
MessageRow = Mapping[str, Any]


@dataclass(frozen=True)
class Span:
    """When the session ran: from its start to its end, or to its last activity if live."""

    created_at: datetime
    last_activity_at: datetime
    completed_at: datetime | None

    @property
    def seconds(self) -> float:
        end = self.completed_at or self.last_activity_at
        return round(max((end - self.created_at).total_seconds(), 0.0), 3)


def is_stacked(text: str) -> bool:
    """More than one question sentence, or one that joins a second question ("… and how …")."""
    asking = _questions(text)
    return len(asking) > 1 or any(_JOINED.search(s.text) for s in asking)


def is_leading(text: str) -> bool:
    """A question sentence matching one of LEADING_PATTERNS."""
    return any(_LEADING.search(s.text.translate(_APOSTROPHES)) for s in _questions(text))


def _questions(text: str) -> list[Sentence]:
    return [s for s in split(text) if s.asks]


def measure(
    rows: Sequence[MessageRow], items: Sequence[Item], coverage: SessionCoverage, span: Span
) -> Quality:
    """The session's numbers from its messages in seq order, its guide version's items and
    its coverage (runtime.coverage, not recomputed here)."""
    by_id = {item.id: item for item in items}
    asked = [r for r in rows if r["role"] == "interviewer"]
    said = [r for r in rows if r["role"] == "respondent"]
    respondent_words = [word_count(r["content"]) for r in said]
    interviewer_words = sum(word_count(r["content"]) for r in asked)
    total_words = sum(respondent_words) + interviewer_words
    open_answers = [
        r for r in said if (item := by_id.get(r["item_id"] or "")) and not has_value(item)
    ]
    thin = [r["id"] for r in open_answers if is_thin(r["content"], by_id[r["item_id"]].text)]
    stacked = [r["id"] for r in asked if is_stacked(r["content"])]
    leading = [r["id"] for r in asked if is_leading(r["content"])]
    share = round(sum(respondent_words) / total_words, 4) if total_words else 0.0
    thin_rate = round(len(thin) / len(open_answers), 4) if open_answers else 0.0
    median = float(statistics.median(respondent_words)) if respondent_words else 0.0
    flagged = len(set(stacked) | set(leading))
    hygiene = max(1.0 - flagged / len(asked), 0.0) if asked else 1.0
    index = (
        WEIGHT_COVERAGE * coverage.share
        + WEIGHT_SUBSTANCE * (1.0 - thin_rate)
        + WEIGHT_TALK * min(share / TARGET_TALK_SHARE, 1.0)
        + WEIGHT_DEPTH * min(median / DEPTH_WORDS, 1.0)
        + WEIGHT_HYGIENE * hygiene
    )
    return Quality(
        turns=Turns(interviewer=len(asked), respondent=len(said)),
        words=Words(respondent=sum(respondent_words), interviewer=interviewer_words),
        respondent_talk_share=share,
        guide_coverage=coverage.share,
        probes_used=sum(item.probes_used for item in coverage.items),
        thin_answer_rate=thin_rate,
        thin_answer_ids=thin,
        stacked_questions=Flagged(count=len(stacked), message_ids=stacked),
        leading_questions=Flagged(count=len(leading), message_ids=leading),
        median_answer_words=median,
        duration_seconds=span.seconds,
        quality_index=round(min(max(index, 0.0), 1.0), 4) if said else 0.0,
    )
