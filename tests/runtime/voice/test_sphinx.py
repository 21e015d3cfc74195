"""The local recognizer: real pocketsphinx hearing what real espeak-ng says."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runtime.voice import decoding
from runtime.voice.espeak import EspeakTextToSpeech
from runtime.voice.sphinx import SphinxSpeechToText
from runtime.voice.types import Pcm, SpeechFailed, SpeechUnavailable

# pocketsphinx hears 46 % of the words of espeak-ng's voice over ten interview-like
# sentences (docs/voice.md); this one it hears nearly whole, deterministically.
SENTENCE = "yes I would like to answer the question"
ENOUGH = 6  # of its 8 words (7 were heard when measured)


def overlap(text: str) -> int:
    heard = text.lower().split()
    return sum(1 for word in SENTENCE.lower().split() if word in heard)


async def spoken(rate: int) -> bytes:
    tts = EspeakTextToSpeech(rate)
    return b"".join([chunk async for chunk in tts.stream(SENTENCE)])


async def test_espeak_speech_is_recognized_every_time() -> None:
    stt = SphinxSpeechToText()
    wav = decoding.wav(Pcm(await spoken(24_000), 24_000))
    for _ in range(5):
        transcript = await stt.transcribe(wav, "audio/wav", "en-US")
        assert overlap(transcript.text) >= ENOUGH, transcript.text
        assert transcript.language == "en" and 1.5 < transcript.duration < 4.0


async def test_raw_pcm_and_opus_are_heard_alike() -> None:
    stt = SphinxSpeechToText()
    raw = await spoken(16_000)
    from_raw = await stt.transcribe(raw, "audio/L16; rate=16000")
    assert overlap(from_raw.text) >= ENOUGH, from_raw.text
    # What a browser records: Opus in WebM (made by ffmpeg from the same speech).
    code, webm, _ = await decoding.run(
        ["ffmpeg", "-v", "error", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "pipe:0",
         "-c:a", "libopus", "-b:a", "32k", "-f", "webm", "pipe:1"],
        raw,
    )  # fmt: skip
    assert code == 0
    from_webm = await stt.transcribe(webm, "audio/webm")
    assert overlap(from_webm.text) >= ENOUGH - 1, from_webm.text


async def test_concurrent_utterances_each_get_a_decoder() -> None:
    stt = SphinxSpeechToText()
    raw = await spoken(16_000)
    both = await asyncio.gather(*(stt.transcribe(raw, "audio/L16") for _ in range(2)))
    assert both[0].text == both[1].text and overlap(both[0].text) >= ENOUGH


async def test_what_it_cannot_do_is_said() -> None:
    with pytest.raises(SpeechUnavailable, match="English only"):
        await SphinxSpeechToText().transcribe(bytes(3200), "audio/L16", "fr")
    with pytest.raises(SpeechUnavailable, match="pip install pocketsphinx"):
        await SphinxSpeechToText(Path("/nonexistent")).transcribe(bytes(3200), "audio/L16")
    with pytest.raises(SpeechUnavailable, match="apt-get install ffmpeg"):
        await SphinxSpeechToText(ffmpeg="/nonexistent/ffmpeg").transcribe(b"RIFF", "audio/wav")
    with pytest.raises(SpeechFailed, match="not_audio"):
        await SphinxSpeechToText().transcribe(b"\x01", "audio/L16")


async def test_segments_are_timed_in_order_at_the_pauses() -> None:
    raw = await spoken(16_000)
    pause = bytes(16_000 * 2)  # one second
    two = pause + raw + pause + raw
    heard = await SphinxSpeechToText().transcribe(two, "audio/L16", segments=True)
    length = len(two) // 2 // 16
    assert len(heard.segments) == 2, heard.segments
    first, second = heard.segments
    # Each sentence's words, inside its own stretch of the audio.
    assert 900 <= first.start_ms < first.end_ms <= 1000 + len(raw) // 32 + 100
    assert first.end_ms + 500 <= second.start_ms < second.end_ms <= length
    assert overlap(first.text) >= ENOUGH and overlap(second.text) >= ENOUGH, heard.segments
    assert heard.text.split() == f"{first.text} {second.text}".split()
    # Not asked for: none, and the same text.
    plain = await SphinxSpeechToText().transcribe(two, "audio/L16")
    assert plain.segments == () and plain.text == heard.text
