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


def final_speech_to_text(settings: Settings) -> SpeechToText:
    """The recognizer of the final transcript's pass: RAPPORT_STT_FINAL_*, each unset one
    as the live recognizer's."""
    if (settings.stt_final_engine or settings.stt_engine) == "openai":
        endpoint = Endpoint(
            settings.stt_final_base_url or settings.stt_base_url,
            settings.stt_final_api_key or settings.stt_api_key,
            settings.stt_final_model or settings.stt_model,
        )
        return OpenAISpeechToText(endpoint, settings.stt_final_timeout_ms / 1000)
    return SphinxSpeechToText()


def final_model(settings: Settings) -> str | None:
    """The model name the final pass records beside its text (None: the local engine's)."""
    if (settings.stt_final_engine or settings.stt_engine) == "openai":
        return settings.stt_final_model or settings.stt_model
    return None


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
