"""Speech to text: the one interface every recognizer satisfies."""

from __future__ import annotations

from typing import Protocol

from runtime.voice.types import Transcript


class SpeechToText(Protocol):
    async def transcribe(
        self,
        audio: bytes,
        content_type: str,
        language: str | None = None,
        *,
        segments: bool = False,
    ) -> Transcript:
        """The words in one utterance: `audio` in the container `content_type` names (wav,
        webm/opus, ogg, mp3, or raw `audio/L16` PCM at 16 kHz), `language` a BCP 47 tag or
        None to let the engine decide. `segments`: the transcript's segments too, in order,
        timed from the audio's start (the final transcript's pass asks; a live turn need
        not wait for them). Raises SpeechUnavailable or SpeechFailed."""
        ...
