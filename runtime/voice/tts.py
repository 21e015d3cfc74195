"""Text to speech: the one interface every synthesizer satisfies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class TextToSpeech(Protocol):
    @property
    def sample_rate(self) -> int:
        """The rate of the PCM `stream` yields, announced to the listener before it plays."""
        ...

    def stream(
        self, text: str, voice: str | None = None, rate: float = 1.0
    ) -> AsyncIterator[bytes]:
        """`text` spoken as 16-bit little-endian mono PCM at `sample_rate`, in chunks as they
        are made (each an even number of bytes). `voice` None: the engine's configured one;
        `rate` 1.0 is the voice's normal pace. Raises SpeechUnavailable or SpeechFailed."""
        ...

    def voice_for(self, language: str) -> str | None:
        """The engine's voice for a BCP 47 language tag, when its voices are named by
        language; None: its configured voice speaks every language."""
        ...
