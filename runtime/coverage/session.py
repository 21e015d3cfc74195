"""One session's coverage, computed from its guide version, state, status and messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row

from runtime.coverage.views import ItemCoverage, SessionCoverage, Value
from runtime.interviews.guide import Item
from runtime.vocabulary import CoverageStatus, SessionStatus, ValueStatus

# A messages row as SQL gives it, or the same columns as a dict (id, role, item_id, metadata).
MessageRow = Row[Any] | Mapping[str, Any]
_HAS_ANSWER: frozenset[CoverageStatus] = frozenset({"answered", "probed"})


@dataclass
class _Trail:
    """What the messages say of one item, gathered in seq order."""

    asked: bool = False
    probes: int = 0
    reasks: int = 0
    answers: int = 0
    # Answers stored before values were recorded (no metadata.answer).
    unrecorded: int = 0
    value: Value | None = None
    value_status: ValueStatus | None = None
    confidence: float | None = None
    message_ids: list[str] = field(default_factory=list)


def session_coverage(
    session_id: str,
    interview_id: str,
    items: Sequence[Item],
    state: Mapping[str, Any] | None,
    status: SessionStatus,
    rows: Iterable[MessageRow],
) -> SessionCoverage:
    """Where the session stands on each item (rules: docs/coverage.md); `rows` in seq order."""
    state = state or {}
    index_of = {item.id: n for n, item in enumerate(items)}
    trails = {item.id: _Trail() for item in items}
    # How far the interview got: the furthest item any turn asked (a revisit asks an earlier
    # one and moves nothing back), or the state's own position.
    furthest = int(state.get("index", 0) or 0)
    for raw in rows:
        row = raw._mapping if isinstance(raw, Row) else raw
        trail = trails.get(row["item_id"] or "")
        if trail is None:
            continue  # the closing turn, or an item this guide version lacks
        metadata = row["metadata"] or {}
        trail.message_ids.append(row["id"])
        if row["role"] == "interviewer":
            trail.asked = True
            furthest = max(furthest, index_of[row["item_id"]])
            move = metadata.get("move")
            trail.probes += move == "probe"
            trail.reasks += move == "reask"
        else:
            _record_answer(trail, metadata.get("answer"))
    covered = set(state.get("covered") or ())
    unresolved = set(state.get("unresolved") or ())
    ended = status != "in_progress"
    views = [
        _item_view(item, trails[item.id], n < furthest or ended, covered, unresolved)
        for n, item in enumerate(items)
    ]
    answered = sum(1 for v in views if v.status in _HAS_ANSWER)
    in_passing = sum(1 for v in views if v.status == "skipped" and v.covered_in_passing)
    return SessionCoverage(
        session_id=session_id,
        interview_id=interview_id,
        status=status,
        items=views,
        answered=answered,
        total=len(views),
        share=round((answered + in_passing) / len(views), 4) if views else 0.0,
        required_open=sum(1 for v in views if v.required and not _has_answer(v)),
    )


def of_session(
    session: Mapping[Any, Any], items: Sequence[Item], rows: Iterable[MessageRow]
) -> SessionCoverage:
    """The coverage of a sessions row (as a mapping: id, interview_id, state, status)."""
    return session_coverage(
        session["id"], session["interview_id"], items, session["state"], session["status"], rows
    )


def _record_answer(trail: _Trail, answer: Any) -> None:
    trail.answers += 1
    if not isinstance(answer, Mapping):
        trail.unrecorded += 1
        return
    value_status = answer.get("value_status")
    if value_status is None or (trail.value_status == "resolved" and value_status != "resolved"):
        return  # not resolved yet (the next turn writes it), or a value is already held
    trail.value_status = value_status
    trail.value = answer.get("value") if value_status == "resolved" else None
    confidence = answer.get("confidence")
    trail.confidence = float(confidence) if confidence is not None else None


def _item_view(
    item: Item, trail: _Trail, passed: bool, covered: set[str], unresolved: set[str]
) -> ItemCoverage:
    value_status = trail.value_status
    if value_status != "resolved" and item.id in unresolved:
        value_status = "unresolved"
    return ItemCoverage(
        item_id=item.id,
        question_type=item.question_type,
        required=item.required,
        status=_status(item, trail, value_status, passed),
        value=trail.value if value_status == "resolved" else None,
        value_status=value_status,
        confidence=trail.confidence,
        probes_used=trail.probes,
        probe_budget=item.probe_budget,
        reasks_used=trail.reasks,
        covered_in_passing=item.id in covered,
        message_ids=trail.message_ids,
    )


def _status(
    item: Item, trail: _Trail, value_status: ValueStatus | None, passed: bool
) -> CoverageStatus:
    if not trail.asked:
        return "skipped" if passed else "not_started"
    if item.question_type == "open_ended":
        answered = trail.answers > 0
    elif value_status == "unresolved":
        return "unresolved"
    else:
        # An answer stored before values were recorded counts, with no value; one whose
        # value is pending (the next turn writes it) or invalid (re-asked) does not.
        answered = value_status == "resolved" or (
            value_status is None and trail.unrecorded == trail.answers > 0
        )
    if not answered:
        return "asked"
    return "probed" if trail.probes else "answered"


def _has_answer(view: ItemCoverage) -> bool:
    return view.status in _HAS_ANSWER or (view.status == "skipped" and view.covered_in_passing)
