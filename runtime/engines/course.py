"""Where an interview stands and where it may go next: the course both engines keep to.

An engine says what it wants (probe, re-ask, move on, close); `step` decides what the turn
does, whatever was wanted: an answer with no valid value is asked again (at most
MAX_REASKS times, then recorded unresolved and moved past), probes stay within the item's
budget, items are asked in order (an item may be skipped only when everything required
before it is answered), a required item left unresolved is asked once more before
closing, and the interview closes only when no required item is left open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from runtime.engines.answers import MAX_REASKS, Resolution, has_value
from runtime.engines.base import Decision, TurnContext
from runtime.interviews.guide import Item, items_in_order
from runtime.vocabulary import Move

# What an engine asks of the turn (None: it did not say).
Wanted = Literal["probe", "reask", "next", "close"] | None


@dataclass(frozen=True)
class Position:
    """Where the interview stands before this turn, as the runtime counts it."""

    items: list[Item]
    index: int  # the current item (-1 before the first question)
    probes: int
    reasks: int
    covered: tuple[str, ...]  # answered in passing, as the model said
    unresolved: tuple[str, ...] = ()  # choice or rating items moved past with no value
    revisited: tuple[str, ...] = ()  # unresolved required items asked once more
    revisiting: bool = False  # past the last item, asking unresolved ones again

    @classmethod
    def of(cls, ctx: TurnContext) -> Position:
        opening = ctx.seq == 1 or not ctx.transcript
        state = {**ctx.state, "index": -1} if opening else ctx.state
        return cls.of_state(items_in_order(ctx.guide), state)

    @classmethod
    def of_state(cls, items: list[Item], state: Mapping[str, Any]) -> Position:
        """The position a stored state describes."""
        return cls(
            items=items,
            index=int(state.get("index", 0)),
            probes=int(state.get("probes", 0)),
            reasks=int(state.get("reasks", 0)),
            covered=tuple(state.get("covered", ())),
            unresolved=tuple(state.get("unresolved", ())),
            revisited=tuple(state.get("revisited", ())),
            revisiting=bool(state.get("revisiting", False)),
        )

    @property
    def current(self) -> Item | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    @property
    def following(self) -> Item | None:
        """The item moving on asks (None: moving on closes)."""
        found = self._next(set(self.unresolved))
        return self.items[found[0]] if found else None

    def _next(self, unresolved: set[str]) -> tuple[int, bool] | None:
        """(index, revisit) of the item to ask next; None when the guide is done."""
        if not self.revisiting and self.index + 1 < len(self.items):
            return self.index + 1, False
        for index, item in enumerate(self.items):
            if item.required and item.id in unresolved and item.id not in self.revisited:
                return index, True
        return None

    def may_probe(self) -> bool:
        item = self.current
        return item is not None and not has_value(item) and self.probes < item.probe_budget

    def may_reask(self) -> bool:
        item = self.current
        return item is not None and has_value(item) and self.reasks < MAX_REASKS

    def may_close(
        self, covered: set[str] | None = None, unresolved: set[str] | None = None
    ) -> bool:
        """Closing is allowed only when no required item is left unasked or unresolved."""
        answered = set(self.covered) if covered is None else covered
        later = [] if self.revisiting else self.items[self.index + 1 :]
        if any(i.required and i.id not in answered for i in later):
            return False
        left = set(self.unresolved) if unresolved is None else unresolved
        return not any(
            i.required and i.id in left and i.id not in self.revisited for i in self.items
        )

    def may_skip_to(self, target: int, covered: set[str]) -> bool:
        """Moving past the next item needs every required item in between answered."""
        if self.revisiting or target <= self.index:
            return False
        between = self.items[self.index + 1 : target]
        return all(not i.required or i.id in covered for i in between)

    def allowed_moves(self) -> list[str]:
        moves = ["probe"] if self.may_probe() else []
        if self.may_reask():
            moves.append("reask")
        if self.following is not None:
            moves.append("next")
        if self.may_close():
            moves.append("close")
        return moves


@dataclass(frozen=True)
class Step:
    """What the turn does: its move, the item it asks, and the state to commit with it."""

    move: Move
    item: Item | None
    state: dict[str, Any]
    revisit: bool = False
    overruled: str | None = None  # why what the engine wanted did not stand

    @property
    def item_id(self) -> str | None:
        return self.item.id if self.item else None

    def decision(
        self, answer: Resolution | None = None, metadata: dict[str, Any] | None = None
    ) -> Decision:
        """The decision an engine yields for this step, with what it read from the answer."""
        return Decision(
            self.move,
            self.item_id,
            self.state,
            completes=self.move == "close",
            metadata=metadata or {},
            answer=answer,
            revisit=self.revisit,
        )


def step(
    position: Position,
    answer: Resolution | None,
    wanted: Wanted,
    target_id: str | None = None,
    claimed: set[str] | None = None,
) -> Step:
    """The turn's move given the last answer's value, what the engine wanted, the item it
    named (for next) and the items it says were answered in passing (`claimed`)."""
    ids = [item.id for item in position.items]
    covered = set(position.covered) | {i for i in claimed or () if i in ids}
    unresolved = set(position.unresolved)
    course = _Course(position, covered, unresolved)
    item = position.current
    if item is None:
        why = None if wanted in (None, "next") else f"{wanted} at the opening"
        return course.ask(0, False, why, move="open")
    if answer is not None:
        if answer.status == "invalid":
            why = None if wanted in ("reask", "probe") else f"{wanted or 'no move'} over no value"
            return course.stay("reask", why)
        if answer.status == "unresolved":
            unresolved.add(item.id)
        else:
            unresolved.discard(item.id)
    if wanted == "probe" and not has_value(item):
        if position.may_probe():
            return course.stay("probe", None)
        return course.advance("probe budget spent")
    if wanted in ("probe", "reask"):
        return course.advance(f"{wanted} over an answer already read")
    if wanted == "close":
        if position.may_close(covered, unresolved):
            return course.close(None)
        return course.advance("close before required items")
    if wanted == "next":
        if target_id is None or (position.following and target_id == position.following.id):
            return course.advance(None)
        if target_id in ids:
            target = ids.index(target_id)
            if position.may_skip_to(target, covered):
                return course.ask(target, False, None)
            return course.advance(f"next to {target_id} out of order")
        return course.advance(f"next to unknown item {target_id}")
    return course.advance("no move recorded")


@dataclass(frozen=True)
class _Course:
    position: Position
    covered: set[str]
    unresolved: set[str]

    def _state(self, index: int, probes: int, reasks: int, **more: Any) -> dict[str, Any]:
        p = self.position
        # Same keys for both engines, so a turn can fall back to the other mid-interview.
        return {
            "index": index,
            "probes": probes,
            "reasks": reasks,
            "covered": sorted(self.covered),
            "unresolved": sorted(self.unresolved),
            "revisited": list(more.get("revisited", p.revisited)),
            "revisiting": bool(more.get("revisiting", p.revisiting)),
        }

    def stay(self, move: Literal["probe", "reask"], why: str | None) -> Step:
        p = self.position
        probes, reasks = (p.probes + 1, p.reasks) if move == "probe" else (p.probes, p.reasks + 1)
        return Step(move, p.current, self._state(p.index, probes, reasks), overruled=why)

    def ask(self, index: int, revisit: bool, why: str | None, move: Move = "ask") -> Step:
        p = self.position
        item = p.items[index]
        revisited = [*p.revisited, item.id] if revisit else list(p.revisited)
        state = self._state(index, 0, 0, revisited=revisited, revisiting=p.revisiting or revisit)
        return Step(move, item, state, revisit=revisit, overruled=why)

    def advance(self, why: str | None) -> Step:
        found = self.position._next(self.unresolved)
        if found is None:
            return self.close(why)
        return self.ask(found[0], found[1], why)

    def close(self, why: str | None) -> Step:
        p = self.position
        return Step("close", None, self._state(p.index, p.probes, p.reasks), overruled=why)
