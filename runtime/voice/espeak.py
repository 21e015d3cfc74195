"""Local text to speech with espeak-ng (every language it has), resampled by ffmpeg, streamed."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from runtime.voice import decoding
from runtime.voice.types import SpeechFailed, SpeechUnavailable

DEFAULT_VOICE = "en-us"
WORDS_PER_MINUTE = 175  # espeak-ng's normal pace, rate 1.0
PACE = (80, 450)  # the words per minute espeak-ng speaks intelligibly
CHUNK_BYTES = 4096
# espeak-ng speaks a 20-word sentence in under 20 ms; this bounds a stuck process.
SILENCE_TIMEOUT_SECONDS = 10.0


class EspeakTextToSpeech:
    """espeak-ng writes WAV (22.05 kHz) into ffmpeg, which resamples it to `sample_rate`; the
    PCM is yielded as ffmpeg writes it. A voice is an espeak-ng voice name: a language tag
    (`en-us`, `fr`, `de`, `pt-br`; `espeak-ng --voices` lists them)."""

    def __init__(
        self,
        sample_rate: int,
        voice: str = "",
        espeak: str = "espeak-ng",
        ffmpeg: str = "ffmpeg",
    ) -> None:
        self._sample_rate = sample_rate
        self._voice = voice or DEFAULT_VOICE
        self._espeak = espeak
        self._ffmpeg = ffmpeg

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    def voice_for(self, language: str) -> str | None:
        # espeak-ng names voices by language tag, in lower case; its bare "en" is British.
        tag = language.lower()
        return DEFAULT_VOICE if tag in ("en", "en-us") else tag

    async def stream(
        self, text: str, voice: str | None = None, rate: float = 1.0
    ) -> AsyncIterator[bytes]:
        speaker = voice or self._voice
        espeak = decoding.found(self._espeak, "espeak-ng")
        ffmpeg = decoding.found(self._ffmpeg, "ffmpeg")
        pace = round(min(max(WORDS_PER_MINUTE * rate, PACE[0]), PACE[1]))
        # The text on stdin, never in argv: a text starting with `-` is not an option there.
        read_end, write_end = os.pipe()
        try:
            speaking = await asyncio.create_subprocess_exec(
                espeak, "-v", speaker, "-s", str(pace), "--stdin", "--stdout",
                stdin=asyncio.subprocess.PIPE, stdout=write_end, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            resampling = await asyncio.create_subprocess_exec(
                ffmpeg, "-nostdin", "-v", "error", "-f", "wav", "-i", "pipe:0",
                "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1",
                "-ar", str(self._sample_rate), "pipe:1",
                stdin=read_end, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            os.close(read_end)
            os.close(write_end)
        try:
            assert speaking.stdin is not None and resampling.stdout is not None
            # espeak-ng exits at once on a voice it does not have, maybe before it has read
            # the text: its exit status (below) says why, not the broken pipe.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                speaking.stdin.write(text.encode())
                await speaking.stdin.drain()
            speaking.stdin.close()
            async for chunk in decoding.whole_samples(_reads(resampling.stdout)):
                yield chunk
            async with asyncio.timeout(SILENCE_TIMEOUT_SECONDS):
                assert speaking.stderr is not None
                complaint = (await speaking.stderr.read()).decode(errors="replace").strip()
                if await speaking.wait() != 0:
                    if "voice does not exist" in complaint:
                        raise SpeechUnavailable(
                            f"espeak-ng has no voice {speaker!r} (espeak-ng --voices lists them)"
                        )
                    raise SpeechFailed("espeak_failed", retryable=False)
                if await resampling.wait() != 0:
                    raise SpeechFailed("resample_failed", retryable=False)
        except TimeoutError as exc:
            raise SpeechFailed("timeout") from exc
        finally:
            for proc in (speaking, resampling):
                if proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    # Reading its pipes to their end closes them, not only the process.
                    await proc.communicate()


async def _reads(stdout: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while True:
        async with asyncio.timeout(SILENCE_TIMEOUT_SECONDS):
            chunk = await stdout.read(CHUNK_BYTES)
        if not chunk:
            return
        yield chunk
