"""The scripted interviewer: walks the guide in order, probes thin answers, validates choices."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator

from runtime.engines import course, ending, texts
from runtime.engines.answers import Resolution, has_value, is_thin, resolve
from runtime.engines.base import Decision, TextDelta, TurnContext


class ScriptedEngine:
    def __init__(self, delta_delay_ms: int = 0) -> None:
        self._delay = delta_delay_ms / 1000

    async def respond(self, ctx: TurnContext) -> AsyncIterator[TextDelta | Decision]:
        text, decision = plan(ctx)
        yield decision
        for index, chunk in enumerate(chunks(text)):
            if index and self._delay:
                await asyncio.sleep(self._delay)
            yield TextDelta(chunk)


def chunks(text: str) -> list[str]:
    """Word-sized pieces (each with its trailing whitespace) that join back to `text`."""
    return re.findall(r"\S+\s*|\s+", text)


def plan(ctx: TurnContext) -> tuple[str, Decision]:
    """The whole next turn; deterministic, so a recovered turn repeats the same words."""
    position = course.Position.of(ctx)
    item = position.current
    resolution = None
    if item is not None:
        resolution = resolve(item, texts.last_answer(ctx), position.reasks)
    if item is not None and ending.out_of_time(ctx) is not None:
        return ending.closing_message(ctx), forced_close(ctx, position, resolution)
    taken = course.step(position, resolution, wanted(ctx, position))
    return texts.words(ctx, position, taken), taken.decision(resolution)


def wanted(ctx: TurnContext, position: course.Position) -> course.Wanted:
    """The scripted engine's choice: probe an answer thin for its question, else move on."""
    item = position.current
    thin = item is not None and not has_value(item) and is_thin(texts.last_answer(ctx), item.text)
    return "probe" if thin else "next"


def forced_close(
    ctx: TurnContext,
    position: course.Position,
    answer: Resolution | None,
    metadata: dict[str, object] | None = None,
) -> Decision:
    """The close a limit forces (max turns or duration): an answer with no value is not asked
    again, so it is recorded unresolved."""
    unresolved = set(position.unresolved)
    if answer is not None and answer.status == "invalid":
        answer = dataclasses.replace(answer, status="unresolved")
    if answer is not None and answer.status == "unresolved" and position.current is not None:
        unresolved.add(position.current.id)
    state = {**ctx.state, "unresolved": sorted(unresolved)}
    return ending.closing(ctx, dict(metadata or {}), answer=answer, state=state)
