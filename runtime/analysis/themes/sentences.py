"""Sentences of a respondent message, as offsets into its stored text (any script)."""

from __future__ import annotations

import re

# A fragment shorter than this (in characters, or with fewer words than MIN_SENTENCE_WORDS)
# stays attached to its neighbour: "Yes." or "Hmm, ok." is not a quote of its own.
MIN_SENTENCE_CHARS = 12
MIN_SENTENCE_WORDS = 3
# In scripts written without spaces (CJK), a fragment shorter than this many characters.
MIN_UNSPACED_CHARS = 4
# Words before a full stop that do not end a sentence ("e.g. the export", "Dr. Smith").
ABBREVIATIONS = frozenset(
    "e.g i.e etc vs mr mrs ms dr prof st no approx dept inc ltd co jr sr cf al fig ca z.b "
    "d.h bzw usw ggf u.a".split()
)

# A run of terminators: Latin, the ellipsis, CJK full-width, Arabic and Devanagari marks.
# Latin marks end a sentence only before whitespace or the end; full-width ones always do.
_END = re.compile(
    r"[.!?\u2026]+(?=[\s\"'\u201d\u2019)\]]|$)|[\u3002\uff01\uff1f\u061f\u06d4\u0964]+|\n+"
)
_WORD = re.compile(r"\w+")


def spans(text: str) -> list[tuple[int, int]]:
    """The [start, end) offsets of the message's sentences, stripped of surrounding space."""
    raw: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        end = match.end()
        if match.group()[0] == "." and _abbreviation(text, match.start()):
            continue
        raw.append((start, end))
        start = end
    raw.append((start, len(text)))
    stripped = [_strip(text, a, b) for a, b in raw]
    return _attach_short(text, [s for s in stripped if s[1] > s[0]])


def _abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at `dot` closes an abbreviation or an initial, not a sentence."""
    before = text[:dot].rsplit(None, 1)
    word = before[-1].casefold().lstrip("(\"'") if before else ""
    if word in ABBREVIATIONS:
        return True
    # "J. Smith", or a decimal-looking token: a single letter is an initial.
    return len(word) == 1 and word.isalpha()


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _short(text: str, span: tuple[int, int]) -> bool:
    piece = text[span[0] : span[1]]
    if " " not in piece and not piece.isascii():
        # Scripts written without spaces (CJK) have one "word" per clause.
        return len(piece) < MIN_UNSPACED_CHARS
    return len(piece) < MIN_SENTENCE_CHARS or len(_WORD.findall(piece)) < MIN_SENTENCE_WORDS


def _attach_short(text: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Short fragments joined to the sentence before them (or after, when first)."""
    out: list[tuple[int, int]] = []
    pending: int | None = None  # a leading short fragment's start, waiting for a sentence
    for span in found:
        if _short(text, span):
            if out:
                out[-1] = (out[-1][0], span[1])
            elif pending is None:
                pending = span[0]
            continue
        if pending is not None:
            span = (pending, span[1])
            pending = None
        out.append(span)
    if pending is not None:  # the whole message is short: it is one sentence
        out.append((pending, found[-1][1]))
    return out
