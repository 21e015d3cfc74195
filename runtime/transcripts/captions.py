"""A voice session's captions: speaker-labelled cues on the session timeline, as WebVTT and SRT."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# A cue holds at most two lines of a caption's usual width (42 characters, the BBC's and
# Netflix's guideline): a longer text is cut at words into cues of about this many.
MAX_CUE_CHARS = 84
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Cue:
    """Text shown from `start_ms` to `end_ms` after the session's start, said by `speaker`."""

    start_ms: int
    end_ms: int
    speaker: str
    text: str


def spread(start_ms: int, end_ms: int, speaker: str, text: str) -> list[Cue]:
    """`text` over the span as cues of at most MAX_CUE_CHARS, each given a share of the span
    in proportion to its length (speech takes about as long as its text is long)."""
    pieces = _pieces(_SPACES.sub(" ", text).strip())
    total = sum(len(piece) for piece in pieces) or 1
    cues, at, said = [], start_ms, 0
    for piece in pieces:
        said += len(piece)
        ends = start_ms + round((end_ms - start_ms) * said / total)
        cues.append(Cue(at, max(ends, at), speaker, piece))
        at = ends
    return cues


def _pieces(text: str) -> list[str]:
    if not text:
        return []
    pieces: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > MAX_CUE_CHARS:
            pieces.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    pieces.append(line)
    return pieces


def in_order(cues: Iterable[Cue]) -> list[Cue]:
    return sorted(cues, key=lambda cue: (cue.start_ms, cue.end_ms))


def webvtt(cues: Sequence[Cue]) -> str:
    """WebVTT with each cue's speaker as a voice span (`<v Respondent>`)."""
    out = ["WEBVTT", ""]
    for number, cue in enumerate(cues, 1):
        speaker = _vtt_escape(cue.speaker)
        out += [str(number), f"{_time(cue.start_ms, '.')} --> {_time(cue.end_ms, '.')}"]
        out += [f"<v {speaker}>{_vtt_escape(cue.text)}", ""]
    return "\n".join(out)


def srt(cues: Sequence[Cue]) -> str:
    """SubRip, the speaker named before the text (`Respondent: …`)."""
    out = []
    for number, cue in enumerate(cues, 1):
        out += [str(number), f"{_time(cue.start_ms, ',')} --> {_time(cue.end_ms, ',')}"]
        out += [f"{cue.speaker}: {cue.text}", ""]
    return "\n".join(out)


def _vtt_escape(text: str) -> str:
    # Cue text is markup: `<`, `&` (and so `-->`) must not be read as such.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _time(ms: int, separator: str) -> str:
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"
