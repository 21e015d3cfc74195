"""A session's summary and quality as the API shows them (the rules: docs/synthesis.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from runtime.analysis.judging import JudgedQuality
from runtime.platform.views import Meta, Timestamp, View
from runtime.vocabulary import SessionStatus

# Which engine wrote the summary: only the offline one for now (an LLM judge is kept apart,
# in `judged`).
SummaryEngine = Literal["offline"]


class Turns(View):
    """Messages stored per speaker"""

    interviewer: Annotated[int, Meta(ge=0)]
    respondent: Annotated[int, Meta(ge=0)]


class Words(View):
    """Words said per speaker (a word of an unspaced script is two characters)"""

    respondent: Annotated[int, Meta(ge=0)]
    interviewer: Annotated[int, Meta(ge=0)]


class Flagged(View):
    """Interviewer turns one rule flags, and which"""

    count: Annotated[int, Meta(ge=0)]
    message_ids: Annotated[list[str], Meta(description="The flagged interviewer messages")]


class Quality(View):
    """Deterministic numbers about one session, each computed by a stated rule"""

    turns: Turns
    words: Words
    respondent_talk_share: Annotated[
        float, Meta(description="Respondent words / all words; 0 when nothing was said", ge=0, le=1)
    ]
    guide_coverage: Annotated[
        float, Meta(description="The session coverage's share (docs/coverage.md)", ge=0, le=1)
    ]
    probes_used: Annotated[int, Meta(description="Probe turns, over all guide items", ge=0)]
    thin_answer_rate: Annotated[
        float,
        Meta(
            description="Thin answers / answers to open-ended items, by the scripted "
            "interviewer's own rule; 0 when there are none",
            ge=0,
            le=1,
        ),
    ]
    thin_answer_ids: Annotated[list[str], Meta(description="The thin respondent messages")]
    stacked_questions: Annotated[
        Flagged, Meta(description="Interviewer turns that ask more than one thing at once")
    ]
    leading_questions: Annotated[
        Flagged, Meta(description="Interviewer questions that suggest their own answer")
    ]
    median_answer_words: Annotated[
        float, Meta(description="The median of the respondent's words per message", ge=0)
    ]
    duration_seconds: Annotated[
        float, Meta(description="From the session's start to its end (or last activity)", ge=0)
    ]
    quality_index: Annotated[
        float,
        Meta(
            description="One weighted combination of the numbers above, for sorting only "
            "(weights in docs/synthesis.md)",
            ge=0,
            le=1,
        ),
    ]


class KeyPoint(View):
    """One of the respondent's most informative sentences, verbatim"""

    text: Annotated[str, Meta(description="Verbatim from the cited respondent message(s)")]
    message_ids: Annotated[list[str], Meta(description="The respondent messages saying it")]
    item_id: Annotated[str | None, Meta(description="The guide item it answers")]


class SessionSummary(View):
    """A session's extractive summary and quality metrics (docs/synthesis.md)"""

    session_id: str
    interview_id: str
    status: SessionStatus
    overview: Annotated[str, Meta(description="A short text assembled from the key points")]
    key_points: list[KeyPoint]
    quality: Quality
    judged: Annotated[
        JudgedQuality | None,
        Meta(description="The LLM judge's card (?judge=true); null until one is asked"),
    ]
    engine: SummaryEngine
    generated_at: Timestamp
    version: Annotated[str, Meta(description="The analysis code's version that computed it")]
