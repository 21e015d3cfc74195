"""The rules the runtime enforces on the model's proposed move, whatever the model says."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.engines.base import Decision, TurnContext
from runtime.engines.ending import closing_message
from runtime.engines.prompt import Position
from runtime.engines.scripted import render


def decide(
    ctx: TurnContext, position: Position, proposal: Mapping[str, Any] | None, text: str
) -> tuple[Decision, str, str | None]:
    """The decision to commit, text to append so the turn matches it, and why the model's
    proposal was overruled (None when it stood)."""
    items = position.items
    move = str((proposal or {}).get("move", ""))
    ids = [item.id for item in items]
    # Only the guide's own ids: the state is stored, and a model may claim anything.
    claimed = (proposal or {}).get("covered_item_ids")
    covered = set(position.covered) | {
        i for i in (claimed if isinstance(claimed, list) else []) if isinstance(i, str) and i in ids
    }
    if position.current is None:
        # The opening turn asks the first item, whatever was proposed.
        overruled = None if move in ("next", "") else f"{move or 'no move'} at the opening"
        return Decision("open", ids[0], _state(0, 0, 0, covered)), "", overruled
    if move == "probe":
        if position.may_probe():
            probes, reasks = position.probes, position.reasks
            if position.current.question_type == "open_ended":
                probes += 1
            else:
                reasks += 1
            state = _state(position.index, probes, reasks, covered)
            return Decision("probe", position.current.id, state), "", None
        return _advance(ctx, position, covered, text, "probe budget spent")
    if move == "close":
        if position.may_close(covered):
            return _close(ctx, position, covered, text, None)
        return _advance(ctx, position, covered, text, "close before required items")
    if move == "next":
        target_id = proposal.get("item_id") if proposal else None
        if target_id in ids:
            target = ids.index(str(target_id))
            if target == position.index + 1 or (
                target > position.index + 1 and position.may_skip_to(target, covered)
            ):
                state = _state(target, 0, 0, covered)
                return Decision("ask", ids[target], state), "", None
            return _advance(ctx, position, covered, text, f"next to {target_id} out of order")
        if target_id is None and position.following is not None:
            following = position.following.id
            return Decision("ask", following, _state(position.index + 1, 0, 0, covered)), "", None
        return _advance(ctx, position, covered, text, f"next to unknown item {target_id}")
    return _advance(ctx, position, covered, text, "no move recorded")


def _advance(
    ctx: TurnContext, position: Position, covered: set[str], text: str, why: str
) -> tuple[Decision, str, str | None]:
    """Move to the next item in order (or close after the last); the question is appended
    unless the text already asks it, so the respondent's screen matches the decision."""
    following = position.following
    if following is None:
        return _close(ctx, position, covered, text, why)
    question = render(following, ctx.phrases)
    extra = "" if following.text in text else _joined(text, question)
    state = _state(position.index + 1, 0, 0, covered)
    return Decision("ask", following.id, state), extra, why


def _close(
    ctx: TurnContext, position: Position, covered: set[str], text: str, why: str | None
) -> tuple[Decision, str, str | None]:
    closing = closing_message(ctx)
    extra = "" if closing in text else _joined(text, closing)
    state = _state(position.index, position.probes, position.reasks, covered)
    return Decision("close", None, state, completes=True), extra, why


def _joined(text: str, more: str) -> str:
    if not text.strip():
        return more
    return ("" if text.endswith("\n") else "\n\n") + more


def _state(index: int, probes: int, reasks: int, covered: set[str]) -> dict[str, Any]:
    # Same keys as the scripted engine's state, so a turn can fall back to it mid-interview.
    return {"index": index, "probes": probes, "reasks": reasks, "covered": sorted(covered)}
