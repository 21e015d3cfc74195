"""Sentences and words of a message, in any script: the units summaries and quality count."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

# A sentence ends after ! ? (and their full-width and Arabic forms), an ideographic full
# stop, an ellipsis, a "." followed by a space or the end (so "e.g." and "3.5" stay whole),
# or at a line break; the terminators stay with their sentence.
_END = "!?\u2026\u3002\uff01\uff1f\u061f"
_SENTENCE = re.compile(rf"(?:[^{_END}.\n]|\.(?=[^\s{_END}.]))+(?:[{_END}.]+|\n|$)")
QUESTION_MARKS = frozenset("?\uff1f\u061f")
_WORD = re.compile(r"[\w'\u2019-]+")
# Scripts written without spaces between words: a run of them counts two characters a word,
# as the scripted interviewer's thin-answer rule counts them (runtime/engines/answers.py).
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a stored message: its text is exactly text[start:end] of the message."""

    start: int
    end: int
    text: str

    @property
    def asks(self) -> bool:
        """It ends with a question mark (among its closing marks: "really?!" asks)."""
        body = self.text.rstrip(_END + ".")
        return any(ch in QUESTION_MARKS for ch in self.text[len(body) :])


def split(text: str) -> list[Sentence]:
    """The message's sentences, stripped of surrounding whitespace, empty ones left out."""
    out = []
    for match in _SENTENCE.finditer(text):
        raw = match.group()
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if body and any(ch.isalnum() for ch in body):
            start = match.start() + lead
            out.append(Sentence(start, start + len(body), body))
    return out


def word_count(text: str) -> int:
    """Words in a text; a run of an unspaced script counts one word per two characters."""
    total = 0
    for word in _WORD.findall(unicodedata.normalize("NFKC", text)):
        if any(unicodedata.name(c, "").startswith(_UNSPACED) for c in word[:1]):
            total += math.ceil(len(word) / 2)
        else:
            total += 1
    return total
