"""The recognizer and synthesizer a deployment's settings choose."""

from __future__ import annotations

from runtime.platform.settings import Settings
from runtime.voice import engines
from runtime.voice.espeak import EspeakTextToSpeech
from runtime.voice.openai_speech import OpenAISpeechToText, OpenAITextToSpeech
from runtime.voice.sphinx import SphinxSpeechToText
from tests.upstream import Upstream


async def test_local_by_default_and_openai_when_set(upstream: Upstream) -> None:
    defaults = Settings()
    assert isinstance(engines.speech_to_text(defaults), SphinxSpeechToText)
    local = engines.text_to_speech(defaults)
    assert isinstance(local, EspeakTextToSpeech) and local.sample_rate == 24_000

    chosen = Settings(
        stt_engine="openai",
        stt_base_url=upstream.base_url,
        stt_model="mock",
        tts_engine="openai",
        tts_base_url=upstream.base_url,
        tts_model="mock",
        tts_voice="nova",
        tts_sample_rate=22_050,
    )
    stt, tts = engines.speech_to_text(chosen), engines.text_to_speech(chosen)
    assert isinstance(stt, OpenAISpeechToText) and isinstance(tts, OpenAITextToSpeech)
    assert tts.sample_rate == 22_050
    assert [chunk async for chunk in tts.stream("Hi.")], "it speaks through the endpoint"
    assert upstream.audio.requests[-1].fields["voice"] == "nova"
    heard = await stt.transcribe(bytes(3200), "audio/L16")
    assert heard.text == "" and upstream.audio.requests[-1].model == "mock"
    await stt.close()
    await tts.close()
