"""The last check on what an interviewer turn says: never a researcher's instruction, verbatim."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable

from runtime.engines.base import Decision, TextDelta

# A stretch of this many characters (case and spacing aside) of an instruction in a turn is
# a leak; an instruction shorter than MIN_CHARS is too common a phrase to be told apart.
WINDOW_CHARS = 24
MIN_CHARS = 16


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


class Guard:
    """Holds back the last WINDOW_CHARS of a turn's text until what follows shows they do not
    begin a stretch of an instruction; a turn that says one is cut before it, and gets
    `replacement` instead (so at most WINDOW_CHARS - 1 of it could ever be sent)."""

    def __init__(self, private: Iterable[str]) -> None:
        secrets = [n for n in map(_normal, private) if len(n) >= MIN_CHARS]
        # Every stretch of every long instruction, looked up in one step; the short ones whole.
        self._windows = {
            n[i : i + WINDOW_CHARS]
            for n in secrets
            if len(n) >= WINDOW_CHARS
            for i in range(len(n) - WINDOW_CHARS + 1)
        }
        self._short = [n for n in secrets if len(n) < WINDOW_CHARS]
        self._secrets = bool(secrets)
        self._checked = 0  # windows of the normalised text before this are known clean
        self.leaked = False

    def _leaks(self, text: str) -> bool:
        said = _normal(text)
        if any(short in said for short in self._short):
            return True
        start = max(0, self._checked - WINDOW_CHARS)
        found = any(
            said[i : i + WINDOW_CHARS] in self._windows
            for i in range(start, len(said) - WINDOW_CHARS + 1)
        )
        # The last character may be a space that later text collapses: checked again.
        self._checked = max(0, len(said) - 1)
        return found

    async def filter(
        self, outputs: AsyncIterator[TextDelta | Decision], replacement: str
    ) -> AsyncIterator[TextDelta | Decision]:
        if not self._secrets:
            async for output in outputs:
                yield output
            return
        try:
            async for shown in self._said(outputs, replacement):
                yield shown
        finally:
            # Closed early (a barge-in, a restart): so is the engine, and its model request.
            await outputs.aclose()  # type: ignore[attr-defined]

    async def _said(
        self, outputs: AsyncIterator[TextDelta | Decision], replacement: str
    ) -> AsyncIterator[TextDelta | Decision]:
        text, sent = "", 0
        decision: Decision | None = None
        async for output in outputs:
            if isinstance(output, Decision):
                decision = output
                if not self.leaked:
                    yield output
                continue
            if self.leaked:
                continue  # the engine finishes (its decision is kept); its words are not said
            text += output.text
            if self._leaks(text):
                self.leaked = True
                continue
            held = max(sent, len(text) - WINDOW_CHARS)
            if held > sent:
                yield TextDelta(text[sent:held])
                sent = held
        if self.leaked:
            yield TextDelta(("\n\n" if sent else "") + replacement)
            if decision is not None:
                meta = {**decision.metadata, "guarded": "instruction_leak"}
                yield dataclasses.replace(decision, metadata=meta)
            return
        if len(text) > sent:
            yield TextDelta(text[sent:])
