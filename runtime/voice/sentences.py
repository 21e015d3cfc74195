"""Streamed text cut into sentences as they complete, so speech starts before a turn is written."""

from __future__ import annotations

import re

# A sentence ends at . ! ? … (or their CJK forms), with any closing quotes or brackets, once
# what follows shows it is not inside a number ("3.5") or a run of dots still being written.
_CJK_ENDS = "\u3002\uff01\uff1f"  # the ideographic full stop and the full-width ! and ?
_END = re.compile(rf"[.!?\u2026{_CJK_ENDS}](?:[\"'\u201d\u2019)\]\u00bb]*)(?=\s|$)|[{_CJK_ENDS}]")
# Words that end with a dot without ending a sentence (English; others are rare in turns).
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "approx", "no", "jr", "sr"}
)
# A sentence shorter than this waits for the next one: espeak-ng and most servers start a
# tiny utterance ("Yes.") as slowly as a long one, and the prosody of two joined is better.
MIN_CHARS = 12
# A sentence that runs on without an end is cut at a comma or a space past this length, so a
# long turn without punctuation still starts speaking.
MAX_CHARS = 220


class SentenceSplitter:
    """feed() text as it streams; it returns the sentences that completed. finish() returns
    what is left. The joined output is the input, whitespace between sentences aside."""

    def __init__(self, min_chars: int = MIN_CHARS, max_chars: int = MAX_CHARS) -> None:
        self._buffer = ""
        self._min = min_chars
        self._max = max_chars

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        done: list[str] = []
        while True:
            cut = self._cut()
            if cut is None:
                return done
            sentence, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:].lstrip()
            if sentence:
                done.append(sentence)

    def finish(self) -> str:
        rest, self._buffer = self._buffer.strip(), ""
        return rest

    def _cut(self) -> int | None:
        for match in _END.finditer(self._buffer):
            end = match.end()
            # At the very end of the buffer, "3." may become "3.5" and "Wait." "Wait..."
            if end == len(self._buffer) and match.group()[0] in ".":
                return None
            if end < self._min:
                continue
            word = self._buffer[: match.start()].rsplit(maxsplit=1)
            if match.group()[0] == "." and word and word[-1].lower() in _ABBREVIATIONS:
                continue
            return end
        if len(self._buffer) > self._max:
            window = self._buffer[: self._max]
            at = max(window.rfind(", "), window.rfind("; "))
            if at < self._min:
                at = window.rfind(" ")
            return at + 1 if at > 0 else self._max
        return None
