"""The scripted interviewer: walks the guide in order, probes thin answers, validates choices."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

from runtime.engines import ending
from runtime.engines.base import Decision, TextDelta, TurnContext
from runtime.interviews.guide import DEFAULT_SCALE, Item, Scale, items_in_order
from runtime.languages.phrases import Phrases

THIN_ANSWER_WORDS = 4
MAX_REASKS = 2
_NON_ANSWERS = {"idk", "dunno", "no idea", "not sure", "nothing", "n/a", "na", "none"}


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
    items = items_in_order(ctx.guide)
    state = dict(ctx.state)
    index = int(state.get("index", 0))
    if ctx.seq == 1 or not ctx.transcript:
        welcome = (ctx.interview.get("welcome_message") or "").strip()
        question = render(items[0], ctx.phrases)
        text = f"{welcome}\n\n{question}" if welcome else question
        return text, Decision("open", items[0].id, _state(0, 0, 0))
    if ending.out_of_time(ctx) is not None:
        return ending.closing_message(ctx), ending.closing(ctx)
    item = items[index]
    answer = _last_answer(ctx)
    probes, reasks = int(state.get("probes", 0)), int(state.get("reasks", 0))
    question_type = item.question_type
    if question_type in ("multiple_choice", "rating") and reasks < MAX_REASKS:
        valid = (
            match_option(answer, item.options or []) is not None
            if question_type == "multiple_choice"
            else match_rating(answer, item.scale or DEFAULT_SCALE) is not None
        )
        if not valid:
            return reask(item, ctx.phrases), Decision(
                "reask", item.id, _state(index, probes, reasks + 1)
            )
    if question_type == "open_ended" and is_thin(answer) and probes < item.probe_budget:
        probe = item.follow_up or ctx.phrases.probe()
        return probe, Decision("probe", item.id, _state(index, probes + 1, reasks))
    if index + 1 >= len(items):
        return ending.closing_message(ctx), ending.closing(ctx)
    following = items[index + 1]
    bridge = ctx.phrases.bridge(render(following, ctx.phrases))
    return bridge, Decision("ask", following.id, _state(index + 1, 0, 0))


def render(item: Item, phrases: Phrases) -> str:
    """An item as the interviewer asks it: its text, instructions, options or scale."""
    text = item.text
    if item.instructions:
        text += f"\n\n{item.instructions}"
    if item.question_type == "multiple_choice":
        text += "\n" + "\n".join(f"{n}. {opt}" for n, opt in enumerate(item.options or [], 1))
    elif item.question_type == "rating":
        text += f"\n{_scale_hint(item.scale or DEFAULT_SCALE, phrases)}"
    return text


def reask(item: Item, phrases: Phrases) -> str:
    if item.question_type == "multiple_choice":
        options = "; ".join(f"{n}. {opt}" for n, opt in enumerate(item.options or [], 1))
        return phrases.reask_option(options)
    return phrases.reask_number(_scale_hint(item.scale or DEFAULT_SCALE, phrases))


def _scale_hint(scale: Scale, phrases: Phrases) -> str:
    low = f"{scale.min}" + (f" ({scale.min_label})" if scale.min_label else "")
    high = f"{scale.max}" + (f" ({scale.max_label})" if scale.max_label else "")
    return phrases.scale_hint(low, high)


def match_option(answer: str, options: list[str]) -> str | None:
    cleaned = answer.strip().strip(".!").casefold()
    # isdecimal, not isdigit: int() refuses "²"; the length keeps int() within its limit.
    if cleaned.isdecimal() and len(cleaned) <= 3 and 1 <= int(cleaned) <= len(options):
        return options[int(cleaned) - 1]
    for option in options:
        if cleaned == option.casefold():
            return option
    mentioned = [o for o in options if re.search(rf"\b{re.escape(o.casefold())}\b", cleaned)]
    return mentioned[0] if len(mentioned) == 1 else None


def match_rating(answer: str, scale: Scale) -> int | None:
    numbers = re.findall(r"-?\d+", answer)
    # Any script's digits count ("٣" is 3); a number too long for any scale is no rating,
    # and would pass int()'s 4,300-digit limit.
    if len(numbers) != 1 or len(numbers[0]) > 6:
        return None
    value = int(numbers[0])
    return value if scale.min <= value <= scale.max else None


def is_thin(answer: str) -> bool:
    words = answer.split()
    return len(words) < THIN_ANSWER_WORDS or answer.strip().casefold().strip(".!") in _NON_ANSWERS


def _state(index: int, probes: int, reasks: int) -> dict[str, Any]:
    return {"index": index, "probes": probes, "reasks": reasks}


def _last_answer(ctx: TurnContext) -> str:
    for entry in reversed(ctx.transcript):
        if entry.role == "respondent":
            return entry.content
    return ""
