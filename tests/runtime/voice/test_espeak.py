"""The local synthesizer: real espeak-ng resampled by real ffmpeg, streamed as PCM."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.voice.espeak import EspeakTextToSpeech
from runtime.voice.types import SpeechUnavailable

SENTENCE = "Thank you. Which plan are you on?"


async def speak(tts: EspeakTextToSpeech, text: str = SENTENCE, **kwargs: object) -> list[bytes]:
    return [chunk async for chunk in tts.stream(text, **kwargs)]  # type: ignore[arg-type]


def seconds(chunks: list[bytes], rate: int) -> float:
    return sum(len(chunk) for chunk in chunks) / 2 / rate


async def test_speech_streams_at_the_announced_rate() -> None:
    at_24k = await speak(EspeakTextToSpeech(24_000))
    at_16k = await speak(EspeakTextToSpeech(16_000))
    assert len(at_24k) > 1 and all(len(chunk) % 2 == 0 for chunk in at_24k)
    # The same speech at either rate: the same length in seconds, a sentence's worth.
    assert 1.0 < seconds(at_24k, 24_000) < 5.0
    assert seconds(at_24k, 24_000) == pytest.approx(seconds(at_16k, 16_000), abs=0.01)
    assert max(abs(int.from_bytes(b"".join(at_24k)[i : i + 2], "little", signed=True))
               for i in range(0, 48_000, 2)) > 1000, "not silence"  # fmt: skip


async def test_a_faster_rate_speaks_shorter_and_other_languages_speak() -> None:
    tts = EspeakTextToSpeech(16_000)
    normal = seconds(await speak(tts), 16_000)
    fast = seconds(await speak(tts, rate=2.0), 16_000)
    assert fast < normal * 0.7
    french = await speak(tts, "Merci. Quelle formule avez-vous ?", voice="fr")
    assert seconds(french, 16_000) > 1.0
    # Text that looks like an option is spoken, not read as one.
    assert seconds(await speak(tts, "-v xx"), 16_000) > 0.3


async def test_a_missing_binary_or_voice_says_what_to_install() -> None:
    with pytest.raises(SpeechUnavailable, match="apt-get install espeak-ng"):
        await speak(EspeakTextToSpeech(16_000, espeak="/nonexistent/espeak-ng"))
    with pytest.raises(SpeechUnavailable, match="apt-get install ffmpeg"):
        await speak(EspeakTextToSpeech(16_000, ffmpeg="/nonexistent/ffmpeg"))
    with pytest.raises(SpeechUnavailable, match="no voice 'xx-nowhere'"):
        await speak(EspeakTextToSpeech(16_000), voice="xx-nowhere")


def children() -> set[int]:
    """This process's child processes, from /proc."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


async def test_a_listener_that_stops_early_leaves_no_process_behind() -> None:
    before = children()
    stream = EspeakTextToSpeech(16_000).stream(SENTENCE * 20)
    assert await anext(stream)
    assert children() - before, "espeak-ng and ffmpeg run while it streams"
    await stream.aclose()
    assert children() - before == set()
