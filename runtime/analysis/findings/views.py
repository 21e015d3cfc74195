"""Findings and quotes as the API shows them."""

from __future__ import annotations

from typing import Annotated, Literal

from runtime.analysis.synthesis.views import Quote
from runtime.analysis.vocabulary import FindingStatus, FindingType, Priority
from runtime.platform.views import Meta, Timestamp, View

SourceKind = Literal["manual", "bulk", "synthesis"]


class FindingSource(View):
    """Where a finding came from: a researcher's create, a bulk upsert, or a synthesis theme"""

    kind: SourceKind
    synthesis_id: Annotated[str | None, Meta(description="The synthesis it was promoted from")] = (
        None
    )
    theme_id: Annotated[str | None, Meta(description="The theme it was promoted from")] = None


class Finding(View):
    """What the researchers hold true of an interview's sessions, with its evidence"""

    id: str
    interview_id: str
    type: FindingType
    title: str
    description: str
    status: FindingStatus
    priority: Priority
    confidence: Annotated[
        Annotated[float, Meta(ge=0, le=1)] | None,
        Meta(description="0 to 1; null: not assessed"),
    ]
    prevalence: Annotated[
        int, Meta(description="Participants (sessions) it holds for (docs/synthesis.md)", ge=0)
    ]
    tags: list[str]
    source: FindingSource
    evidence: Annotated[
        list[Quote], Meta(description="Verified quotes of respondent messages, oldest first")
    ]
    created_at: Timestamp
    updated_at: Timestamp


class QuoteEntry(Quote):
    """A verified quote, and what it is evidence of: a finding, a synthesis theme, or both"""

    finding_id: str | None
    synthesis_id: str | None
    theme_id: Annotated[
        str | None, Meta(description='The theme ("th_N") or divergent view side ("dv_N/S")')
    ]


class Upserted(View):
    finding: Finding
    created: Annotated[bool, Meta(description="false: merged into an existing finding")]


class BulkResult(View):
    """Each item's finding, in the order given, and the quotes that were not kept"""

    items: list[Upserted]
    quotes_dropped: Annotated[
        int,
        Meta(
            description="Evidence quotes not found in the respondent message they name (or "
            "naming no respondent message of this interview), and quotes past a finding's "
            "limit",
            ge=0,
        ),
    ]
