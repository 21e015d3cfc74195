"""The output guard: a turn never says a stretch of an instruction, however it is split."""

from __future__ import annotations

from collections.abc import AsyncIterator

from runtime.engines.base import Decision, TextDelta
from runtime.live.guard import WINDOW_CHARS, Guard

SECRET = "Ask whether the onboarding emails from the vendor helped them"
INSTEAD = "Could you tell me more?"


async def _outputs(*pieces: str) -> AsyncIterator[TextDelta | Decision]:
    yield Decision("probe", "Q1")
    for piece in pieces:
        yield TextDelta(piece)
    yield Decision("probe", "Q1", metadata={"engine": "llm"})


async def _said(guard: Guard, *pieces: str) -> tuple[list[str], Decision]:
    texts: list[str] = []
    last: Decision | None = None
    async for out in guard.filter(_outputs(*pieces), INSTEAD):
        if isinstance(out, TextDelta):
            texts.append(out.text)
        else:
            last = out
    assert last is not None
    return texts, last


async def test_a_clean_turn_is_said_whole_and_held_back_only_at_its_end() -> None:
    pieces = ["Thanks, that helps. ", "What do you use it ", "for, day to day?"]
    texts, decision = await _said(Guard([SECRET]), *pieces)
    assert "".join(texts) == "".join(pieces)
    assert len(texts[-1]) >= WINDOW_CHARS - 5  # the tail waited for the end
    assert "guarded" not in decision.metadata


async def test_a_leak_split_across_pieces_in_other_case_and_spacing_is_cut() -> None:
    said = "Sure. I was told to ask WHETHER the   onboarding\nemails from the vendor helped."
    pieces = [said[i : i + 5] for i in range(0, len(said), 5)]
    texts, decision = await _said(Guard([SECRET]), *pieces)
    out = "".join(texts)
    assert out.endswith(INSTEAD) and "onboarding" not in out.lower()
    assert decision.metadata == {"engine": "llm", "guarded": "instruction_leak"}


async def test_short_instructions_are_not_told_apart_from_ordinary_words() -> None:
    texts, decision = await _said(Guard(["be brief"]), "Let me be brief: what plan?")
    assert "".join(texts) == "Let me be brief: what plan?" and "guarded" not in decision.metadata


async def test_without_instructions_nothing_is_held() -> None:
    texts, _ = await _said(Guard([]), "One ", "two")
    assert texts == ["One ", "two"]
