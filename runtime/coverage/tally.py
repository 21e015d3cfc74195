"""An interview's coverage, tallied session by session over their coverages."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from runtime.coverage.views import (
    Distribution,
    InterviewCoverage,
    ItemAggregate,
    SessionCoverage,
    StatusCounts,
    Value,
    ValueCount,
)
from runtime.interviews.guide import DEFAULT_SCALE, Item


@dataclass
class _ItemTally:
    item: Item  # as the newest guide version holding it has it
    statuses: Counter[str] = field(default_factory=Counter)
    values: Counter[Value] = field(default_factory=Counter)
    sessions: int = 0


class Tally:
    """Adds sessions' coverages up; `reference` (the interview's current guide) fixes the
    order of the items, and what each one's options or scale are."""

    def __init__(self, interview_id: str, reference: Sequence[Item], include_test: bool) -> None:
        self._interview_id = interview_id
        self._include_test = include_test
        self._items = {item.id: _ItemTally(item) for item in reference}
        self._sessions = 0

    def know(self, items: Sequence[Item]) -> None:
        """Items of an older guide version, in its order: those the current guide lacks are
        listed after its own. Call with the newest version first."""
        for item in items:
            self._items.setdefault(item.id, _ItemTally(item))

    def add(self, coverage: SessionCoverage) -> None:
        self._sessions += 1
        for view in coverage.items:
            tally = self._items.get(view.item_id)
            if tally is None:
                continue  # know() was not told of its version: nothing to file it under
            tally.sessions += 1
            tally.statuses[view.status] += 1
            if view.value is not None:
                tally.values[view.value] += 1

    def view(self) -> InterviewCoverage:
        return InterviewCoverage(
            interview_id=self._interview_id,
            sessions=self._sessions,
            include_test=self._include_test,
            items=[_aggregate(tally) for tally in self._items.values()],
        )


def _aggregate(tally: _ItemTally) -> ItemAggregate:
    item = tally.item
    counts = StatusCounts(**{name: tally.statuses[name] for name in StatusCounts.__struct_fields__})
    return ItemAggregate(
        item_id=item.id,
        question_type=item.question_type,
        required=item.required,
        text=item.text,
        sessions=tally.sessions,
        statuses=counts,
        distribution=_distribution(item, tally.values, counts.unresolved),
    )


def _distribution(item: Item, values: Counter[Value], unresolved: int) -> Distribution | None:
    if item.question_type == "open_ended":
        return None
    if item.question_type == "multiple_choice":
        listed: list[Value] = list(item.options or [])
    else:
        scale = item.scale or DEFAULT_SCALE
        listed = list(range(scale.min, scale.max + 1))
    # A value only an older version allowed (an option since renamed, a wider scale).
    others = [v for v in values if v not in listed]
    listed += sorted(others, key=lambda v: (isinstance(v, str), v))
    numbers = (
        [v for v, n in values.items() for _ in range(n) if isinstance(v, int)]
        if item.question_type == "rating"
        else []
    )
    return Distribution(
        values=[ValueCount(value=v, count=values[v]) for v in listed],
        unresolved=unresolved,
        mean=round(statistics.fmean(numbers), 4) if numbers else None,
        median=float(statistics.median(numbers)) if numbers else None,
    )
