"""Audio in any container to PCM at a given rate, and PCM to WAV, through ffmpeg."""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import subprocess
import wave
from collections.abc import AsyncIterator

from runtime.voice.types import SAMPLE_RATE, SAMPLE_WIDTH, Pcm, SpeechFailed, SpeechUnavailable

# Raw PCM needs no decoding: `audio/L16` (RFC 2586) or `audio/pcm`, with an optional
# `rate=` parameter (16000 when absent).
RAW_TYPES = ("audio/l16", "audio/pcm")
RAW_DEFAULT_RATE = SAMPLE_RATE
# Decoding a short utterance takes tens of milliseconds; this bounds a pathological file.
DECODE_TIMEOUT_SECONDS = 30.0


def missing(executable: str, package: str) -> SpeechUnavailable:
    return SpeechUnavailable(
        f"{executable} is not installed (or not at that path): apt-get install {package}"
    )


def found(executable: str, package: str) -> str:
    """The executable's path; SpeechUnavailable when it is not there."""
    path = shutil.which(executable)
    if path is None:
        raise missing(executable, package)
    return path


async def run(args: list[str], stdin: bytes) -> tuple[int, bytes, bytes]:
    """A subprocess fed `stdin`, killed when the caller is cancelled (or times out). Started
    from a thread, not the event loop: uvloop forks the whole process to start one, which
    stalled every live session on the loop for 3 to 28 ms per process (bench.voice), and
    a voice session starts one per clip; CPython's own start (vfork) does not."""
    started: list[subprocess.Popen[bytes]] = []

    def call() -> tuple[int, bytes, bytes]:
        proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        started.append(proc)
        out, err = proc.communicate(stdin)
        return proc.returncode or 0, out, err

    try:
        return await asyncio.to_thread(call)
    except FileNotFoundError as exc:
        raise missing(args[0], "ffmpeg") from exc
    except BaseException:
        for proc in started:  # cancelled: the process goes too (its thread then returns)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        raise


def raw_rate(content_type: str) -> int | None:
    """The sample rate of a raw PCM content type; None when it is a container to decode."""
    kind, *params = (part.strip().lower() for part in content_type.split(";"))
    if kind not in RAW_TYPES:
        return None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "rate" and value.strip().isdigit():
            return int(value)
    return RAW_DEFAULT_RATE


async def to_pcm(audio: bytes, content_type: str, rate: int, ffmpeg: str = "ffmpeg") -> Pcm:
    """`audio` as mono PCM at `rate`; SpeechFailed("not_audio") when ffmpeg cannot read it."""
    source_rate = raw_rate(content_type)
    if source_rate == rate:
        if len(audio) % SAMPLE_WIDTH:
            raise SpeechFailed("not_audio", retryable=False)
        return Pcm(audio, rate)
    given = ["-f", "s16le", "-ar", str(source_rate), "-ac", "1"] if source_rate else []
    args = [found(ffmpeg, "ffmpeg"), "-nostdin", "-v", "error", *given, "-i", "pipe:0"]
    args += ["-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(rate), "pipe:1"]
    try:
        async with asyncio.timeout(DECODE_TIMEOUT_SECONDS):
            code, out, _ = await run(args, audio)
    except TimeoutError as exc:
        raise SpeechFailed("decode_timeout", retryable=False) from exc
    if code != 0 or (not out and audio):
        raise SpeechFailed("not_audio", retryable=False)
    return Pcm(out, rate)


def wav(pcm: Pcm) -> bytes:
    """The samples in a WAV container, which every transcription endpoint accepts."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(pcm.sample_rate)
        out.writeframes(pcm.data)
    return buffer.getvalue()


async def whole_samples(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The same bytes in chunks of whole samples: pipes and networks split them anywhere."""
    carry = b""
    async for chunk in chunks:
        chunk = carry + chunk
        cut = len(chunk) - len(chunk) % SAMPLE_WIDTH
        carry = chunk[cut:]
        if cut:
            yield chunk[:cut]
