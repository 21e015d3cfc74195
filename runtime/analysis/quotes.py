"""Quote verification: a quote is shown only where it is found in a stored respondent message.

A quote (the offline engine's or a model's) is looked for in the message's text after both
are normalised the same way: NFKC; curly single quotes made straight, double quotes
dropped; dashes made "-"; the ellipsis character made "..."; zero-width characters dropped;
runs of whitespace made one space; case folded. It is found exactly, or as up to
MAX_SEGMENTS pieces cut by "..." that occur in order, or fuzzily: the best-aligned window
of the message scores at least FUZZY_THRESHOLD (rapidfuzz's partial ratio, 0 to 100) for a
quote of at least FUZZY_MIN_CHARS. What is shown is then the stored text at the offsets
found, never the quote as it was proposed: a paraphrase that passes the fuzzy test is
shown as what the respondent actually said.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

MIN_CHARS = 4
MAX_SEGMENTS = 6
FUZZY_THRESHOLD = 90.0
FUZZY_MIN_CHARS = 12

Method = Literal["exact", "segments", "fuzzy"]

_QUOTES = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u0060": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
}  # fmt: skip
_DASHES = set("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_INVISIBLE = set("\u200b\u200c\u200d\u2060\ufeff\u00ad")
# What may surround a proposed quote without being part of it.
_WRAPPING = " \"'.,;:!?-"


@dataclass(frozen=True)
class Normalised:
    """A text in normal form, and for each of its characters the index in the original that
    it came from (so a match in the normal form maps back to stored offsets)."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets [start, end) of normal-form characters [start, end)."""
        return self.origin[start], self.origin[end - 1] + 1


@dataclass(frozen=True)
class Found:
    """Where a quote is in a stored message: [start, end) in its text, and that text."""

    message_id: str
    start: int
    end: int
    text: str
    score: float
    method: Method


def normalise(text: str) -> Normalised:
    out: list[str] = []
    origin: list[int] = []
    space = True  # drops leading whitespace, and collapses runs
    for i, raw in enumerate(text):
        for ch in unicodedata.normalize("NFKC", raw):
            if ch in _INVISIBLE:
                continue
            if ch.isspace():
                if not space:
                    out.append(" ")
                    origin.append(i)
                space = True
                continue
            space = False
            if ch == "\u2026":
                out.extend("...")
                origin.extend((i, i, i))
                continue
            mapped = _QUOTES.get(ch) or ("-" if ch in _DASHES else ch)
            if mapped == '"':
                continue  # a quote inside a quote is marked in too many ways to compare
            for folded in mapped.casefold():
                out.append(folded)
                origin.append(i)
    if out and out[-1] == " ":
        out.pop()
        origin.pop()
    return Normalised("".join(out), tuple(origin))


def _core(quote: str) -> str:
    return normalise(quote).text.strip(_WRAPPING)


def find(quote: str, message_id: str, text: str) -> Found | None:
    """The quote in this message, or None when it is not there (nor close enough)."""
    wanted = _core(quote)
    if len(wanted) < MIN_CHARS:
        return None
    hay = normalise(text)
    at = hay.text.find(wanted)
    if at >= 0:
        return _found(message_id, text, hay, at, at + len(wanted), 100.0, "exact")
    pieces = [p.strip(_WRAPPING) for p in wanted.split("...")]
    pieces = [p for p in pieces if p]
    if 1 < len(pieces) <= MAX_SEGMENTS and all(len(p) >= MIN_CHARS for p in pieces):
        spans: list[tuple[int, int]] = []
        cursor = 0
        for piece in pieces:
            at = hay.text.find(piece, cursor)
            if at < 0:
                break
            spans.append((at, at + len(piece)))
            cursor = at + len(piece)
        else:
            return _found(message_id, text, hay, spans[0][0], spans[-1][1], 100.0, "segments")
    if len(wanted) >= FUZZY_MIN_CHARS and len(hay.text) >= MIN_CHARS:
        aligned = fuzz.partial_ratio_alignment(wanted, hay.text)
        if aligned is not None and aligned.score >= FUZZY_THRESHOLD:
            start, end = _words(hay.text, aligned.dest_start, aligned.dest_end)
            return _found(message_id, text, hay, start, end, round(aligned.score, 2), "fuzzy")
    return None


def locate(
    quote: str, answers: Iterable[tuple[str, str]], prefer: str | None = None
) -> Found | None:
    """The quote in one of a respondent's messages (message id, text), the one it was said
    to come from first: a model may cite the wrong message of the right person."""
    ordered = sorted(answers, key=lambda a: a[0] != prefer)
    best: Found | None = None
    for message_id, text in ordered:
        found = find(quote, message_id, text)
        if found is not None and found.score == 100.0:
            return found
        if found is not None and (best is None or found.score > best.score):
            best = found
    return best


def _words(text: str, start: int, end: int) -> tuple[int, int]:
    """A fuzzy window widened to whole words, so a shown quote never starts mid-word."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def _found(
    message_id: str, text: str, hay: Normalised, start: int, end: int, score: float, how: Method
) -> Found:
    begin, finish = hay.span(start, end)
    return Found(message_id, begin, finish, text[begin:finish], score, how)
