"""The runtime's own words for a turn: an item as asked, a re-ask, a probe, a bridge, a close."""

from __future__ import annotations

from runtime.engines import ending
from runtime.engines.answers import is_non_answer
from runtime.engines.base import TurnContext
from runtime.engines.course import Position, Step
from runtime.interviews.guide import DEFAULT_SCALE, Item, Scale
from runtime.languages.phrases import Phrases


def render(item: Item, phrases: Phrases) -> str:
    """An item as the interviewer asks it: its text, instructions, options or scale."""
    text = item.text
    if item.instructions:
        text += f"\n\n{item.instructions}"
    return text + choices(item, phrases)


def choices(item: Item, phrases: Phrases) -> str:
    """What follows a choice or rating question: its numbered options or its scale."""
    if item.question_type == "multiple_choice":
        return "\n" + "\n".join(f"{n}. {opt}" for n, opt in enumerate(item.options or [], 1))
    if item.question_type == "rating":
        return f"\n{scale_hint(item.scale or DEFAULT_SCALE, phrases)}"
    return ""


def reask(item: Item, phrases: Phrases) -> str:
    if item.question_type == "multiple_choice":
        options = "; ".join(f"{n}. {opt}" for n, opt in enumerate(item.options or [], 1))
        return phrases.reask_option(options)
    return phrases.reask_number(scale_hint(item.scale or DEFAULT_SCALE, phrases))


def scale_hint(scale: Scale, phrases: Phrases) -> str:
    low = f"{scale.min}" + (f" ({scale.min_label})" if scale.min_label else "")
    high = f"{scale.max}" + (f" ({scale.max_label})" if scale.max_label else "")
    return phrases.scale_hint(low, high)


def last_answer(ctx: TurnContext) -> str:
    for entry in reversed(ctx.transcript):
        if entry.role == "respondent":
            return entry.content
    return ""


def probe(ctx: TurnContext, position: Position) -> str:
    """The item's own follow-up for a thin answer, once; a non-answer ("ok", "idk") or a
    second probe gets the general invitation to say more, which fits any answer."""
    item = position.current
    if item and item.follow_up and position.probes == 0 and not is_non_answer(last_answer(ctx)):
        return item.follow_up
    return ctx.phrases.probe()


def question(ctx: TurnContext, step: Step) -> str:
    """The item a step asks, as asked (once more, before closing, for a revisit)."""
    assert step.item is not None
    asked = render(step.item, ctx.phrases)
    return ctx.phrases.revisit(asked) if step.revisit else asked


def words(ctx: TurnContext, position: Position, step: Step) -> str:
    """The whole turn in the runtime's words: deterministic, so a retry says it again."""
    if step.move == "open":
        welcome = (ctx.interview.get("welcome_message") or "").strip()
        asked = question(ctx, step)
        return f"{welcome}\n\n{asked}" if welcome else asked
    if step.move == "ask":
        return question(ctx, step) if step.revisit else ctx.phrases.bridge(question(ctx, step))
    if step.move == "probe":
        return probe(ctx, position)
    if step.move == "reask":
        assert step.item is not None
        return reask(step.item, ctx.phrases)
    return ending.closing_message(ctx)
