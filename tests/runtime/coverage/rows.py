"""Guides and message rows of the stored contract (docs/coverage.md), built for the tests."""

from __future__ import annotations

from typing import Any

from runtime.interviews.guide import Item, normalize_item


def guide() -> list[Item]:
    """Q1 open (one probe), Q2 choice, Q3 rating 1-5, Q4 and Q5 open, Q6 choice."""
    return [
        normalize_item({"id": "Q1", "text": "How did you start?", "probe_budget": 1}),
        normalize_item(
            {
                "id": "Q2",
                "text": "Which plan?",
                "question_type": "multiple_choice",
                "options": ["Free", "Pro", "Team"],
            }
        ),
        normalize_item({"id": "Q3", "text": "How easy?", "question_type": "rating"}),
        normalize_item({"id": "Q4", "text": "Who set it up?", "required": False}),
        normalize_item({"id": "Q5", "text": "What would you change?"}),
        normalize_item(
            {
                "id": "Q6",
                "text": "Would you recommend it?",
                "question_type": "multiple_choice",
                "options": ["Yes", "No"],
            }
        ),
    ]


class Conversation:
    """Messages appended in seq order, shaped like messages rows."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def turn(self, item_id: str | None, move: str, revisit: bool = False) -> str:
        metadata: dict[str, Any] = {"engine": "scripted", "move": move}
        if revisit:
            metadata["revisit"] = True
        return self._add("interviewer", item_id, metadata)

    def answer(
        self,
        item_id: str,
        kind: str = "question",
        value: str | int | None = None,
        value_status: str | None = None,
        confidence: float | None = None,
        resolved_by: str | None = None,
    ) -> str:
        record = {
            "kind": kind,
            "value": value,
            "value_status": value_status,
            "confidence": confidence,
            "resolved_by": resolved_by,
        }
        return self._add("respondent", item_id, {"answer": record})

    def unrecorded_answer(self, item_id: str) -> str:
        """A respondent message stored before answers were recorded."""
        return self._add("respondent", item_id, {})

    def _add(self, role: str, item_id: str | None, metadata: dict[str, Any]) -> str:
        message_id = f"msg_{len(self.rows) + 1}"
        self.rows.append({"id": message_id, "role": role, "item_id": item_id, "metadata": metadata})
        return message_id
