"""The speech layer's vocabulary: PCM audio, a transcript, and the errors engines raise."""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_WIDTH = 2  # bytes per sample: 16-bit little-endian, mono, everywhere in voice mode
# The rate of the respondent's audio: what the listener takes and recognizers are given.
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Pcm:
    """Raw 16-bit little-endian mono samples at `sample_rate` Hz."""

    data: bytes
    sample_rate: int

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.data) / (SAMPLE_WIDTH * self.sample_rate)


@dataclass(frozen=True)
class Segment:
    """A stretch of speech: milliseconds from the start of the audio, and what was said."""

    start_ms: int
    end_ms: int
    text: str

    def stored(self) -> dict[str, int | str]:
        return {"start_ms": self.start_ms, "end_ms": self.end_ms, "text": self.text}


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str | None  # as recognized or as asked; None when neither is known
    duration: float  # seconds of audio heard
    # In order, when they were asked for (`transcribe(..., segments=True)`); else empty.
    segments: tuple[Segment, ...] = ()


class SpeechError(Exception):
    """Speech could not be recognized or synthesized; `str()` says why, never a key."""


class SpeechUnavailable(SpeechError):
    """The engine is not installed or not configured: the message says what to install or set."""


class SpeechFailed(SpeechError):
    """The provider failed or timed out; `reason` names how (`http_500`, `timeout`, …), as
    the LLM engine's UpstreamFailed does, and `retryable` whether asking again can help."""

    def __init__(self, reason: str, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
