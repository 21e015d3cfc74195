"""The model's proposed turn read against the runtime's rules: what its answer gave, what stands."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from runtime.engines import course, scripted, texts
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
    claimed_ids = {i for i in claimed if isinstance(i, str)} if isinstance(claimed, list) else None
    taken = course.step(
        position, resolution, wanted, target if isinstance(target, str) else None, claimed_ids
    )
    if taken.overruled and taken.move != "reask":
        # What the model wanted cannot be: the turn is the scripted engine's choice (probe a
        # thin answer, else move on), and says why.
        why = f"unknown move {move}" if isinstance(move, str) and move and not wanted else None
        ruled = course.step(position, resolution, scripted.wanted(ctx, position), None, claimed_ids)
        taken = dataclasses.replace(ruled, overruled=why or taken.overruled)
    return taken, resolution
