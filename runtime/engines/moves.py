"""The model's proposed turn read against the runtime's rules: what its answer gave, what stands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.engines import course, texts
from runtime.engines.answers import Resolution, resolve
from runtime.engines.base import TurnContext

_WANTED = ("probe", "reask", "next", "close")


def decide(
    ctx: TurnContext, position: course.Position, fields: Mapping[str, Any]
) -> tuple[course.Step, Resolution | None]:
    """The step the turn takes from the fields the model wrote before its words (`value`,
    `confidence`, `move`, `item_id`, `covered_item_ids`), and the last answer's value."""
    item = position.current
    resolution = None
    if item is not None:
        answer = texts.last_answer(ctx)
        resolution = resolve(
            item, answer, position.reasks, fields.get("value"), fields.get("confidence")
        )
    move = fields.get("move")
    wanted: course.Wanted = move if move in _WANTED else None
    target = fields.get("item_id")
    claimed = fields.get("covered_item_ids")
    taken = course.step(
        position,
        resolution,
        wanted,
        target if isinstance(target, str) else None,
        {i for i in claimed if isinstance(i, str)} if isinstance(claimed, list) else None,
    )
    if taken.overruled and isinstance(move, str) and move and wanted is None:
        taken = course.Step(
            taken.move, taken.item, taken.state, taken.revisit, f"unknown move {move}"
        )
    return taken, resolution
