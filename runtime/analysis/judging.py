"""The LLM judge of one session's interviewing, kept apart from the deterministic numbers.

InterviewPlayground's report card, validated on 15 studies and 450 participants, scores an
AI interviewer on coherence and adaptiveness (1 to 4), counts leading and unclear questions,
and rates the respondent's comfort; this asks the configured model for the same card, once
per transcript version, and keeps what it says only when it is well formed: scores inside
their scale, counts no larger than the interviewer's questions. It never replaces a
deterministic metric; it sits beside them as `judged`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast

from openai import AsyncOpenAI

from runtime.analysis.synthesis.llm import parse
from runtime.platform.views import Meta, Timestamp, View

MARKER = "You judge the quality of a research interview"
MAX_TOKENS = 600
TIMEOUT_SECONDS = 60.0
# Characters of transcript sent: a long session is judged on its first part.
MAX_TRANSCRIPT_CHARS = 24_000
MAX_RATIONALE_CHARS = 1200
SCALE = (1, 4)

SYSTEM = (
    MARKER + ". The transcript alternates interviewer (I) and respondent (R) turns. Reply "
    'with one JSON object and nothing else: {"coherence": 1-4, "adaptiveness": 1-4, '
    '"comfort": 1-4, "leading_questions": int, "unclear_questions": int, "rationale": '
    "string}. coherence: questions follow from each other and the guide; adaptiveness: "
    "follow-ups build on what the respondent said; comfort: the respondent seems at ease "
    "and answers freely; leading_questions: questions that suggest their answer; "
    "unclear_questions: questions the respondent could not follow or had to ask about."
)

Score = Annotated[int, Meta(ge=1, le=4)]


class JudgedQuality(View):
    """The model's report card (InterviewPlayground's dimensions); not a deterministic number"""

    model: str
    coherence: Annotated[Score, Meta(description="1 to 4: questions follow from each other")]
    adaptiveness: Annotated[Score, Meta(description="1 to 4: follow-ups build on the answers")]
    comfort: Annotated[Score, Meta(description="1 to 4: the respondent seems at ease")]
    leading_questions: Annotated[int, Meta(ge=0)]
    unclear_questions: Annotated[int, Meta(ge=0)]
    rationale: str
    judged_at: Timestamp


@dataclass(frozen=True)
class Turn:
    role: str
    text: str


async def judge(
    client: AsyncOpenAI, model: str, turns: Sequence[Turn], at: Any
) -> JudgedQuality | None:
    """The model's card for this transcript, or None when it answers nothing well formed."""
    lines, used = [], 0
    for t in turns:
        line = f"{'I' if t.role == 'interviewer' else 'R'}: {' '.join(t.text.split())}"
        if used + len(line) > MAX_TRANSCRIPT_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    async with asyncio.timeout(TIMEOUT_SECONDS):
        reply = await client.chat.completions.create(
            model=model,
            messages=cast(
                Any,
                [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": "\n".join(lines)},
                ],
            ),
            temperature=0,
            max_tokens=MAX_TOKENS,
        )
    content = (reply.choices[0].message.content or "") if reply.choices else ""
    questions = sum(1 for t in turns if t.role == "interviewer")
    try:
        return card(parse(content), model, questions, at)
    except (ValueError, json.JSONDecodeError):
        return None


def card(found: dict[str, Any], model: str, questions: int, at: Any) -> JudgedQuality | None:
    scores = [found.get(k) for k in ("coherence", "adaptiveness", "comfort")]
    counts = [found.get(k) for k in ("leading_questions", "unclear_questions")]
    if not all(isinstance(s, int) and SCALE[0] <= s <= SCALE[1] for s in scores):
        return None
    if not all(isinstance(c, int) and 0 <= c <= questions for c in counts):
        return None
    rationale = found.get("rationale")
    return JudgedQuality(
        model=model,
        coherence=cast(int, scores[0]),
        adaptiveness=cast(int, scores[1]),
        comfort=cast(int, scores[2]),
        leading_questions=cast(int, counts[0]),
        unclear_questions=cast(int, counts[1]),
        rationale=" ".join(rationale.split())[:MAX_RATIONALE_CHARS]
        if isinstance(rationale, str)
        else "",
        judged_at=at,
    )
