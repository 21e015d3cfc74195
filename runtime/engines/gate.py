"""What of a model's turn the respondent may see, and when: nothing before its move stands.

The model writes the fields of its move first and its words last (runtime/engines/prompt.py).
The gate decides the turn's step as soon as the words begin (or the reply ends), so a
correction replaces the model's move before a word is shown; then the words pass through a
filter for that move: a probe or re-ask is cut after its first question, the bridge before
the next item keeps only sentences that ask nothing (the item follows in the guide's words),
and a close says only the closing. Text the model wrote outside its move (plain content
before or without the tool call) is held: it is shown only as a probe or re-ask the move
bears out, else the runtime says the turn in its own words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.engines import course, moves, texts
from runtime.engines.answers import Resolution
from runtime.engines.base import Decision, TurnContext
from runtime.engines.partial_json import FieldValue

# What ends a question, in the scripts the catalogs cover (ASCII, full-width, Arabic).
QUESTION_MARKS = "?\uff1f\u061f"
# What may close a question right after its mark: quotes and brackets.
_CLOSERS = "\"')]\u201d\u2019\u00bb\u300d\u300f"
_SENTENCE_ENDS = ".!\n\u3002\uff01"


# One of the move's fields, complete: as the partial JSON reader tells it.
Field = FieldValue


@dataclass(frozen=True)
class Words:
    """More of the model's words to the respondent, from its move's `message`."""

    text: str


@dataclass(frozen=True)
class Plain:
    """Text the model wrote as plain content, outside its move."""

    text: str


ModelOutput = Field | Words | Plain
Shown = str | Decision


class OneQuestion:
    """Passes text through to the end of its first question, and nothing after it."""

    def __init__(self) -> None:
        self.asked = False
        self._closing = False

    def feed(self, text: str) -> str:
        out = []
        for char in text:
            if self._closing:
                if char in _CLOSERS:
                    out.append(char)
                    continue
                self._closing = False
                self.asked = True
            if self.asked:
                break
            out.append(char)
            if char in QUESTION_MARKS:
                self._closing = True
        return "".join(out)

    @property
    def ended(self) -> bool:
        return self.asked

    def finish(self) -> str:
        return ""


class Bridge:
    """The words before the next item's question: whole sentences that ask nothing. A
    sentence is shown once it ends; the first one that asks something ends the bridge."""

    def __init__(self) -> None:
        self._sentence = ""
        self._stopped = False

    def feed(self, text: str) -> str:
        out = []
        for char in text:
            if self._stopped:
                break
            self._sentence += char
            if char in QUESTION_MARKS:
                self._sentence, self._stopped = "", True
            elif char in _SENTENCE_ENDS:
                out.append(self._sentence)
                self._sentence = ""
        return "".join(out)

    @property
    def ended(self) -> bool:
        return self._stopped

    def finish(self) -> str:
        # An unfinished last sentence is shown only if it asks nothing (checked as it came).
        rest, self._sentence = ("" if self._stopped else self._sentence), ""
        return rest


@dataclass
class Gate:
    """One attempt at a turn: feed it the model's output, it returns what to show.
    `fixed`: the step an earlier attempt already announced (it cannot change now)."""

    ctx: TurnContext
    position: course.Position
    fixed: course.Step | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    step: course.Step | None = None
    answer: Resolution | None = None
    _pending: list[str] = field(default_factory=list)
    _held: str = ""
    _shown_words: str = ""
    _filter: OneQuestion | Bridge | None = None
    _done: bool = False  # what the runtime adds was said: nothing more this attempt

    def feed(self, output: ModelOutput) -> list[Shown]:
        if isinstance(output, Field):
            self.fields[output.name] = output.value
            return []
        if isinstance(output, Plain):
            self._held += output.text
            return []
        if self.step is None:
            self._pending.append(output.text)
            return self._decide() if "move" in self.fields else []
        return self._words(output.text)

    def finish(self) -> list[Shown]:
        shown = self._decide() if self.step is None else []
        step = self.step
        assert step is not None
        if isinstance(self._filter, OneQuestion) and not self.model_words and self._held.strip():
            # No words in the move: the plain text it came with, as the probe or re-ask.
            shown += self._words(self._held)
        if self._done:
            return shown
        if self._filter is not None:
            rest = self._filter.finish()
            self._shown_words += rest
            if self.model_words:
                return [*shown, *([rest] if rest else []), *self._complete()]
        self._done = True
        if step.move == "open":  # the welcome before it was said before the model's call
            return [*shown, texts.question(self.ctx, step)]
        return [*shown, texts.words(self.ctx, self.position, step)]

    def _complete(self) -> list[Shown]:
        """The model's words are done: what the runtime adds after them, said once."""
        self._done = True
        step = self.step
        assert step is not None
        if step.move in ("open", "ask"):
            joint = "" if self._shown_words[-1:].isspace() else " "
            return [joint + texts.question(self.ctx, step)]
        if step.move == "reask" and step.item is not None:
            return [texts.choices(step.item, self.ctx.phrases)]
        return []

    @property
    def model_words(self) -> bool:
        """Whether the respondent was shown the model's words (else the runtime's)."""
        return bool(self._shown_words.strip())

    def _decide(self) -> list[Shown]:
        taken, self.answer = moves.decide(self.ctx, self.position, self.fields)
        stands = taken.overruled is None
        if self.fixed is not None:
            stands = stands and (taken.move, taken.item_id) == (self.fixed.move, self.fixed.item_id)
            taken = self.fixed
        self.step = taken
        if stands and taken.move in ("probe", "reask"):
            self._filter = OneQuestion()
        elif stands and taken.move in ("open", "ask") and not taken.revisit:
            self._filter = Bridge()
        shown: list[Shown] = [] if self.fixed is not None else [self.decision()]
        pending, self._pending = "".join(self._pending), []
        return shown + (self._words(pending) if pending else [])

    def _words(self, text: str) -> list[Shown]:
        if self._filter is None or self._done:
            return []
        out = self._filter.feed(text)
        self._shown_words += out
        shown: list[Shown] = [out] if out else []
        if self._filter.ended and self.model_words:
            # The model's part ended early (its question): the rest is the runtime's, now,
            # not when the model stops writing.
            shown += self._complete()
        return shown

    def decision(self, metadata: dict[str, Any] | None = None) -> Decision:
        assert self.step is not None
        return self.step.decision(self.answer, metadata)
