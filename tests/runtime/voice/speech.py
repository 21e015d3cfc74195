"""Real speech for the voice tests: espeak-ng speaks, ffmpeg resamples to 16 kHz PCM frames."""

from __future__ import annotations

import array
import functools
import random
import subprocess

from runtime.voice import decoding
from runtime.voice.frames import FRAME_BYTES, FRAME_MS
from runtime.voice.types import SAMPLE_RATE


@functools.cache
def spoken(text: str, voice: str | None = None) -> bytes:
    """`text` spoken by espeak-ng (22.05 kHz WAV) as 16-bit PCM, 16 kHz mono, cut to whole
    frames; cached for the test session, since every test speaks the same few sentences.
    `voice`: an espeak-ng voice (its default, British English, when None); pocketsphinx
    hears `en-us` best."""
    speaker = ["-v", voice] if voice else []
    wav = subprocess.run(
        ["espeak-ng", *speaker, "--stdout", text], check=True, capture_output=True
    ).stdout
    resample = ["ffmpeg", "-loglevel", "error", "-i", "pipe:0", "-ar", str(SAMPLE_RATE)]
    pcm = subprocess.run(
        [*resample, "-ac", "1", "-f", "s16le", "pipe:1"],
        input=wav,
        check=True,
        capture_output=True,
    ).stdout
    return pcm[: len(pcm) // FRAME_BYTES * FRAME_BYTES]


def silence(ms: int) -> bytes:
    return bytes(ms // FRAME_MS * FRAME_BYTES)


def noise(ms: int, amplitude: int, seed: int = 0) -> bytes:
    """White noise of peak `amplitude` (of 32767), the same for the same seed."""
    rng = random.Random(seed)
    samples = array.array("h", (rng.randint(-amplitude, amplitude) for _ in range(ms * 16)))
    return samples.tobytes()


def click(amplitude: int = 20_000) -> bytes:
    """A 10 ms square click padded to one frame: a knock on the microphone."""
    burst = array.array("h", [amplitude, -amplitude] * 80).tobytes()
    return burst + bytes(FRAME_BYTES - len(burst))


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


def leading_silence_ms(pcm: bytes, level: int = 300) -> int:
    """Where espeak's own audio starts: its first frame with a sample above `level`."""
    for index, frame in enumerate(frames(pcm)):
        if max(map(abs, array.array("h", frame))) > level:
            return index * FRAME_MS
    return len(pcm) // FRAME_BYTES * FRAME_MS


def trailing_silence_ms(pcm: bytes, level: int = 300) -> int:
    chunks = frames(pcm)
    for index, frame in enumerate(reversed(chunks)):
        if max(map(abs, array.array("h", frame))) > level:
            return index * FRAME_MS
    return len(chunks) * FRAME_MS


async def opus(pcm: bytes, rate: int) -> bytes:
    """As the voice contract stores clips: Ogg Opus, mono, 16 kbit/s, application voip."""
    code, out, err = await decoding.run(
        ["ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
         "-c:a", "libopus", "-b:a", "16k", "-application", "voip", "-f", "ogg", "pipe:1"],
        pcm,
    )  # fmt: skip
    assert code == 0, err
    return out
