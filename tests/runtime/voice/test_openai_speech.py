"""OpenAI-compatible speech through the real openai client, against the test upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from runtime.voice import decoding
from runtime.voice.openai_speech import Endpoint, OpenAISpeechToText, OpenAITextToSpeech
from runtime.voice.types import Pcm, SpeechFailed
from tests.conftest import free_port
from tests.upstream import Upstream
from tests.upstream.audio import CHAR_SECONDS, SPEECH_RATE

TEXT = "Hello, world. Which plan are you on?"


OPENED: list[OpenAISpeechToText | OpenAITextToSpeech] = []


@pytest.fixture(autouse=True)
async def closed() -> AsyncIterator[None]:
    """Every engine a test opens is closed after it (their connection pools)."""
    yield
    while OPENED:
        await OPENED.pop().close()


def speaker(upstream: Upstream, model: str = "mock", first_byte: float = 2.0) -> OpenAITextToSpeech:
    endpoint = Endpoint(upstream.base_url, "sk-tts-secret", model)
    OPENED.append(OpenAITextToSpeech(endpoint, "", SPEECH_RATE, first_byte, 1.0))
    return OPENED[-1]  # type: ignore[return-value]


def listener(upstream: Upstream, model: str = "mock", timeout: float = 2.0) -> OpenAISpeechToText:
    endpoint = Endpoint(upstream.base_url, "sk-stt-secret", model)
    OPENED.append(OpenAISpeechToText(endpoint, timeout))
    return OPENED[-1]  # type: ignore[return-value]


async def spoken(tts: OpenAITextToSpeech, text: str = TEXT) -> list[bytes]:
    return [chunk async for chunk in tts.stream(text)]


async def test_speech_streams_pcm_that_transcription_hears_back(upstream: Upstream) -> None:
    chunks = await spoken(speaker(upstream))
    assert len(chunks) > 1, "streamed, not one body"
    assert all(len(chunk) % 2 == 0 for chunk in chunks), "whole 16-bit samples"
    audio = b"".join(chunks)
    assert len(audio) == len(TEXT) * round(CHAR_SECONDS * SPEECH_RATE) * 2
    asked = upstream.audio.requests[-1]
    assert asked.fields["response_format"] == "pcm" and asked.fields["voice"] == "alloy"

    wav = decoding.wav(Pcm(audio, SPEECH_RATE))
    transcript = await listener(upstream).transcribe(wav, "audio/wav", "en-GB")
    assert transcript.text == TEXT
    assert transcript.language == "en-GB"
    assert transcript.duration == pytest.approx(len(TEXT) * CHAR_SECONDS, abs=0.01)
    sent = upstream.audio.requests[-1]
    # The upload is 16 kHz WAV whatever came in, and the language its ISO 639-1 part.
    assert (sent.upload_type, sent.sample_rate) == ("audio/wav", 16_000)
    assert sent.fields["language"] == "en" and sent.fields["model"] == "mock"


async def test_other_containers_are_sent_as_wav(upstream: Upstream) -> None:
    audio = b"".join(await spoken(speaker(upstream), "Yes."))
    raw = await listener(upstream).transcribe(audio, f"audio/L16; rate={SPEECH_RATE}")
    assert raw.text == "Yes." and raw.language is None
    assert upstream.audio.requests[-1].sample_rate == 16_000


async def test_silence_is_heard_as_nothing(upstream: Upstream) -> None:
    silence = bytes(16_000 * 2)
    transcript = await listener(upstream).transcribe(silence, "audio/L16")
    assert transcript.text == "" and transcript.duration == 1.0


async def test_what_is_not_audio_fails_before_any_request(upstream: Upstream) -> None:
    before = len(upstream.audio.requests)
    with pytest.raises(SpeechFailed) as failed:
        await listener(upstream).transcribe(b"<html>not audio</html>", "audio/webm")
    assert (failed.value.reason, failed.value.retryable) == ("not_audio", False)
    assert len(upstream.audio.requests) == before


@pytest.mark.parametrize(
    ("model", "reason", "retryable"),
    [
        ("mock:500", "http_500", True),
        ("mock:400", "http_400", False),
        ("mock:stall-first", "timeout", True),
        ("mock:cut", "connection", True),
    ],
)
async def test_speech_failures(
    upstream: Upstream, model: str, reason: str, retryable: bool
) -> None:
    tts = speaker(upstream, model, first_byte=0.5)
    got: list[bytes] = []
    with pytest.raises(SpeechFailed) as failed:
        async for chunk in tts.stream(TEXT):
            got.append(chunk)
    assert (failed.value.reason, failed.value.retryable) == (reason, retryable)
    if model == "mock:cut":
        assert got, "what arrived before the cut was yielded"
    assert "sk-tts-secret" not in str(failed.value) and "sk-tts-secret" not in repr(tts.__dict__)


@pytest.mark.parametrize(
    ("model", "reason", "retryable"),
    [
        ("mock:500", "http_500", True),
        ("mock:400", "http_400", False),
        ("mock:stall-first", "timeout", True),
        ("mock:cut", "connection", True),
    ],
)
async def test_transcription_failures(
    upstream: Upstream, model: str, reason: str, retryable: bool
) -> None:
    wav = decoding.wav(Pcm(b"".join(await spoken(speaker(upstream), "No.")), SPEECH_RATE))
    with pytest.raises(SpeechFailed) as failed:
        await listener(upstream, model, timeout=0.5).transcribe(wav, "audio/wav")
    assert (failed.value.reason, failed.value.retryable) == (reason, retryable)


async def test_an_endpoint_nobody_answers_fails() -> None:
    endpoint = Endpoint(f"http://127.0.0.1:{free_port()}/v1", "", "mock")
    stt = OpenAISpeechToText(endpoint, 2.0)
    tts = OpenAITextToSpeech(endpoint, "", SPEECH_RATE, 2.0, 1.0)
    OPENED.extend([stt, tts])
    with pytest.raises(SpeechFailed) as failed:
        await stt.transcribe(bytes(3200), "audio/L16")
    assert failed.value.reason == "connection"
    with pytest.raises(SpeechFailed):
        [chunk async for chunk in tts.stream("Hi.")]


async def test_segments_come_from_the_verbose_answer(upstream: Upstream) -> None:
    tts = speaker(upstream)
    pause = bytes(SPEECH_RATE * 2 // 2)  # half a second
    first, second = "Hello there.", "Yes"
    audio = pause + b"".join(await spoken(tts, first)) + pause + b"".join(await spoken(tts, second))
    heard = await listener(upstream).transcribe(
        decoding.wav(Pcm(audio, SPEECH_RATE)), "audio/wav", "en", segments=True
    )
    asked = upstream.audio.requests[-1]
    assert asked.fields["response_format"] == "verbose_json"
    assert asked.fields["timestamp_granularities[]"] == "segment"
    # Where each run of tones is, to the character's length (100 ms) at most.
    texts = [(seg.text, seg.start_ms, seg.end_ms) for seg in heard.segments]
    assert texts == [
        (first, 500, 500 + 100 * len(first)),
        (second, 1000 + 100 * len(first), 1000 + 100 * (len(first) + len(second))),
    ]
    assert heard.text == f"{first} {second}"
