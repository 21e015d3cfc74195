"""Hand-built sessions (messages rows with their text) for the summary and quality tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.analysis.corpus import Answer
from runtime.analysis.summaries.quality import Span
from runtime.coverage.session import session_coverage
from runtime.coverage.views import SessionCoverage
from runtime.interviews.guide import Item, normalize_item

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def guide() -> list[Item]:
    """Q1 and Q2 open-ended, Q3 a rating."""
    return [
        normalize_item({"id": "Q1", "text": "How did you start using the app?"}),
        normalize_item({"id": "Q2", "text": "What would you change about it?"}),
        normalize_item({"id": "Q3", "text": "How easy was it?", "question_type": "rating"}),
    ]


class Transcript:
    """Messages appended in seq order, shaped like messages rows."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def ask(self, item_id: str | None, text: str, move: str = "ask") -> str:
        return self._add("interviewer", item_id, text, {"engine": "scripted", "move": move})

    def say(self, item_id: str | None, text: str) -> str:
        return self._add("respondent", item_id, text, {})

    def _add(self, role: str, item_id: str | None, text: str, metadata: dict[str, Any]) -> str:
        message_id = f"msg_{len(self.rows) + 1}"
        self.rows.append(
            {
                "id": message_id,
                "seq": len(self.rows) + 1,
                "role": role,
                "item_id": item_id,
                "content": text,
                "metadata": metadata,
            }
        )
        return message_id

    def answers(self) -> list[Answer]:
        return [
            Answer(r["id"], r["item_id"], r["seq"], r["content"])
            for r in self.rows
            if r["role"] == "respondent"
        ]

    def coverage(self, items: list[Item], status: Any = "completed") -> SessionCoverage:
        return session_coverage("ses_1", "int_1", items, {}, status, self.rows)


def span(seconds: float = 600) -> Span:
    end = START + timedelta(seconds=seconds)
    return Span(START, end, end)
