"""Speech through any OpenAI-compatible endpoint (OpenAI, speaches, Kokoro-FastAPI, vLLM)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from openai import AsyncOpenAI

from runtime.voice import decoding
from runtime.voice.types import SAMPLE_RATE, Segment, SpeechFailed, Transcript

# Every transcription endpoint takes 16 kHz mono WAV, and recognizers work at that rate.
UPLOAD_RATE = SAMPLE_RATE
DEFAULT_VOICE = "alloy"
# Statuses that say the request itself is wrong (bad key, unknown model or voice): asking
# again cannot help (the LLM engine draws the same line).
_NOT_RETRYABLE = frozenset({400, 401, 403, 404, 413, 415, 422})


@dataclass(frozen=True)
class Endpoint:
    """One OpenAI-compatible endpoint for one direction of speech."""

    base_url: str  # "" is OpenAI itself
    api_key: str
    model: str

    def client(self, timeout: float) -> AsyncOpenAI:
        # Retries are the caller's to decide (a live turn cannot wait through the
        # client's backoff); local servers take any key, the client insists on one.
        return AsyncOpenAI(
            base_url=self.base_url or None,
            api_key=self.api_key or "not-needed",
            max_retries=0,
            timeout=timeout,
        )

    def __repr__(self) -> str:  # never the key
        return f"Endpoint(base_url={self.base_url!r}, model={self.model!r})"


def failure(exc: Exception) -> SpeechFailed:
    """What went wrong talking to the endpoint, as SpeechFailed."""
    if isinstance(exc, TimeoutError | openai.APITimeoutError | httpx.TimeoutException):
        return SpeechFailed("timeout")
    if isinstance(exc, openai.APIStatusError):
        return SpeechFailed(f"http_{exc.status_code}", exc.status_code not in _NOT_RETRYABLE)
    # Refused or dropped, before the answer (the client wraps it) or during a streamed body
    # (httpx's own error, unwrapped).
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return SpeechFailed("connection")
    return SpeechFailed(type(exc).__name__)  # a malformed answer


class OpenAISpeechToText:
    """`client.audio.transcriptions.create` with the utterance as 16 kHz mono WAV."""

    def __init__(self, endpoint: Endpoint, timeout: float, ffmpeg: str = "ffmpeg") -> None:
        self._endpoint = endpoint
        self._timeout = timeout
        self._ffmpeg = ffmpeg
        self._client = endpoint.client(timeout)

    async def transcribe(
        self,
        audio: bytes,
        content_type: str,
        language: str | None = None,
        *,
        segments: bool = False,
    ) -> Transcript:
        pcm = await decoding.to_pcm(audio, content_type, UPLOAD_RATE, self._ffmpeg)
        extra: dict[str, Any] = {}
        if language:
            # Endpoints take ISO 639-1: the language of a tag like `en-GB` is its first part.
            extra["language"] = language.split("-")[0].lower()
        if segments:
            # Whisper's verbose answer; gpt-4o-transcribe models have no segments and refuse
            # it (400): the final pass then needs a Whisper model (docs/voice.md).
            extra["timestamp_granularities"] = ["segment"]
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._client.audio.transcriptions.create(
                    model=self._endpoint.model,
                    file=("utterance.wav", decoding.wav(pcm), "audio/wav"),
                    response_format="verbose_json" if segments else "json",
                    **extra,
                )
        except Exception as exc:
            raise failure(exc) from exc
        found = tuple(_segments(answer)) if segments else ()
        return Transcript(answer.text.strip(), language, pcm.duration, found)

    async def close(self) -> None:
        await self._client.close()


def _segments(answer: Any) -> list[Segment]:
    """A verbose answer's segments (seconds, as floats) in milliseconds, in order; a segment
    with no words is left out. SpeechFailed when the endpoint sent none or bad ones."""
    raw = getattr(answer, "segments", None)
    if raw is None:
        # An endpoint that ignored verbose_json: asking again will not change it.
        raise SpeechFailed("no_segments", retryable=False)
    out = []
    try:
        for segment in raw:
            text = str(segment.text).strip()
            start, end = round(float(segment.start) * 1000), round(float(segment.end) * 1000)
            if text and 0 <= start <= end:
                out.append(Segment(start, end, text))
    except (AttributeError, TypeError, ValueError) as exc:
        raise SpeechFailed("malformed_segments", retryable=False) from exc
    return sorted(out, key=lambda s: (s.start_ms, s.end_ms))


class OpenAITextToSpeech:
    """`client.audio.speech` asked for `pcm`, read as it streams, at the endpoint's known rate."""

    def __init__(
        self,
        endpoint: Endpoint,
        voice: str,
        sample_rate: int,
        first_byte_timeout: float,
        chunk_timeout: float,
    ) -> None:
        self._endpoint = endpoint
        self._voice = voice or DEFAULT_VOICE
        self._sample_rate = sample_rate
        self._first_byte_timeout = first_byte_timeout
        self._chunk_timeout = chunk_timeout
        self._client = endpoint.client(first_byte_timeout + chunk_timeout)

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    def voice_for(self, language: str) -> str | None:
        return None  # OpenAI's voices (alloy, …) speak every language

    async def stream(
        self, text: str, voice: str | None = None, rate: float = 1.0
    ) -> AsyncIterator[bytes]:
        began = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            try:
                async with asyncio.timeout(self._first_byte_timeout):
                    response = await stack.enter_async_context(
                        self._client.audio.speech.with_streaming_response.create(
                            model=self._endpoint.model,
                            voice=voice or self._voice,
                            input=text,
                            response_format="pcm",
                            speed=rate,
                        )
                    )
            except Exception as exc:
                raise failure(exc) from exc
            chunks = decoding.whole_samples(response.iter_bytes())
            first = True
            while True:
                # Timeouts wrap only the reads, never the consumer's work between yields.
                if first:
                    limit = self._first_byte_timeout - (time.monotonic() - began)
                else:
                    limit = self._chunk_timeout
                try:
                    async with asyncio.timeout(max(limit, 0.001)):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    raise failure(exc) from exc
                first = False
                yield chunk

    async def close(self) -> None:
        await self._client.close()
