"""The deployment's recognizer and synthesizer, chosen by settings (docs/voice.md)."""

from __future__ import annotations

from runtime.platform.settings import Settings
from runtime.voice.espeak import EspeakTextToSpeech
from runtime.voice.openai_speech import Endpoint, OpenAISpeechToText, OpenAITextToSpeech
from runtime.voice.sphinx import SphinxSpeechToText
from runtime.voice.stt import SpeechToText
from runtime.voice.tts import TextToSpeech


def speech_to_text(settings: Settings) -> SpeechToText:
    if settings.stt_engine == "openai":
        endpoint = Endpoint(settings.stt_base_url, settings.stt_api_key, settings.stt_model)
        return OpenAISpeechToText(endpoint, settings.stt_timeout_ms / 1000)
    return SphinxSpeechToText()


def text_to_speech(settings: Settings) -> TextToSpeech:
    if settings.tts_engine == "openai":
        endpoint = Endpoint(settings.tts_base_url, settings.tts_api_key, settings.tts_model)
        return OpenAITextToSpeech(
            endpoint,
            settings.tts_voice,
            settings.tts_sample_rate,
            settings.tts_first_byte_timeout_ms / 1000,
            settings.tts_chunk_timeout_ms / 1000,
        )
    return EspeakTextToSpeech(settings.tts_sample_rate, settings.tts_voice)


async def close(engine: object) -> None:
    """Close an engine's connections, if it keeps any (the OpenAI-compatible ones do)."""
    closing = getattr(engine, "close", None)
    if closing is not None:
        await closing()
