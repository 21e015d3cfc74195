"""The LLM synthesis engine: the offline engine finds the themes, a model names and explains them.

The offline engine's clustering decides what the themes are and who holds them, so the
prevalence counts stay counts; the model is asked, once per run, to title and describe each
theme from its keywords and excerpts, to judge its sentiment, to pick the quotes that show it
best, and to write the summary. Everything it says passes the same checks as the offline
engine's output: a title or sentiment that does not fit is replaced by the offline one, and
its quotes go through runtime.analysis.synthesis.verify like any other. When the model does
not answer, or answers nonsense, the report is the offline engine's and says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any, cast

import openai
import structlog
from openai import AsyncOpenAI

from runtime.analysis.drafts import (
    Corpus,
    Draft,
    Progress,
    ProposedQuote,
    SynthesisEngine,
    ThemeDraft,
)
from runtime.analysis.vocabulary import SENTIMENTS, EngineName, Sentiment

log = structlog.get_logger(__name__)

# One request per run, so it may take a while and say more than an interviewer's turn.
MAX_TOKENS = 2000
TIMEOUT_SECONDS = 120.0
EXCERPTS_PER_THEME = 8
MAX_TITLE_CHARS = 120
MAX_DESCRIPTION_CHARS = 1200
MAX_SUMMARY_CHARS = 4000
MAX_QUOTES_PER_THEME = 8

SYSTEM = (
    "You are a qualitative research analyst synthesizing interview transcripts. You are given "
    "the themes that clustering found across the participants' answers: for each, its index, "
    "keywords, how many participants carry it, and excerpts (with session_id and message_id). "
    'Reply with one JSON object and nothing else: {"summary": string, "themes": [{"index": '
    'int, "title": string (at most 8 words), "description": string (2-3 sentences), '
    '"sentiment": one of positive|negative|neutral|mixed, "quotes": [{"session_id": '
    'string, "message_id": string, "text": string}]}]}. Quotes must be copied word for '
    "word from the excerpts; never invent, merge or reword them. Do not count participants "
    "yourself: the counts given are exact."
)


class LLMSynthesis:
    """`SynthesisEngine` named "llm": `base` (the offline engine) drafts, the model words it."""

    name: EngineName = "llm"

    def __init__(
        self, base: SynthesisEngine, client: AsyncOpenAI, model: str, title: str, goal: str
    ) -> None:
        self._base = base
        self._client = client
        self._model = model
        self._title = title
        self._goal = goal

    async def draft(self, corpus: Corpus, progress: Progress) -> Draft:
        async def scaled(share: float) -> None:
            await progress(share * 0.8)

        base = await self._base.draft(corpus, scaled)
        if not base.themes:
            return dataclasses.replace(base, engine="llm", model=self._model)
        try:
            answer = await self._ask(base)
        except (openai.OpenAIError, TimeoutError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("synthesis.llm_failed", reason=reason)
            return dataclasses.replace(
                base, notes=(*base.notes, f"the LLM did not answer ({reason}): offline report")
            )
        await progress(0.95)
        return merge(base, answer, self._model)

    async def _ask(self, base: Draft) -> dict[str, Any]:
        themes = [
            {
                "index": i,
                "keywords": list(t.keywords),
                "participants": len(set(t.session_ids)),
                "offline_title": t.title,
                "excerpts": [
                    {"session_id": q.session_id, "message_id": q.message_id, "text": q.text}
                    for q in t.quotes[:EXCERPTS_PER_THEME]
                ],
            }
            for i, t in enumerate(base.themes)
        ]
        request = {"interview": {"title": self._title, "goal": self._goal}, "themes": themes}
        async with asyncio.timeout(TIMEOUT_SECONDS):
            reply = await self._client.chat.completions.create(
                model=self._model,
                messages=cast(
                    Any,
                    [
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": json.dumps(request, ensure_ascii=False)},
                    ],
                ),
                temperature=0,
                max_tokens=MAX_TOKENS,
            )
        content = (reply.choices[0].message.content or "") if reply.choices else ""
        return parse(content)


def parse(content: str) -> dict[str, Any]:
    """The JSON object in a model's reply (fenced or not); ValueError when there is none."""
    start, end = content.find("{"), content.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the reply holds no JSON object")
    found = json.loads(content[start : end + 1])
    if not isinstance(found, dict):
        raise ValueError("the reply is not a JSON object")
    return found


def merge(base: Draft, answer: dict[str, Any], model: str) -> Draft:
    """The offline draft with the model's words where they fit, its own where they do not."""
    worded: dict[int, dict[str, Any]] = {}
    for item in answer.get("themes") or []:
        if isinstance(item, dict) and isinstance(item.get("index"), int):
            worded.setdefault(item["index"], item)
    themes = tuple(_theme(t, worded.get(i)) for i, t in enumerate(base.themes))
    summary = _text(answer.get("summary"), MAX_SUMMARY_CHARS) or base.summary
    return dataclasses.replace(base, engine="llm", model=model, summary=summary, themes=themes)


def _theme(theme: ThemeDraft, worded: dict[str, Any] | None) -> ThemeDraft:
    if worded is None:
        return theme
    sentiment = worded.get("sentiment")
    proposed = [
        ProposedQuote(str(q["session_id"]), _optional(q.get("message_id")), str(q["text"]))
        for q in (worded.get("quotes") or [])[:MAX_QUOTES_PER_THEME]
        if isinstance(q, dict) and q.get("session_id") and isinstance(q.get("text"), str)
    ]
    return dataclasses.replace(
        theme,
        title=_text(worded.get("title"), MAX_TITLE_CHARS) or theme.title,
        description=_text(worded.get("description"), MAX_DESCRIPTION_CHARS) or theme.description,
        sentiment=cast(Sentiment, sentiment) if sentiment in SENTIMENTS else theme.sentiment,
        # The model's picks first; the offline ones stay behind them, so a theme whose every
        # proposed quote fails verification still shows real words.
        quotes=(*proposed, *theme.quotes),
    )


def _text(value: object, limit: int) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def _optional(value: object) -> str | None:
    return str(value) if value else None
