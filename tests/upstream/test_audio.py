"""The test upstream's speech rule: every character's tone is heard back as it, resampled too."""

from __future__ import annotations

import array

from runtime.voice import decoding
from tests.upstream.audio import ALPHABET, SPEECH_RATE, heard, tone


async def test_every_character_survives_speech_resampling_and_transcription() -> None:
    spoken = b"".join(tone(char) for char in ALPHABET)
    assert heard(array.array("h", spoken), SPEECH_RATE) == ALPHABET
    at_16k = await decoding.to_pcm(spoken, f"audio/L16; rate={SPEECH_RATE}", 16_000)
    assert heard(array.array("h", at_16k.data), 16_000) == ALPHABET
    assert tone("é") == tone("?"), "what is not printable ASCII is spoken as ?"
    assert heard(array.array("h", bytes(3200)), 16_000) == ""
