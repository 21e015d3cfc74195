"""The test model's answer to a synthesis request: real excerpts, and words nobody said.

It behaves as models do when asked to quote: it titles each theme from its keywords, quotes
two of the excerpts it was given word for word, and slips in one quote that no participant
ever said (FABRICATED), under a real session id, so the verification has something to drop.
Under `mock:malformed` it answers prose with no JSON in it.
"""

from __future__ import annotations

import json
from typing import Any

MARKER = "You are a qualitative research analyst"
FABRICATED = "I would happily pay double for a purple version with little wings on it"
TITLE_PREFIX = "Model-named:"
SUMMARY_PREFIX = "Model summary:"


def asked(messages: list[dict[str, Any]]) -> bool:
    return bool(messages) and str(messages[0].get("content", "")).startswith(MARKER)


def answer(messages: list[dict[str, Any]], mode: str | None) -> str:
    if mode in ("malformed", "truncated", "cut"):
        return "Here are my thoughts on the themes, in prose, without any JSON."
    request = json.loads(str(messages[-1].get("content", "{}")))
    themes = []
    for theme in request.get("themes", []):
        excerpts = theme.get("excerpts", [])
        quotes = [
            {"session_id": e["session_id"], "message_id": e["message_id"], "text": e["text"]}
            for e in excerpts[:2]
        ]
        if excerpts:
            first = excerpts[0]
            quotes.append(
                {"session_id": first["session_id"], "message_id": first["message_id"],
                 "text": FABRICATED}
            )  # fmt: skip
        words = " and ".join(theme.get("keywords", [])[:2]) or "something"
        themes.append(
            {
                "index": theme["index"],
                "title": f"{TITLE_PREFIX} {words}",
                "description": f"Participants talked about {words}.",
                "sentiment": "sideways" if theme["index"] == 0 else "mixed",
                "quotes": quotes,
            }
        )
    summary = f"{SUMMARY_PREFIX} {len(themes)} themes across the interviews."
    return "```json\n" + json.dumps({"summary": summary, "themes": themes}) + "\n```"


JUDGE_MARKER = "You judge the quality of a research interview"


def judging(messages: list[dict[str, Any]]) -> bool:
    return bool(messages) and str(messages[0].get("content", "")).startswith(JUDGE_MARKER)


def card(messages: list[dict[str, Any]], mode: str | None) -> str:
    """A report card; under `mock:bad-value` one off its 1-4 scale (which must be refused)."""
    transcript = str(messages[-1].get("content", ""))
    questions = sum(1 for line in transcript.splitlines() if line.startswith("I: "))
    found = {
        "coherence": 9 if mode == "bad-value" else 3,
        "adaptiveness": 2,
        "comfort": 4,
        "leading_questions": min(1, questions),
        "unclear_questions": 0,
        "rationale": f"Judged {questions} interviewer turns.",
    }
    return json.dumps(found)
