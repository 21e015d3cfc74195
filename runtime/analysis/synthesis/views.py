"""A synthesis as the API shows it: status and provenance, summary, themes with verified quotes."""

from __future__ import annotations

from typing import Annotated

from runtime.analysis.vocabulary import EngineName, Sentiment, SynthesisStatus
from runtime.platform.views import Meta, Timestamp, View
from runtime.vocabulary import SessionStatus


class Quote(View):
    """Words of one respondent, found in a stored message (docs/synthesis.md, "Quotes")"""

    id: str
    session_id: str
    message_id: str
    start: Annotated[int, Meta(description="Offset of the first character in the message", ge=0)]
    end: Annotated[int, Meta(description="Offset just past the last character", ge=0)]
    text: Annotated[str, Meta(description="The stored message's text from start to end")]
    participant: Annotated[
        str, Meta(description='The respondent\'s display name, or "Participant N" when anonymous')
    ]
    score: Annotated[
        float,
        Meta(description="How closely the proposed words matched (100: exactly)", ge=0, le=100),
    ]


class Theme(View):
    id: Annotated[str, Meta(description="Stable within this synthesis: th_1, th_2, …")]
    title: str
    description: str
    sentiment: Sentiment
    prevalence: Annotated[
        int, Meta(description="Participants (sessions) whose answers carry the theme", ge=0)
    ]
    prevalence_share: Annotated[float, Meta(description="prevalence / session_count", ge=0, le=1)]
    mentions: Annotated[int, Meta(description="Respondent messages that carry it", ge=0)]
    keywords: list[str]
    session_ids: Annotated[
        list[str], Meta(description="The sessions that carry it (erased ones leave the list)")
    ]
    quotes: list[Quote]


class ViewSide(View):
    stance: str
    prevalence: Annotated[int, Meta(description="Participants on this side", ge=0)]
    session_ids: list[str]
    quotes: list[Quote]


class DivergentView(View):
    """Where participants disagree: the sides, each with its participants and words"""

    id: Annotated[str, Meta(description="dv_1, dv_2, …")]
    title: str
    description: str
    theme_id: Annotated[str | None, Meta(description="The theme it divides, if one")]
    sides: list[ViewSide]


class SynthesisFilters(View):
    statuses: list[SessionStatus]
    since: Timestamp | None
    include_test: bool


class SynthesisCounts(View):
    quotes_shown: Annotated[int, Meta(ge=0)]
    quotes_dropped: Annotated[
        int,
        Meta(
            description="Quotes an engine proposed that were not found in the stored messages",
            ge=0,
        ),
    ]
    sessions_read: Annotated[int, Meta(description="Sessions read afresh in this run", ge=0)]
    sessions_reused: Annotated[
        int, Meta(description="Sessions whose cached reading was unchanged (incremental)", ge=0)
    ]


class Synthesis(View):
    id: str
    interview_id: str
    status: SynthesisStatus
    progress: Annotated[float, Meta(ge=0, le=1)]
    engine: Annotated[EngineName, Meta(description="Which engine made it")]
    model: Annotated[str | None, Meta(description="The model, when the LLM engine made it")]
    filters: SynthesisFilters
    session_count: Annotated[int | None, Meta(description="Sessions it covers")]
    created_at: Timestamp
    generated_at: Timestamp | None
    error: str | None
    summary: str | None
    themes: list[Theme]
    divergent_views: list[DivergentView]
    counts: SynthesisCounts | None
    notes: Annotated[
        list[str],
        Meta(description="What the run wants known, e.g. that the LLM failed and why"),
    ] = []
