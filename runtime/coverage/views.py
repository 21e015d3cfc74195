"""Coverage as the API shows it: per session and item, and aggregated over an interview."""

from __future__ import annotations

from typing import Annotated

from runtime.interviews.guide import QuestionType
from runtime.platform.views import Meta, View
from runtime.vocabulary import CoverageStatus, SessionStatus, ValueStatus

# A resolved value: a multiple_choice option's label, or a number on a rating scale.
Value = str | int


class ItemCoverage(View):
    """Where a session stands on one guide item (the rules: docs/coverage.md)"""

    item_id: str
    question_type: QuestionType
    required: bool
    status: CoverageStatus
    value: Annotated[
        Value | None,
        Meta(
            description="The resolved value: the option label (multiple_choice) or the number "
            "(rating); null for open_ended items and until an answer resolves"
        ),
    ]
    value_status: Annotated[
        ValueStatus | None,
        Meta(description="How the last answer with a value status resolved; null if none did"),
    ]
    confidence: Annotated[
        float | None, Meta(description="How sure the mapping of the answer to the value is (0..1)")
    ]
    probes_used: Annotated[int, Meta(description="Probe turns that asked this item", ge=0)]
    probe_budget: Annotated[int, Meta(description="The item's probe_budget", ge=0)]
    reasks_used: Annotated[
        int,
        Meta(
            description="Re-asks for a valid option or number (choice and rating items; at "
            "most 2, then unresolved)",
            ge=0,
        ),
    ]
    covered_in_passing: Annotated[
        bool, Meta(description="The interviewer judged it answered in passing (state.covered)")
    ]
    message_ids: Annotated[
        list[str],
        Meta(description="The interviewer and respondent messages of the item, in order"),
    ]


class SessionCoverage(View):
    """A session's coverage of its guide version, item by item in guide order"""

    session_id: str
    interview_id: str
    status: SessionStatus
    # Every item of the session's guide version, in guide order.
    items: list[ItemCoverage]
    answered: Annotated[int, Meta(description="Items answered or probed", ge=0)]
    total: Annotated[int, Meta(description="Items in the session's guide version", ge=0)]
    share: Annotated[
        float,
        Meta(
            description="(answered + probed + skipped items covered in passing) / total; 0 "
            "for an empty guide",
            ge=0,
            le=1,
        ),
    ]
    required_open: Annotated[
        int,
        Meta(description="Required items without an answer (nor covered in passing)", ge=0),
    ]


class StatusCounts(View):
    """Sessions per coverage status of one item"""

    # One count per runtime.vocabulary.CoverageStatus (tally.status_counts).
    not_started: Annotated[int, Meta(ge=0)]
    asked: Annotated[int, Meta(ge=0)]
    answered: Annotated[int, Meta(ge=0)]
    probed: Annotated[int, Meta(ge=0)]
    skipped: Annotated[int, Meta(ge=0)]
    unresolved: Annotated[int, Meta(ge=0)]


class ValueCount(View):
    value: Value
    count: Annotated[int, Meta(ge=0)]


class Distribution(View):
    """Resolved values of a multiple_choice or rating item across sessions"""

    # Every option (in guide order) or every number on the scale (ascending), zeros
    # included; then any value only an older guide version allowed. Not Annotated: the
    # document's walk over views (api.openapi.assembly) does not look inside Meta.
    values: list[ValueCount]
    unresolved: Annotated[int, Meta(description="Sessions where the item ended unresolved", ge=0)]
    mean: Annotated[float | None, Meta(description="Rating items: the mean resolved number")]
    median: Annotated[float | None, Meta(description="Rating items: the median resolved number")]


class ItemAggregate(View):
    item_id: str
    question_type: QuestionType
    required: bool
    text: Annotated[str, Meta(description="The item's text in the newest version holding it")]
    sessions: Annotated[
        int, Meta(description="Counted sessions whose guide version holds the item", ge=0)
    ]
    statuses: StatusCounts
    # multiple_choice and rating items; null for open_ended ones.
    distribution: Distribution | None


class InterviewCoverage(View):
    """An interview's coverage across its sessions, each against its own guide version"""

    interview_id: str
    sessions: Annotated[int, Meta(description="Sessions counted", ge=0)]
    include_test: bool
    # The current guide's items in order, then items only older versions held.
    items: list[ItemAggregate]
